"""Rule corrections for LeNER-Br's most regular patterns, applied after the trained NER.

Each rule is kept only where it raised entity F1 on dev (metrics/experiments.md):
- ``never``: entity texts that are never of a label, e.g. the "Código de Verificação" footer
  of TJDFT decisions, which the model reads as a law ("Código ...");
- ``split_at_comma``: labels whose entities never span "<id> , <id>": LeNER-Br annotates
  "Acórdão n.999404 , 20160610082800APC" as two decisions, the tagger often joins them;
- ``absorb_state_code``: labels whose entity takes in a following "( UF )", as in the
  signature line "Brasília ( DF ) , 15 de março de 2018" (annotated whole in train and dev;
  the tagger cuts it at the parenthesis);
- ``name_before_role``: the label of an upper-case name of two words or more right before
  "- Relatora", "- 1º Vogal", "- Revisor", "- Presidente": the panel in a TJDFT decision's
  signature ("NÍDIA CORRÊA LIMA - Relatora , EUSTÁQUIO DE CASTRO - 2º Vogal"): in all three
  CoNLL splits each such run is a gold PESSOA or one cut short by OCR debris (metrics/experiments.md
  section 11); the tagger read one as a LOCAL, which pseudonymize then leaves readable.
"""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from pt_legal_ner.components.extensions import SOURCE_RULE, register_extensions
from pt_legal_ner.components.spans import overlaps

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


# titles and articles that open a signature's upper-case run ("O SENHOR MINISTRO LUÍS ROBERTO BARROSO - Presidente")
TITLES = frozenset(
    ("O", "A", "OS", "AS", "SENHOR", "SENHORA", "SR", "SRA", "MINISTRO", "MINISTRA")
    + ("DESEMBARGADOR", "DESEMBARGADORA", "JUIZ", "JUÍZA", "DOUTOR", "DOUTORA", "DR", "DRA")
)
ROLE = re.compile(r"-\s*(?:\d+\s*[ºª°]\s*)?(?:Relatora?|Revisora?|Vogal|Presidente)\b", re.IGNORECASE)


def names_before_roles(doc: Doc, label: str) -> list[Span]:
    """Runs of two or more upper-case words that end right before "- <role>" (line breaks count as spaces)."""
    names = []
    for dash in doc:
        if dash.text != "-" or not ROLE.match(doc.text, dash.idx):
            continue
        words = []
        for token in reversed(doc[: dash.i]):
            if token.is_space:
                continue
            if not (token.is_alpha and token.is_upper):
                break
            words.append(token)
        while words and words[-1].text in TITLES:
            words.pop()
        if len(words) >= 2:
            name = Span(doc, words[-1].i, words[0].i + 1, label=label)
            name._.source, name._.confidence = SOURCE_RULE, 1.0
            names.append(name)
    return names


def with_names(ents: list[Span], names: list[Span]) -> list[Span]:
    """``ents`` with each name in place of the entities inside it; a name that an entity reaching
    beyond it overlaps (a case number "... - PA - Relator") is left out."""
    for name in names:
        inside = [e for e in ents if overlaps(e, name)]
        if all(name.start <= e.start and e.end <= name.end for e in inside):
            ents = [e for e in ents if e not in inside] + [name]
    return ents


class LegalRules:
    def __init__(
        self,
        name: str,
        never: dict[str, list[str]],
        split_at_comma: list[str],
        absorb_state_code: list[str],
        name_before_role: str | None = None,
    ) -> None:
        self.name = name
        self.name_before_role = name_before_role
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
        if self.name_before_role:
            ents = with_names(ents, names_before_roles(doc, self.name_before_role))
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
        "name_before_role": "PESSOA",
    },
)
def make_legal_rules(
    nlp: Language,
    name: str,
    never: dict[str, list[str]],
    split_at_comma: list[str],
    absorb_state_code: list[str],
    name_before_role: str | None,
) -> LegalRules:
    return LegalRules(name, never, split_at_comma, absorb_state_code, name_before_role)
