"""Texts laid out in lines as a PDF's text layer or OCR gives them, for scoring (issue 38).

``wrap`` turns the last space before every ``width``-th column into a line break: the same
characters at the same offsets otherwise, so the gold entities keep their offsets. Scoring a
corpus both ways says how much of the F1 depends on where lines wrap. Both ways the reference is
tokenized by the pipeline, not as LeNER-Br's CoNLL files have it: spaCy's scorer maps a predicted
entity onto the reference's tokens, which counts an entity cut inside a CoNLL token as found,
so the two ways are only comparable on one tokenization.
"""

from __future__ import annotations

from collections.abc import Iterable

from spacy.training import Example

WIDTH = 90


def wrap(text: str, width: int = WIDTH) -> str:
    """``text`` with a space turned into a line break wherever a line would pass ``width``
    characters; a word longer than a line stays whole on its own line."""
    chars = list(text)
    line_start, last_space = 0, -1
    for i, ch in enumerate(chars):
        if ch == "\n":
            line_start, last_space = i + 1, -1
        elif i - line_start >= width and last_space >= line_start:
            chars[last_space] = "\n"
            line_start, last_space = last_space + 1, -1
        if ch == " ":
            last_space = i
    return "".join(chars)


def wrapped_examples(nlp, examples: Iterable[Example], width: int | None = WIDTH) -> list[Example]:
    """Each example's reference text wrapped at ``width`` (None: as it is), tokenized by ``nlp``,
    with its entities at the same character offsets."""
    wrapped = []
    for i, eg in enumerate(examples):
        text = eg.reference.text if width is None else wrap(eg.reference.text, width)
        reference = nlp.make_doc(text)
        ents = []
        for ent in eg.reference.ents:
            span = reference.char_span(ent.start_char, ent.end_char, label=ent.label_)
            if span is None:
                raise ValueError(
                    f"doc {i}: entity {ent.text!r} at {ent.start_char} is not on token bounds once wrapped"
                )
            ents.append(span)
        reference.ents = ents
        wrapped.append(Example(nlp.make_doc(text), reference))
    return wrapped
