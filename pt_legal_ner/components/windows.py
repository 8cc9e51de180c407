"""Where the transformer's windows fall: on line and sentence starts, so that a local change stays local.

spacy-transformers' strided windows start every ``stride`` tokens from the document's start, so one
token more or less anywhere moves every later window, and the entities after it are seen with other
context. benchmark-ocr found it on OCRed pages: a letter-spaced heading ("A C Ó R D Ã O", read as
"ACÓRDÃO") or a dropped "_____" changed entities a page further on, and 27 of the 38 entities lost
on the dev pages were read exactly. ``unit_windows`` cuts a document into units (sentences and
paragraphs; a single line break counts as a space, issue 38) and gives each window ``units`` of
them, the next window starting ``step`` units on: a change inside a unit alters only the windows
that hold it. A group of units longer than ``window``
words is cut into strided windows from its own start (whitespace tokens do not count).

Bound to its model (``pt_legal_ner.TransformerModel.v1`` does it), the getter also halves a window
whose text gives more pieces than the encoder takes, which spacy-transformers would otherwise cut
off, leaving the tokens past the cut without a vector.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

from spacy.tokens import Doc, Span
from spacy.util import registry

# tokens after which a sentence ends when the next word starts with a capital or a digit
SENTENCE_ENDS = frozenset({".", "!", "?", ";", ":"})


def unit_starts(doc: Doc) -> list[int]:
    """Token indices where units start: the first token, the first word after a blank line, the
    first word after a sentence's end. A single line break is read as the space it replaced (a
    PDF's or OCR's lines wrap inside sentences): where a paragraph's lines wrap moves no unit."""
    starts = [0]
    for token in doc[:-1]:
        if token.is_space and "\n" in token.text and _blank_line(token):
            starts.append(token.i + 1)
        elif token.text in SENTENCE_ENDS:
            following = token.i + 1
            while following < len(doc) and doc[following].is_space:
                following += 1
            if following < len(doc) and (doc[following].text[:1].isupper() or doc[following].text[:1].isdigit()):
                starts.append(following)
    return sorted(set(starts)) if len(doc) else []


def _blank_line(token) -> bool:
    """Whether the whitespace ``token`` (with the whitespace tokens before it) holds an empty line."""
    text = token.text
    i = token.i - 1
    while i >= 0 and token.doc[i].is_space:
        text = token.doc[i].text + text
        i -= 1
    return text.count("\n") >= 2


class UnitWindows:
    """The span getter: windows of ``units`` lines or sentences, ``step`` units apart."""

    def __init__(self, units: int, step: int, window: int, stride: int) -> None:
        if not 0 < step <= units:
            raise ValueError(f"unit_windows: step must be between 1 and units ({units}), not {step}")
        if not 0 < stride <= window:
            raise ValueError(f"unit_windows: stride must be between 1 and window ({window}), not {stride}")
        self.units, self.step, self.window, self.stride = units, step, window, stride
        self.model = None  # the TransformerModel whose tokenizer counts pieces, once bound

    def bind(self, model) -> None:
        self.model = model

    def __call__(self, docs: Iterable[Doc]) -> list[list[Span]]:
        windows = [[doc[start:end] for start, end in self.token_windows(doc)] for doc in docs]
        tokenizer = getattr(self.model, "tokenizer", None)  # None until the model has loaded its weights
        if tokenizer is None:
            return windows
        return [self.fitted(spans, tokenizer) for spans in windows]

    def token_windows(self, doc: Doc) -> list[tuple[int, int]]:
        starts = unit_starts(doc)
        if not starts:
            return [(0, 0)]  # an empty doc still gets its (empty) window, as strided spans give it
        bounds = [*starts, len(doc)]
        words = [token.i for token in doc if not token.is_space]
        windows: list[tuple[int, int]] = []
        first = 0
        while True:
            last = min(first + self.units, len(starts))
            windows += self.strided(bounds[first], bounds[last], words)
            if last == len(starts):
                return windows
            first += self.step

    def strided(self, start: int, end: int, words: list[int]) -> list[tuple[int, int]]:
        """``start:end`` in windows of ``window`` words, ``stride`` words apart; whitespace tokens
        (``words`` lists the others) do not count, so a line break where the text had a space
        moves no cut."""
        inside = words[bisect_left(words, start) : bisect_left(words, end)]
        windows = []
        k = 0
        while True:
            first = start if k == 0 else inside[k]
            if k + self.window >= len(inside):
                windows.append((first, end))
                return windows
            windows.append((first, inside[k + self.window]))
            k += self.stride

    @staticmethod
    def fitted(spans: list[Span], tokenizer) -> list[Span]:
        """``spans`` with each one that gives more pieces than the encoder takes halved until it fits."""
        limit = tokenizer.model_max_length
        if not spans or limit is None or limit > 10**6:  # no limit known
            return spans
        # verbose=False: counting is what the length warning would be about
        pieces = tokenizer([s.text for s in spans], add_special_tokens=True, verbose=False)["input_ids"]
        lengths = [len(ids) for ids in pieces]
        if max(lengths) <= limit:
            return spans
        out: list[Span] = []
        for span, length in zip(spans, lengths, strict=True):
            if length <= limit or len(span) < 2:
                out.append(span)
            else:
                middle = span.start + len(span) // 2
                halves = [span.doc[span.start : middle], span.doc[middle : span.end]]
                out += UnitWindows.fitted(halves, tokenizer)
        return out


@registry.span_getters("pt_legal_ner.unit_windows.v1")
def configure_unit_windows(units: int = 20, step: int = 16, window: int = 256, stride: int = 192) -> UnitWindows:
    """Windows of ``units`` sentences or paragraphs, each starting ``step`` units after the last
    (the last ``units - step`` units of a window are the first of the next); a group longer than
    ``window`` words is cut into windows of ``window`` words, ``stride`` apart."""
    return UnitWindows(units, step, window, stride)
