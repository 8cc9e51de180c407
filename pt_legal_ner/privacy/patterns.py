"""Every identifier kind ``legal_ids`` knows, in the order that breaks ties, and how to find them.

kind.py says how a kind is found (formats, names, checks); kinds_registration.py and
kinds_personal.py hold the kinds. ``SENSITIVE`` are health data (LGPD art. 11).
"""

# no `from __future__ import annotations`: see annotate.py (dataclasses under spacy.util.import_file)

import bisect

from pt_legal_ner.privacy.kind import UF, Found, Kind, find_kind
from pt_legal_ner.privacy.kinds_personal import PERSONAL
from pt_legal_ner.privacy.kinds_registration import REGISTRATIONS

# where two kinds take exactly the same characters, the earlier wins: a named kind before CPF's
# bare check ("CNH 02650306461"), an e-mail before the digits in it
ORDER = (
    "CNJ", "CNPJ", "CNH", "TITULO_ELEITOR", "PIS", "CNS", "RENAVAM", "CPF", "OAB", "CEP", "EMAIL",
    "TELEFONE", "RG", "PASSAPORTE", "CARTAO", "PIX", "DADOS_BANCARIOS", "IMOVEL", "PLACA",
    "DATA_NASCIMENTO", "ENDERECO", "CID", "SAUDE",
)  # fmt: skip
_BY_LABEL = {kind.label: kind for kind in REGISTRATIONS + PERSONAL}
KINDS: dict[str, Kind] = {label: _BY_LABEL[label] for label in ORDER}
LABELS: tuple[str, ...] = tuple(KINDS)
SENSITIVE: frozenset[str] = frozenset(label for label, kind in KINDS.items() if kind.sensitive)
__all__ = ["KINDS", "LABELS", "SENSITIVE", "UF", "Found", "find_ids"]


def find_ids(text: str, labels: tuple[str, ...] | list[str] = LABELS) -> list[Found]:
    """Non-overlapping identifiers of the given kinds, in text order.

    Where two overlap, the longer wins, then the earlier kind in ``KINDS`` (a CNPJ's digits
    hold a shorter CPF-like run; an e-mail may hold digits).
    """
    unknown = set(labels) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown identifier kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
    order = {label: i for i, label in enumerate(KINDS)}
    found = [f for label in labels for f in find_kind(text, KINDS[label])]
    found.sort(key=lambda f: (-(f.end - f.start), order[f.label], f.start))
    # kept spans never overlap, so sorted by start their ends are sorted too: one bisect per span
    # (a document with 100,000 identifiers takes a second, not minutes)
    starts: list[int] = []
    kept: list[Found] = []
    for f in found:
        i = bisect.bisect_right(starts, f.start)
        if (i == 0 or kept[i - 1].end <= f.start) and (i == len(kept) or f.end <= kept[i].start):
            starts.insert(i, f.start)
            kept.insert(i, f)
    return kept
