"""How an identifier kind is found: its formats, the name that makes a bare value count, its check.

A formatted value (``123.456.789-09``, ``11.222.333/0001-81``) is found whether or not its check
digits hold: a typo in a CPF is still personal data. A bare run of digits is only taken where
its check digits hold (kinds with two check digits or more: CPF, CNPJ, CNJ) or where the text
names the kind just before it ("CPF nº 12345678909", "CNH 02650306461"): legal texts are full of
other long numbers, and one check digit passes one random number in eleven. Kinds with no
fixed format (RG, passport, bank account, dates of birth) are only found after their name.
"""

# no `from __future__ import annotations`: see annotate.py (dataclasses under spacy.util.import_file)

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pt_legal_ner.privacy.br_ids import normalize

# the 27 federative units: an OAB section and an RG issuer name one of them
UF = "AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO".split()
# no identifier starts or ends inside a longer word or number ("/DF" may follow a value)
START = r"(?<![\w@./-])"
END = r"(?![\w@-])(?!\.\w)(?!/\d)"
LOOKBACK = 40  # characters before a bare number searched for its kind's name
NO = r"(?:n[º°o.]*\s*)?"

# each kind's name as courts write it: one place, read by the kinds' patterns and by the gap
# between a name and its value, which may not hold another kind's name ("CNH e CPF 123...")
NAMES: dict[str, str] = {
    "CNJ": r"processo|autos|CNJ",
    "CNPJ": r"CNPJ|C\.N\.P\.J\.",
    "CPF": r"CPF|C\.P\.F\.",
    "CEP": r"CEP",
    "TELEFONE": r"\btel(?:\.|\b)|telefone|fone|celular|whatsapp",
    "RG": r"\bRG\b|\bR\.G\.|registro geral|carteira de identidade|c[ée]dula de identidade",
    "CNH": r"\bCNH\b|C\.N\.H\.|carteira nacional de habilita[çc][ãa]o|habilita[çc][ãa]o|registro nacional de condutor",
    "TITULO_ELEITOR": r"t[íi]tulo(?: de)? eleit\w*|inscri[çc][ãa]o eleitoral",
    "PIS": r"\bPIS\b|\bPASEP\b|\bNIT\b|\bNIS\b",
    "CNS": r"\bCNS\b|cart[ãa]o (?:nacional )?(?:de |do )?(?:sa[úu]de|SUS)",
    "RENAVAM": r"renavam",
    "PASSAPORTE": r"passaporte",
    "PLACA": r"\bplaca",
    "CARTAO": r"cart[ãa]o(?: de)? cr[ée]dito|cart[ãa]o(?: de)? d[ée]bito|cart[ãa]o final",
    "AGENCIA": r"ag[êe]ncia(?: banc[áa]ria)?|\bag\.",
    # not "c/c": in a decision it is "combinado com" (art. 155 c/c 288)
    "CONTA": r"\bconta(?:[\s-]+(?:corrente|poupan[çc]a|sal[áa]rio|banc[áa]ria|de pagamento))?\b",
    "PIX": r"chave pix|\bpix\b",
    "MATRICULA": r"matr[íi]cula",
    "IPTU": r"\bIPTU\b|inscri[çc][ãa]o (?:imobili[áa]ria|municipal|cadastral)|cadastro imobili[áa]rio|\bCIB\b",
    "NASCIMENTO": r"nascid[oa]s?(?: (?:em|aos|no dia|a))?|data de nascimento|\bnasc\.|\bD\.?N\.?(?=\s*:)",
    "CID": r"\bCID(?:[\s-]*10)?\b",
}
_ANY_NAME = "|".join(f"(?:{n})" for n in NAMES.values())


def gap(most: int = 25) -> str:
    """What may lie between a kind's name and its value: a few words ("inscrito no CPF/MF sob o
    nº"), no digit, no line break and no other kind's name."""
    return rf"(?:(?!(?i:{_ANY_NAME}))[^\n\d]){{0,{most}}}?"


def compile_all(*bodies: str, start: str = START) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(start + body + END) for body in bodies)


def named(name: str, value: str, most: int = 25, between: str | None = None, end: str = END) -> re.Pattern[str]:
    """``value`` (group "value") just after the kind's name ``NAMES[name]``, ``between`` them a few
    words (``gap(most)``) or what ``between`` says."""
    return re.compile(rf"(?i:{NAMES[name]}){gap(most) if between is None else between}(?P<value>{value}){end}")


def name_before(name: str) -> re.Pattern[str]:
    # searched in the LOOKBACK characters before a bare value
    return re.compile(rf"(?i:{NAMES[name]}){gap()}$")


def value_text(match: re.Match[str]) -> str:
    return match.group("value") if "value" in match.re.groupindex else match.group(0)


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    label: str
    normalized: str
    valid: bool | None


@dataclass(frozen=True)
class Kind:
    label: str
    formatted: tuple[re.Pattern[str], ...]  # found whether or not valid; group "value" if not the whole match
    bare: re.Pattern[str] | None = None  # found only where valid (if ``bare_checked``) or named
    named: re.Pattern[str] | None = None  # the kind's name, searched just before a bare value
    check: Callable[[str], bool] | None = None
    normal: Callable[[re.Match[str]], str] = lambda m: normalize(value_text(m))
    bare_checked: bool = True  # False: one check digit is too weak to take a bare number on its own
    sensitive: bool = False  # LGPD art. 11 (health): reported apart and masked by default
    finder: Callable[[str], Iterator[Found]] | None = None  # for kinds no single pattern describes


def _value_span(match: re.Match[str]) -> tuple[int, int]:
    return match.span("value") if "value" in match.re.groupindex else match.span()


def find_kind(text: str, kind: Kind) -> Iterator[Found]:
    if kind.finder is not None:
        yield from kind.finder(text)
    for pattern in kind.formatted:
        for match in pattern.finditer(text):
            start, end = _value_span(match)
            valid = kind.check(value_text(match)) if kind.check else None
            yield Found(start, end, kind.label, kind.normal(match), valid)
    if kind.bare is None:
        return
    for match in kind.bare.finditer(text):
        value = match.group(0)
        is_named = kind.named is not None and kind.named.search(text, max(0, match.start() - LOOKBACK), match.start())
        valid = kind.check(value) if kind.check else None
        if (valid and kind.bare_checked) or is_named:
            yield Found(match.start(), match.end(), kind.label, kind.normal(match), valid)
