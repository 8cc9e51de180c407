"""National registrations: case numbers, taxpayer, bar, identity, driving, voting, social
security, health card and vehicle registrations, passports. Each kind's formats and check."""

# no `from __future__ import annotations`: see annotate.py (dataclasses under spacy.util.import_file)

import re

from pt_legal_ner.privacy.br_ids import (
    cnh_valid,
    cnj_valid,
    cnpj_valid,
    cns_valid,
    cpf_valid,
    normalize,
    pis_valid,
    renavam_valid,
    titulo_valid,
)
from pt_legal_ner.privacy.kind import NAMES, NO, UF, Kind, compile_all, name_before, named, value_text


def _cnj_normal(match: re.Match[str]) -> str:
    # courts drop the sequence's leading zeros ("232900-28.2003.5.02.0079"); the check needs all 20
    return normalize(match.group(0)).zfill(20)


def _oab_normal(match: re.Match[str]) -> str:
    return match.group("uf") + normalize(match.group("num")).lstrip("0")


_UF = "|".join(UF)
_ALNUM = "[0-9A-Za-z]"
_OAB_NUM = r"(?P<num>\d{1,3}(?:\.\d{3})+|\d+)(?:-?[A-Z](?![a-z]))?"
_OAB_UF = rf"(?P<uf>{_UF})"
_ELEVEN = r"\d{3}\.?\d{3}\.?\d{3}-?\d{2}|\d{9}-\d{2}"

REGISTRATIONS: tuple[Kind, ...] = (
    Kind(
        "CNJ",
        # "TST-RR-257440-71.2002.5.02.0372": a court's prefix may be glued on with a hyphen
        compile_all(r"\d{1,7}-\s?\d{2}\.\d{4}\.\d\.?\d{2}\.\d{4}", start=r"(?<![\d.])"),
        compile_all(r"\d{20}")[0],
        name_before("CNJ"),
        lambda value: cnj_valid(normalize(value).zfill(20)),
        _cnj_normal,
    ),
    Kind(
        "CNPJ",
        compile_all(rf"{_ALNUM}{{2}}\.{_ALNUM}{{3}}\.{_ALNUM}{{3}}/{_ALNUM}{{4}}-\d{{2}}", r"\d{8}/\d{4}-\d{2}"),
        compile_all(rf"{_ALNUM}{{12}}\d{{2}}")[0],
        name_before("CNPJ"),
        cnpj_valid,
    ),
    # the kinds with one check digit or none, found after their name, come before CPF: the
    # same eleven digits after "CNH" are a CNH even where they pass CPF's check
    Kind("CNH", (named("CNH", _ELEVEN),), check=cnh_valid),
    Kind(
        "TITULO_ELEITOR",
        # 0043 5687 0906 (the card's own layout) anywhere; other layouts after the name
        compile_all(r"\d{4} \d{4} \d{4}") + (named("TITULO_ELEITOR", r"\d{4}\.?\d{4}\.?\d{4}|\d{10}[-/]\d{2}"),),
        check=titulo_valid,
    ),
    Kind(
        "PIS",
        compile_all(r"\d{3}\.\d{5}\.\d{2}-\d") + (named("PIS", r"\d{3}\.?\d{5}\.?\d{2}-?\d|\d{10}-\d"),),
        check=pis_valid,
    ),
    Kind(
        "CNS",
        compile_all(r"[12789]\d{2} \d{4} \d{4} \d{4}") + (named("CNS", r"\d{3}[ .]?\d{4}[ .]?\d{4}[ .]?\d{4}"),),
        check=cns_valid,
    ),
    Kind("RENAVAM", (named("RENAVAM", r"\d{9,11}|\d{8,10}-\d|\d{1,3}(?:\.\d{3}){2,3}-?\d?"),), check=renavam_valid),
    Kind(
        "CPF",
        compile_all(r"\d{3}\.\d{3}\.\d{3}-\d{2}", r"\d{9}-\d{2}"),
        compile_all(r"\d{11}")[0],
        name_before("CPF"),
        cpf_valid,
    ),
    Kind(
        "OAB",
        (
            re.compile(rf"\bOAB\s*[:/-]?\s*{_OAB_UF}\s*[:-]?\s*{NO}{_OAB_NUM}"),  # OAB/DF 12.345, OAB-SP nº 123
            re.compile(rf"\bOAB\s*:?\s*{NO}{_OAB_NUM}\s*/?\s*{_OAB_UF}\b"),  # OAB nº 1234/SP, OAB: 205621DF
            re.compile(rf"(?<![\w.]){_OAB_NUM}\s*/\s*OAB\s*[-/]\s*{_OAB_UF}\b"),  # 13469-E/OAB-DF
            re.compile(rf"(?<=\s-\s){_OAB_UF}(?P<num>\d{{6}})\b"),  # STJ's lists of lawyers: "NOME - RJ083152"
        ),
        normal=_oab_normal,
    ),
    Kind(
        "RG",
        # only after its name; the value runs from the number to the issuer ("SSP/DF")
        (
            re.compile(
                rf"(?i:{NAMES['RG']})"
                r"[^\n\d]{0,20}?(?P<value>(?P<num>\d[\d.]{3,}\d(?:-?[\dXx])?)"
                rf"(?:\s*[-–,]?\s*(?:SSP|SESP|SDS|PC|DETRAN|IFP|SJS)\s*[/-]?\s*(?:{_UF})\b)?)"
            ),
        ),
        normal=lambda m: normalize(m.group("num")),
    ),
    Kind(
        "PASSAPORTE",
        # Brazil's AB123456 and other countries' letters and digits; at least six characters, one a digit
        (named("PASSAPORTE", r"(?=[A-Z]{0,3}\d)[A-Z]{0,3}\d{5,9}[A-Z]?"),),
        normal=lambda m: normalize(value_text(m)),
    ),
)
