"""``legal_ids``: Brazilian identifiers and personal data found by rule (patterns.py lists the kinds).

Every identifier found goes to ``doc.spans[spans_key]`` with ``_.source = "rule"``,
``_.normalized``, ``_.valid`` and ``_.sensitive`` (health data, LGPD art. 11); kind.py says how
each kind is found and checked.
Which of them also become entities is a policy chosen in the config (``ents_filter``, from
``@misc``, as in spaCy's ``span_ruler``); no policy deletes a trained entity the identifier
does not overlap. Pseudonymization reads the span group, so an identifier inside a trained
entity (a CNJ number inside a JURISPRUDENCIA citation) is masked whichever policy holds.
"""

from collections.abc import Callable, Iterable

from spacy.language import Language
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry

from pt_legal_ner.components.extensions import SOURCE_RULE, register_extensions
from pt_legal_ner.components.spans import overlaps
from pt_legal_ner.privacy.patterns import LABELS, SENSITIVE, find_ids

register_extensions()

IdsFilter = Callable[[list[Span], list[Span]], list[Span]]


@registry.misc("pt_legal_ner.ids_fill_gaps.v1")
def ids_fill_gaps() -> IdsFilter:
    """Identifiers become entities where no entity is; entities keep their labels and bounds."""

    def keep(ents: list[Span], ids: list[Span]) -> list[Span]:
        return sorted(list(ents) + [i for i in ids if not any(overlaps(i, e) for e in ents)], key=lambda s: s.start)

    return keep


@registry.misc("pt_legal_ner.ids_first.v1")
def ids_first() -> IdsFilter:
    """Identifiers win: an entity they overlap is dropped; the others stay."""

    def keep(ents: list[Span], ids: list[Span]) -> list[Span]:
        return sorted([e for e in ents if not any(overlaps(e, i) for i in ids)] + list(ids), key=lambda s: s.start)

    return keep


@registry.misc("pt_legal_ner.ids_spans_only.v1")
def ids_spans_only() -> IdsFilter:
    """Entities untouched: the identifiers live in the span group alone."""

    def keep(ents: list[Span], ids: list[Span]) -> list[Span]:
        return list(ents)

    return keep


class LegalIds:
    """Finds identifiers in ``doc.text``; stateless, so it needs no initialize and no weights."""

    def __init__(self, name: str, labels: Iterable[str], ents_filter: IdsFilter, spans_key: str) -> None:
        self.name = name
        self.labels = tuple(labels)
        find_ids("", self.labels)  # an unknown kind fails at construction, not on the first doc
        self.ents_filter = ents_filter
        self.spans_key = spans_key

    def __call__(self, doc: Doc) -> Doc:
        ids = []
        # spaCy keys span extensions by character offsets alone: writing an identifier's source
        # and confidence would overwrite those of an entity over exactly the same characters
        entity_offsets = {(e.start_char, e.end_char) for e in doc.ents}
        for found in find_ids(doc.text, self.labels):
            # "expand": a value glued to a word ("CPF:123...") still covers all of itself
            span = doc.char_span(found.start, found.end, label=found.label, alignment_mode="expand")
            if span is None:
                continue
            if (span.start_char, span.end_char) not in entity_offsets:
                span._.source, span._.confidence = SOURCE_RULE, 1.0
            span._.normalized, span._.valid = found.normalized, found.valid
            span._.sensitive = True if found.label in SENSITIVE else None
            ids.append(span)
        doc.spans[self.spans_key] = ids
        doc.ents = self.ents_filter(list(doc.ents), ids)
        return doc

    def score(self, examples: Iterable[Example], **kwargs) -> dict:
        """Entity scores over the labels the gold data has: identifiers are not LeNER-Br labels,
        so a corpus without them would count every one as an error. Runs after ``ner``'s
        scorer and replaces its ``ents_*`` with the same figures over the same labels."""
        kept = []
        for eg in examples:
            predicted = eg.predicted.copy()
            predicted.ents = [e for e in predicted.ents if e.label_ not in self.labels]
            kept.append(Example(predicted, eg.reference))
        return get_ner_prf(kept, **kwargs)


@Language.factory(
    "legal_ids",
    assigns=["doc.ents", "doc.spans", "span._.source", "span._.normalized", "span._.valid", "span._.sensitive"],
    default_config={
        "labels": list(LABELS),
        "ents_filter": {"@misc": "pt_legal_ner.ids_fill_gaps.v1"},
        "spans_key": "legal_ids",
    },
)
def make_legal_ids(nlp: Language, name: str, labels: list[str], ents_filter: IdsFilter, spans_key: str) -> LegalIds:
    return LegalIds(name, labels, ents_filter, spans_key)
