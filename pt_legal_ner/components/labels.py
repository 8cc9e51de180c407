"""The LeNER-Br entity labels."""

LENER_LABELS: tuple[str, ...] = (
    "ORGANIZACAO",
    "PESSOA",
    "TEMPO",
    "LOCAL",
    "LEGISLACAO",
    "JURISPRUDENCIA",
)
