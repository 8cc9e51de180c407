"""Rule corrections for LeNER-Br's most regular patterns, applied after the trained NER.

Each rule is kept only where it raised entity F1 on dev (metrics/experiments.md):
- ``never``: entity texts that are never of a label, e.g. the "Código de Verificação" footer
  of TJDFT decisions, which the model reads as a law ("Código ...");
- ``split_at_comma``: labels whose entities never span "<id> , <id>": LeNER-Br annotates
  "Acórdão n.999404 , 20160610082800APC" as two decisions, the tagger often joins them;
- ``absorb_state_code``: labels whose entity takes in a following "( UF )", as in the
  signature line "Brasília ( DF ) , 15 de março de 2018" (annotated whole in train and dev;
  the tagger cuts it at the parenthesis).
"""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from pt_legal_ner.components.extensions import register_extensions

register_extensions()


def has_digit(span: Span) -> bool:
    return any(ch.isdigit() for ch in span.text)


def resized(ent: Span, start: int, end: int) -> Span:
    """A span over ``start:end`` with ``ent``'s label, source and confidence."""
    span = Span(ent.doc, start, end, label=ent.label_)
    span._.source, span._.confidence = ent._.source, ent._.confidence
    return span


def split_at_commas(ent: Span) -> list[Span]:
    """``ent`` cut at each comma token that has a digit on both sides within the entity."""
    parts, start = [], ent.start
    for token in ent:
        if token.text == "," and token.i > start:
            left, right = ent.doc[start : token.i], ent.doc[token.i + 1 : ent.end]
            if len(right) and has_digit(left) and has_digit(right):
                parts.append((start, token.i))
                start = token.i + 1
    parts.append((start, ent.end))
    if len(parts) == 1:
        return [ent]
    return [resized(ent, s, e) for s, e in parts]


STATE_CODE = re.compile(r"[A-Z]{2}")


def with_state_code(ent: Span) -> Span:
    """``ent`` extended over a following "( UF )"; a span cut after its "(" is completed.
    Line breaks between the parts do not count (a PDF's lines may wrap anywhere)."""
    doc, end = ent.doc, ent.end
    if doc[end - 1].text == "(" and end - 1 > ent.start:
        end -= 1
    following = [t for t in doc[end : end + 6] if not t.is_space][:3]
    words = [t.text for t in following]
    if len(words) < 3 or words[0] != "(" or not STATE_CODE.fullmatch(words[1]) or words[2] != ")":
        return ent
    return resized(ent, ent.start, following[2].i + 1)


class LegalRules:
    def __init__(
        self,
        name: str,
        never: dict[str, list[str]],
        split_at_comma: list[str],
        absorb_state_code: list[str],
    ) -> None:
        self.name = name
        self.never = {label: [re.compile(p) for p in patterns] for label, patterns in never.items()}
        self.split_at_comma = set(split_at_comma)
        self.absorb_state_code = set(absorb_state_code)

    def __call__(self, doc: Doc) -> Doc:
        ents: list[Span] = []
        for ent in doc.ents:
            # whitespace runs read as one space: a line break where the text had a space changes nothing
            text = " ".join(ent.text.split())
            if any(p.fullmatch(text) for p in self.never.get(ent.label_, ())):
                continue
            if ent.label_ in self.absorb_state_code:
                ent = with_state_code(ent)
            ents.extend(split_at_commas(ent) if ent.label_ in self.split_at_comma else [ent])
        # an extended span covers the code the tagger may have tagged on its own
        doc.ents = filter_spans(ents)
        return doc


@Language.factory(
    "legal_rules",
    assigns=["doc.ents"],
    requires=["doc.ents"],
    default_config={
        "never": {"LEGISLACAO": [r"Código( de( Verificação)?)?( ?:\S*)?"]},
        "split_at_comma": ["JURISPRUDENCIA"],
        "absorb_state_code": ["LOCAL"],
    },
)
def make_legal_rules(
    nlp: Language, name: str, never: dict[str, list[str]], split_at_comma: list[str], absorb_state_code: list[str]
) -> LegalRules:
    return LegalRules(name, never, split_at_comma, absorb_state_code)
