"""Where Brazilian identifiers are in a text: one regular expression per kind, and its check.

A formatted value (``123.456.789-09``, ``11.222.333/0001-81``) is found whether or not its check
digits hold: a typo in a CPF is still personal data. A bare run of digits is only taken where
its check digits hold or the text names the kind just before it ("CPF nº 12345678909"), since
legal texts are full of other long numbers. RG has no national check rule and no fixed format,
so it is only found where the text says "RG"; OAB, CEP, e-mail and phone have no check digits.
``valid`` is then None: there is nothing to check.
"""

# no `from __future__ import annotations`: see annotate.py (dataclasses under spacy.util.import_file)

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pt_legal_ner.privacy.br_ids import cnj_valid, cnpj_valid, cpf_valid, normalize

# the 27 federative units: an OAB section and an RG issuer name one of them
UF = "AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO".split()
_UF = "|".join(UF)
# no identifier starts or ends inside a longer word or number ("/DF" may follow a value)
_START = r"(?<![\w@./-])"
_END = r"(?![\w@-])(?!\.\w)(?!/\d)"
_LOOKBACK = 40  # characters before a bare number searched for its kind's name


@dataclass(frozen=True)
class Kind:
    label: str
    formatted: tuple[re.Pattern[str], ...]  # found whether or not valid; group "value" if not the whole match
    bare: re.Pattern[str] | None  # found only where valid or named
    named: re.Pattern[str] | None  # the kind's name, searched just before a bare value
    check: Callable[[str], bool] | None
    normal: Callable[[re.Match[str]], str] = lambda m: normalize(m.group(0))


def _compile(*bodies: str, start: str = _START) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(start + body + _END) for body in bodies)


def _name(words: str) -> re.Pattern[str]:
    # the name, then at most a few words ("inscrito no CPF/MF sob o nº") before the value
    return re.compile(rf"(?:{words})[^\n\d]{{0,25}}$", re.IGNORECASE)


def _cnj_normal(match: re.Match[str]) -> str:
    # courts drop the sequence's leading zeros ("232900-28.2003.5.02.0079"); the check needs all 20
    digits = normalize(match.group(0))
    return digits.zfill(20)


def _oab_normal(match: re.Match[str]) -> str:
    return match.group("uf") + normalize(match.group("num")).lstrip("0")


_ALNUM = "[0-9A-Za-z]"
_OAB_NUM = r"(?P<num>\d{1,3}(?:\.\d{3})+|\d+)(?:-?[A-Z](?![a-z]))?"
_OAB_UF = rf"(?P<uf>{_UF})"
_NO = r"(?:n[º°o.]*\s*)?"
KINDS: dict[str, Kind] = {
    "CNJ": Kind(
        "CNJ",
        # "TST-RR-257440-71.2002.5.02.0372": a court's prefix may be glued on with a hyphen
        _compile(r"\d{1,7}-\s?\d{2}\.\d{4}\.\d\.?\d{2}\.\d{4}", start=r"(?<![\d.])"),
        _compile(r"\d{20}")[0],
        _name(r"processo|autos|CNJ"),
        lambda value: cnj_valid(normalize(value).zfill(20)),
        _cnj_normal,
    ),
    "CNPJ": Kind(
        "CNPJ",
        _compile(rf"{_ALNUM}{{2}}\.{_ALNUM}{{3}}\.{_ALNUM}{{3}}/{_ALNUM}{{4}}-\d{{2}}", r"\d{8}/\d{4}-\d{2}"),
        _compile(rf"{_ALNUM}{{12}}\d{{2}}")[0],
        _name(r"CNPJ|C\.N\.P\.J\."),
        cnpj_valid,
    ),
    "CPF": Kind(
        "CPF",
        _compile(r"\d{3}\.\d{3}\.\d{3}-\d{2}", r"\d{9}-\d{2}"),
        _compile(r"\d{11}")[0],
        _name(r"CPF|C\.P\.F\."),
        cpf_valid,
    ),
    "OAB": Kind(
        "OAB",
        (
            re.compile(rf"\bOAB\s*[:/-]?\s*{_OAB_UF}\s*[:-]?\s*{_NO}{_OAB_NUM}"),  # OAB/DF 12.345, OAB-SP nº 123
            re.compile(rf"\bOAB\s*:?\s*{_NO}{_OAB_NUM}\s*/?\s*{_OAB_UF}\b"),  # OAB nº 1234/SP, OAB: 205621DF
            re.compile(rf"(?<![\w.]){_OAB_NUM}\s*/\s*OAB\s*[-/]\s*{_OAB_UF}\b"),  # 13469-E/OAB-DF
            re.compile(rf"(?<=\s-\s){_OAB_UF}(?P<num>\d{{6}})\b"),  # STJ's lists of lawyers: "NOME - RJ083152"
        ),
        None,
        None,
        None,
        _oab_normal,
    ),
    "CEP": Kind(
        "CEP",
        _compile(r"\d{2}\.?\d{3}-\d{3}"),
        _compile(r"\d{8}")[0],
        _name(r"CEP"),
        None,
    ),
    "EMAIL": Kind(
        "EMAIL",
        (re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),),
        None,
        None,
        None,
        lambda m: m.group(0).lower(),
    ),
    "TELEFONE": Kind(
        "TELEFONE",
        # with the area code: (61) 3333-4444, 61 99999-8888, 92-98171-6151, +55 61 3333-4444,
        # 0800 123 4567; "/0445" after a number is a second line of the same exchange
        _compile(
            r"(?:\+55\s?)?(?:\(\d{2}\)\s?|\d{2}[\s-])9?\s?\d{4}[-\s]?\d{4}(?:/\d{4})*",
            r"\+55\s?\d{2}\s?9?\d{4}-?\d{4}",
            r"0800\s?\d{3}\s?\d{4}",
        ),
        _compile(r"9?\d{4}-?\d{4}(?:/\d{4})*")[0],
        _name(r"\btel(?:\.|\b)|telefone|fone|celular|whatsapp"),
        None,
    ),
    "RG": Kind(
        "RG",
        # only after its name; the value runs from the number to the issuer ("SSP/DF")
        (
            re.compile(
                r"(?:\bRG|\bR\.G\.|[Rr]egistro [Gg]eral|[Cc]arteira de [Ii]dentidade|[Cc]édula de [Ii]dentidade)"
                r"[^\n\d]{0,20}?(?P<value>(?P<num>\d[\d.]{3,}\d(?:-?[\dXx])?)"
                rf"(?:\s*[-–,]?\s*(?:SSP|SESP|SDS|PC|DETRAN|IFP|SJS)\s*[/-]?\s*(?:{_UF})\b)?)"
            ),
        ),
        None,
        None,
        None,
        lambda m: normalize(m.group("num")),
    ),
}
LABELS: tuple[str, ...] = tuple(KINDS)


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    label: str
    normalized: str
    valid: bool | None


def _value_span(match: re.Match[str]) -> tuple[int, int]:
    return match.span("value") if "value" in match.re.groupindex else match.span()


def find_kind(text: str, kind: Kind) -> Iterator[Found]:
    for pattern in kind.formatted:
        for match in pattern.finditer(text):
            start, end = _value_span(match)
            valid = kind.check(match.group(0)) if kind.check else None
            yield Found(start, end, kind.label, kind.normal(match), valid)
    if kind.bare is None:
        return
    for match in kind.bare.finditer(text):
        value = match.group(0)
        named = kind.named is not None and kind.named.search(text, max(0, match.start() - _LOOKBACK), match.start())
        valid = kind.check(value) if kind.check else None
        if valid or named:
            yield Found(match.start(), match.end(), kind.label, kind.normal(match), valid)


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
    kept: list[Found] = []
    for f in found:
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)
