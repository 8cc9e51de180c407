"""Tesseract's hOCR as text: words joined by lines, each word's place and confidence kept.

Why hOCR and not TSV: both carry each word's confidence, but only hOCR says how a line was
turned (``textangle``), which is how a rotated page is told apart. Only the standard library:
the reader process imports this module alone.
"""

import re
import xml.etree.ElementTree as ET
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pt_legal_ner.io.ocr_fixes import Word, fixed

# Tesseract's line-like classes; a word outside them does not occur in its output
LINE_CLASSES = {"ocr_line", "ocr_header", "ocr_caption", "ocr_textfloat"}
CLITICS = {"se", "me", "te", "lhe", "lhes", "nos", "vos", "o", "a", "os", "as", "lo", "la", "los", "las", "no", "na"}
_CONF = re.compile(r"x_wconf (\d+)")
_ANGLE = re.compile(r"textangle (\d+)")

__all__ = ["OcrText", "Word", "keeps_hyphen", "lowest_confidence", "parse_hocr", "shifted"]


@dataclass
class OcrText:
    text: str
    words: list[Word]
    # degrees the page was turned by, as Tesseract found it (0, 90, 180 or 270)
    rotation: int = 0

    @property
    def mean_confidence(self) -> float | None:
        return sum(w[2] for w in self.words) / len(self.words) if self.words else None


def keeps_hyphen(next_word: str) -> bool:
    """Whether a word hyphenated at a line end keeps its hyphen when joined to ``next_word``:
    Portuguese keeps it before a capital or digit ("Decreto-/Lei") and a clitic ("manifestou-/se")."""
    return not next_word or next_word[0].isupper() or next_word[0].isdigit() or next_word.lower() in CLITICS


def _class(element: ET.Element) -> str:
    return element.get("class", "")


def parse_hocr(hocr: str) -> OcrText:
    """The page's text (words by spaces, lines by line breaks; a word hyphenated at a line end
    joined as PDF text is; misreadings of legal text corrected, ocr_fixes.py) and each word's (start, end,
    confidence)."""
    root = ET.fromstring(hocr)
    lines: list[list[tuple[str, int]]] = []
    angles: Counter = Counter()
    for element in root.iter():
        if element.tag.endswith("span") and _class(element) in LINE_CLASSES:
            words = []
            for word in element.iter():
                if _class(word) == "ocrx_word":
                    text = "".join(word.itertext()).strip()
                    conf = _CONF.search(word.get("title", ""))
                    if text:
                        words.append((text, int(conf.group(1)) if conf else 0))
            if words:
                lines.append(words)
                angle = _ANGLE.search(element.get("title", ""))
                angles[int(angle.group(1)) if angle else 0] += len(words)
    return _joined(lines, angles.most_common(1)[0][0] if angles else 0)


def _joined(lines: list[list[tuple[str, int]]], rotation: int) -> OcrText:
    pieces: list[str] = []
    words: list[Word] = []
    position = 0
    carry: tuple[str, int] | None = None  # a line's last word, hyphenated, waiting for its rest
    for number, line in enumerate(lines):
        if number:
            if carry is None:
                pieces.append("\n")
                position += 1
        for index, (text, conf) in enumerate(line):
            if carry is not None:
                head, head_conf = carry
                text = (head if keeps_hyphen(text) else head[:-1]) + text
                conf = min(conf, head_conf)
                carry = None
            elif index:
                pieces.append(" ")
                position += 1
            last = index == len(line) - 1
            if last and number < len(lines) - 1 and len(text) > 1 and text.endswith("-") and text[-2].isalpha():
                carry = (text, conf)
                continue
            pieces.append(text)
            words.append((position, position + len(text), conf))
            position += len(text)
    return OcrText(*fixed("".join(pieces), words), rotation)


def shifted(words: Sequence[Word], offset: int) -> list[Word]:
    return [(start + offset, end + offset, conf) for start, end, conf in words]


def lowest_confidence(words: Sequence[Word], starts: Sequence[int], start: int, end: int) -> int | None:
    """The lowest confidence of the OCR words that overlap ``start``-``end`` (``words`` sorted,
    ``starts`` their starts); None where no OCR word is."""
    first = max(bisect_left(starts, start) - 1, 0)
    last = bisect_right(starts, end)
    confs = [c for s, e, c in words[first:last] if s < end and start < e]
    return min(confs) if confs else None
