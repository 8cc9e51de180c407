"""Corrections of what Tesseract's Portuguese model misreads in legal text, found by benchmark-ocr.

Measured on the benchmark's pages (metrics/benchmark_ocr.txt), these were most of the entities
OCR changed:
- the ordinal indicators, small raised letters, read as "2" or as each other ("8ª TURMA" ->
  "82 TURMA", "1ª Região" -> "12 Região", "2ª Vara" -> "2º Vara"): a number directly before a
  singular noun courts number is an ordinal (a cardinal would take the plural), of the noun's gender;
- "§" read as "8" or "$" before a paragraph number ("81º do art.", "8 2º", "art. 71, 818, IV");
- "Lei n." read as "Lein.", "STJ" as "ST]" or "ST)]", "RJ" as "R]", "OAB" as "0AB", "-DF" as
  "-DE", "Desª." as "Des?.".
Found on 6 further texts (labour-court decisions citing "art. 896, § 1º-A, I, da CLT" on every
page), each made safe by a rule of Brazilian legal drafting (Lei Complementar 95/1998, art. 10):
- incisos are Roman numerals, so "inciso 1", "§ 1º-A, 1, da CLT", "H," or "IH," are I and II;
- paragraphs 1 to 9 are ordinals, so "§ 72," is "§ 7º" (no article has a 72nd paragraph) and
  "§ 1.4" is "§ 1.º";
- "CLT" read as "CIT" or "CLI" after a citation, "AIRR" (a TST case class) as "ATRR".
A word a rule changes keeps its confidence and its place: the offsets of OCR's words are moved
with the text. Only the standard library (the reader process imports it).
"""

import re
from collections.abc import Callable, Sequence

# (start, end, confidence) of an OCR word: ocr_text.Word, which imports this module
Word = tuple[int, int, int]

# singular nouns courts number with ordinals; the ordinal takes their gender
FEMININE = (
    "turma|câmara|vara|região|seção|secção|subseção|zona|promotoria|procuradoria|defensoria|"
    "instância|entrância|circunscrição|junta|delegacia|sessão|edição|auditoria|comarca|corte|seccional"
)
MASCULINE = "juizado|ofício|grau|cartório|distrito|tabelionato|tribunal|juízo|grupo|colégio|batalhão|andar|termo"
_ORDINAL = r"(?<![\d.,/])(\d{1,3})%s(?=\s+(?:%s)\b)"
_ORDINAL_DOTTED = r"(?<![\d.,/])(\d{1,3}\.)[º°](?=\s+(?:%s)\b)"  # "2.ª Turma"
_LAW = r"(?:art|lei|decreto|código|cpc|cpp|cf|clt)\b"
_ARTICLE = r"\b(?:art|arts|artigo|artigos)\.?\s\d{1,4}[º°]?,?\s"
# an article as drafted: 1 to 9 as ordinals ("art. 1, 1, p" is a text that writes incisos in Arabic too)
_ARTICLE_NUMBER = r"\b(?:art|arts|artigo|artigos|ART|ARTS|ARTIGO)\.?\s(?:[1-9][º°]|\d{2,4})"
_PARAGRAPH = r"§\s?\d{1,2}\.?[º°]?(?:-[A-Z])?"
# how Tesseract reads the Roman numerals I, II and III, and what may follow a numeral in a citation
ROMAN = {"1": "I", "l": "I", "H": "II", "IH": "II", "Il": "II", "Ill": "III", "IIl": "III"}
_ROMAN_READ = "|".join(sorted(map(re.escape, ROMAN), key=len, reverse=True))
_ROMAN_AFTER = r"[,;)]|\s(?:e|a|do|da|dos|das|DA|DO)\b|\s-\s"


def _roman(m: re.Match) -> str:
    return m.group(1) + ROMAN[m.group(2)]


RULES: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [
    (re.compile(_ORDINAL % ("[2ºª°]", FEMININE), re.IGNORECASE), lambda m: m.group(1) + "ª"),
    (re.compile(_ORDINAL % ("[ª°]", MASCULINE), re.IGNORECASE), lambda m: m.group(1) + "º"),
    (re.compile(_ORDINAL_DOTTED % FEMININE, re.IGNORECASE), lambda m: m.group(1) + "ª"),
    # "§" read as "8" or "$": before a paragraph number and what it belongs to, before "1º"-like
    # numbers, and after an article ("art. 71, 818, IV" is "art. 71, §1º, IV")
    (
        re.compile(
            rf"(?<![\w$§])[$8](?=(?:\s\d{{1,3}}[º°]?|\d{{1,3}}[º°]),?\s+(?:d[oae]s?|deste|desta)\s+{_LAW})",
            re.IGNORECASE,
        ),
        lambda m: "§",
    ),
    (re.compile(r"(?<![\w$§.,])[$8](?=\s\d{1,2}º)"), lambda m: "§"),
    (re.compile(rf"({_ARTICLE})8(\d)8(?=[,;\s])", re.IGNORECASE), lambda m: f"{m.group(1)}§{m.group(2)}º"),
    (re.compile(rf"({_ARTICLE})[$8](?=\s?\d)", re.IGNORECASE), lambda m: f"{m.group(1)}§"),
    (re.compile(r"\b(Lei|LEI)n\.(?=\s?\d)"), lambda m: f"{m.group(1)} n."),
    # "J" read as "]" or ")]" after capitals: "STJ", "RJ"; not a bracketed "[STF]"
    (re.compile(r"(?<!\[)\b([A-Z]{1,4})\)?\](?=[\s.,;:/)-]|$)"), lambda m: f"{m.group(1)}J"),
    (re.compile(r"\b0AB\b"), lambda m: "OAB"),
    (re.compile(r"(?<=[A-Z]-)DE\b"), lambda m: "DF"),  # no state is "DE": the Distrito Federal's "DF"
    (re.compile(r"\b(Des|DES)\?\."), lambda m: f"{m.group(1)}ª."),
    # Roman incisos: after "inciso", after a paragraph or article and its comma, or shapes no word has
    (re.compile(rf"(\b(?:[Ii]ncisos?|INCISOS?|incs?\.)\s)({_ROMAN_READ})(?={_ROMAN_AFTER})"), _roman),
    (re.compile(rf"((?:{_PARAGRAPH}|{_ARTICLE_NUMBER}),\s)({_ROMAN_READ})(?={_ROMAN_AFTER})"), _roman),
    (re.compile(rf"(?<![\w-])()(IH|Ill|IIl)(?={_ROMAN_AFTER})"), _roman),
    (re.compile(r"(§\s?)([3-9])[24](?=[\s,;.)]|-[A-Z])"), lambda m: f"{m.group(1)}{m.group(2)}º"),
    (re.compile(r"(§\s?\d)\.4(?=[\s,;)]|-[A-Z])"), lambda m: f"{m.group(1)}.º"),
    # "CLT" after "da" in the same citation (no ";" between): not the SUS's "CIT"
    (
        re.compile(
            r"((?i:\b(?:art|arts|artigo|artigos|inciso|incs?)\b|§)[^\n;]{0,60}?\b(?:da|na|DA|NA)\s)(?:CIT|CLI|CIL)\b"
        ),
        lambda m: f"{m.group(1)}CLT",
    ),
    (re.compile(r"\bATRR(?=-\d)"), lambda m: "AIRR"),
]


def fixed(text: str, words: Sequence[Word] = ()) -> tuple[str, list[Word]]:
    """``text`` with the misreadings above corrected, and ``words`` moved to match."""
    words = list(words)
    for pattern, replacement in RULES:
        edits = [(m.start(), m.end(), replacement(m)) for m in pattern.finditer(text)]
        if edits:
            text, words = _edited(text, words, edits)
    return text, words


def _edited(text: str, words: list[Word], edits: list[tuple[int, int, str]]) -> tuple[str, list[Word]]:
    pieces, position = [], 0
    for start, end, new in edits:
        pieces += [text[position:start], new]
        position = end
    pieces.append(text[position:])

    def moved(offset: int) -> int:
        shift = 0
        for start, end, new in edits:
            if end <= offset:  # wholly before
                shift += len(new) - (end - start)
            elif start < offset:  # inside: as far into the new text, at most its length
                return start + shift + min(offset - start, len(new))
        return offset + shift

    return "".join(pieces), [(moved(s), moved(e), c) for s, e, c in words]
