"""Custom attributes the pipeline writes: where each entity came from and how sure it is."""

from spacy.tokens import Doc, Span

SOURCE_MODEL, SOURCE_LLM, SOURCE_RULE = "model", "llm", "rule"


def register_extensions() -> None:
    """Idempotent: each module that writes these calls it at import time."""
    # normalized and valid: an identifier's value (digits/characters only) and whether its
    # check digits hold (None where its kind has none), and sensitive: health data (LGPD art. 11),
    # set by legal_ids
    for name in ("source", "confidence", "normalized", "valid", "sensitive"):
        if not Span.has_extension(name):
            Span.set_extension(name, default=None)
    if not Doc.has_extension("token_confidence"):
        # per-token probability of the tag the trained NER chose, in token order
        Doc.set_extension("token_confidence", default=None)
    if not Span.has_extension("ner_confidence"):
        Span.set_extension("ner_confidence", getter=span_ner_confidence)


def span_ner_confidence(span: Span) -> float | None:
    """Lowest token confidence of the trained NER inside ``span`` (a sentence, say)."""
    conf = span.doc._.token_confidence
    if conf is None or len(span) == 0:
        return None
    return float(min(conf[span.start : span.end]))


register_extensions()
