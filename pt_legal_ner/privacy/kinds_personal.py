"""Where a person lives, how to reach and pay them, what they own, when they were born, and their
health (LGPD art. 11: sensitive). Each kind's formats, its check where it has one, and its cue."""

# no `from __future__ import annotations`: see annotate.py (dataclasses under spacy.util.import_file)

import re
from collections.abc import Iterator

from pt_legal_ner.privacy.br_ids import card_valid, cnm_valid, fold, normalize
from pt_legal_ner.privacy.kind import NAMES, Found, Kind, compile_all, name_before, named, value_text

# a strict gap for common words ("conta", "matrícula"): the value right after the name, "nº" or ":"
_STRICT = r"\s*(?:n[º°o.]*\s*|:\s*|-\s*)?"


def _right_after(name: str, value: str) -> re.Pattern[str]:
    return named(name, value, between=_STRICT, end=r"(?![\w-])(?!\.\w)")


def _folded(match: re.Match[str]) -> str:
    return fold(value_text(match))


# addresses: a street type, its name, a number (or s/n) and what follows (apartment, block...)
_COMPLEMENT = (
    r"(?:apto\.?|apartamento|ap\.|bloco|bl\.|casa|lote|lt\.|sala|conjunto|conj\.|cj\.|loja|quadra|qd\.|"
    r"andar|torre|edif[íi]cio|ed\.|unidade)"
)
_COMPLEMENTS = rf"(?:\s*[,-]?\s*(?i:{_COMPLEMENT})\s*(?:n[º°o.]*\s*)?[\dA-Z][\w-]*)"
_STREET = r"(?:Rua|R\.|Avenida|Av\.|Alameda|Al\.|Travessa|Tv\.|Pra[çc]a|Rodovia|Estrada|Largo|Viela|Beco)"
_WORD = r"[A-ZÀ-Ý0-9][\wÀ-ÿ'ºª.]*"
_STREET_NAME = rf"(?:d[aeo]s?\s+)?{_WORD}(?:\s+(?:d[aeo]s?|{_WORD})){{0,6}}"
# Brasília's sectors (SQN 308 Bloco C apto 101, QI 23 Conjunto 5 Casa 10): the sector alone is
# no address ("QI" is also an IQ), so at least one complement is asked for
_SECTOR = (
    r"(?:SQN|SQS|SQSW|SQNW|SHIN|SHIS|SHCGN|SHCES|SCLN|SCLS|CLN|CLS|SMPW|SMDB|SHA|QI|QL|QNM|QNN|QNL|QND|QNA|"
    r"QNB|QNC|QNE|QNF|QNG|QNJ|QNO|QNP|QNQ|QNR|QR|QS|QE|QSA|QSB|QSC|QSD|QSE|QSF|CSB|CSG|Quadra|Qd\.)"
)
ADDRESS = compile_all(
    rf"{_STREET}\s+{_STREET_NAME},?\s*(?:n[º°o.]*\s*)?(?:\d+[A-Z]?|s/n[º°]?){_COMPLEMENTS}{{0,4}}",
    rf"{_SECTOR}\s*\d+[A-Z]?{_COMPLEMENTS}{{1,4}}",
    start=r"(?<![\w.])",
)

# a plate anywhere in the Mercosul layout; the old one (ABC-1234) anywhere but for the courts'
# own case classes, which look the same (ADI-1234); with a space or glued only after "placa"
_COURT_CLASSES = "ACO|ADC|ADI|ADO|AGR|AIR|AOR|ARE|CCT|ERR|HCC|MCS|PET|RHC|RMS|RCL|RXO|STA|SLS|TST|AGI|EXT|INQ|IFE"
PLATE = compile_all(r"[A-Z]{3}-?\d[A-Z]\d{2}", rf"(?!(?:{_COURT_CLASSES})-)[A-Z]{{3}}-\d{{4}}") + (
    named("PLACA", r"[A-Z]{3}[\s-]?\d[A-Z\d]\d{2}"),
)

_CID_CODE = r"[A-TV-Z]\s?\d{2}(?:\.\d{1,2})?"
_CID_LIST = re.compile(
    rf"(?i:{NAMES['CID']})\s*[:–-]?\s*(?:n[º°o.]*\s*)?(?P<codes>{_CID_CODE}(?:\s*(?:,|/|;|e|ou)\s*{_CID_CODE})*)\b"
)


def find_cid(text: str) -> Iterator[Found]:
    """Each code of a list after "CID" ("CID-10 F32.1, F41 e G40"), as its own span."""
    for match in _CID_LIST.finditer(text):
        for code in re.finditer(_CID_CODE, match.group("codes")):
            start = match.start("codes") + code.start()
            yield Found(start, start + len(code.group(0)), "CID", normalize(code.group(0)), None)


# disease words after a cue ("portador de esquizofrenia paranoide"): taken where the phrase holds
# a medical word or a CID code follows in the same sentence; otherwise "portador de boa-fé" would be
_HEALTH_CUE = (
    r"portador[ae]?s? d[eoa]s?|diagnosticad[oa]s? com|diagn[óo]stico d[eoa]s?|acometid[oa]s? d[eoa]s?|"
    r"sofre d[eoa]s?|padece d[eoa]s?|com quadro d[eoa]s?|em tratamento d[eoa]s?|internad[oa]s? (?:com|por)"
)
_HEALTH_PHRASE = re.compile(rf"(?i:\b(?:{_HEALTH_CUE}))\s+(?P<value>[^\n,;.()]{{3,60}}?)(?=\s*(?:[,;.()\n]|$))")
_MEDICAL = re.compile(
    r"(?i)doen[çc]a|s[íi]ndrome|transtorno|neoplasia|c[âa]ncer|tumor|carcinoma|leucemia|linfoma|\bHIV\b|\bAIDS\b|"
    r"diabet|depress|esquizofren|bipolar|epilep|hepatite|tuberculose|hansen|cardiopatia|nefropatia|"
    r"insufici[êe]ncia|defici[êe]ncia|paralisia|cegueira|surdez|autis|alzheimer|parkinson|esclerose|"
    r"l[úu]pus|covid|dependência química|alcoolismo|ansiedade|psic|demência|avc|acidente vascular|"
    r"fibromialgia|artrite|artrose|h[ée]rnia|lombalgia|les[ãa]o|fratura|sequela|enfermidade|mol[ée]stia|patologia"
)
_SENTENCE_END = re.compile(r"[.;\n]")


def find_health(text: str) -> Iterator[Found]:
    for match in _HEALTH_PHRASE.finditer(text):
        end = _SENTENCE_END.search(text, match.end())
        sentence_rest = text[match.end() : end.start() if end else len(text)]
        if _MEDICAL.search(match.group("value")) or _CID_LIST.search(sentence_rest):
            yield Found(match.start("value"), match.end("value"), "SAUDE", fold(match.group("value")), None)


_CNM = r"\d{6}\.\d\.\d{7}-\d{2}"  # Código Nacional de Matrícula, checked; other property numbers are not
_DATE = r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{1,2}º?\s+de\s+[a-zç]+\s+de\s+\d{4}"
_HEX = "[0-9a-fA-F]"

PERSONAL: tuple[Kind, ...] = (
    Kind("CEP", compile_all(r"\d{2}\.?\d{3}-\d{3}"), compile_all(r"\d{8}")[0], name_before("CEP"), None),
    Kind(
        "EMAIL",
        (re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),),
        normal=lambda m: m.group(0).lower(),
    ),
    Kind(
        "TELEFONE",
        # with the area code: (61) 3333-4444, 61 99999-8888, 92-98171-6151, +55 61 3333-4444,
        # 0800 123 4567; "/0445" after a number is a second line of the same exchange
        compile_all(
            r"(?:\+55\s?)?(?:\(\d{2}\)\s?|\d{2}[\s-])9?\s?\d{4}[-\s]?\d{4}(?:/\d{4})*",
            r"\+55\s?\d{2}\s?9?\d{4}-?\d{4}",
            r"0800\s?\d{3}\s?\d{4}",
        ),
        compile_all(r"9?\d{4}-?\d{4}(?:/\d{4})*")[0],
        name_before("TELEFONE"),
        None,
    ),
    Kind(
        "CARTAO",
        # four groups of four (Amex 4-6-5) anywhere, checked by issuer prefix and Luhn; bare after its name
        compile_all(r"\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?", r"3[47]\d{2}([ -])\d{6}\1\d{5}"),
        compile_all(r"\d{13,19}")[0],
        name_before("CARTAO"),
        card_valid,
        bare_checked=False,
    ),
    Kind("PIX", compile_all(rf"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"), normal=_folded),
    Kind(
        "DADOS_BANCARIOS",
        (
            _right_after("AGENCIA", r"\d{3,5}(?:-[\dXx])?"),
            _right_after("CONTA", r"\d{1,3}(?:\.\d{3})+-[\dXx]|\d{3,13}(?:-[\dXx])?"),
        ),
    ),
    Kind(
        "IMOVEL",
        # matrícula of a property (or of an employee: a person's number either way), CNM, IPTU, CIB
        compile_all(_CNM)
        + (
            _right_after("MATRICULA", r"\d{1,3}(?:\.\d{3})+(?:-\d)?|\d{1,12}(?:-\d)?"),
            _right_after("IPTU", r"\d[\d./-]{4,23}\d|[0-9A-Z]{7}-[0-9A-Z]"),
        ),
        check=lambda v: cnm_valid(v) if re.fullmatch(_CNM, v) else None,
    ),
    Kind("PLACA", PLATE),
    Kind("DATA_NASCIMENTO", (named("NASCIMENTO", _DATE, most=15),), normal=_folded),
    Kind("ENDERECO", ADDRESS, normal=_folded),
    Kind("CID", (), sensitive=True, finder=find_cid),
    Kind("SAUDE", (), sensitive=True, finder=find_health),
)
