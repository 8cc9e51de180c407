"""Corrections of what Tesseract's Portuguese model misreads in legal text, found by benchmark-ocr.

Measured on the benchmark's pages (metrics/benchmark_ocr.txt), these were most of the entities
OCR changed:
- the ordinal indicators, small raised letters, read as "2" or as each other ("8ª TURMA" ->
  "82 TURMA", "1ª Região" -> "12 Região", "2ª Vara" -> "2º Vara"): a number directly before a
  singular noun courts number is an ordinal (a cardinal would take the plural), of the noun's gender;
- "§" read as "8" or "$" before a paragraph number ("81º do art.", "8 2º", "art. 71, 818, IV");
- "Lei n." read as "Lein.", "STJ" as "ST]" or "ST)]", "RJ" as "R]", "OAB" as "0AB", "-DF" as
  "-DE", "Desª." as "Des?.".
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
