"""Which entities win when the LLM's spans meet the trained model's: a policy chosen in the config.

As spaCy's ``span_ruler`` takes its ``ents_filter`` from ``@misc``, llm_fallback's task takes
``merge``. A policy gets the doc's entities, the LLM's proposed spans (already aligned to
tokens, in the order the LLM named them) and the task's threshold, and returns the new entities,
the proposals it accepted, and why it dropped the others.
"""

from collections.abc import Callable
from typing import NamedTuple

from spacy.tokens import Span
from spacy.util import registry

from pt_legal_ner.components.extensions import SOURCE_MODEL
from pt_legal_ner.components.spans import overlaps


class Merged(NamedTuple):
    ents: list[Span]  # every entity of the doc after the merge
    added: list[Span]  # the proposals among them
    dropped: dict[str, int]  # reason -> count


MergePolicy = Callable[[list[Span], list[Span], float], Merged]


def _merge(ents: list[Span], proposed: list[Span], threshold: float, replace_unsure: bool) -> Merged:
    kept, added, dropped = list(ents), [], {}

    def drop(reason: str) -> None:
        dropped[reason] = dropped.get(reason, 0) + 1

    # the longest of overlapping proposals wins, the earliest among equals
    for span in sorted(proposed, key=lambda s: (s.start, -(s.end - s.start))):
        if any(overlaps(a, span) for a in added):
            drop("overlap")
            continue
        overlapped = [e for e in kept if overlaps(e, span)]
        if any((e.start, e.end, e.label_) == (span.start, span.end, span.label_) for e in overlapped):
            continue  # the trained model already has it
        unsure = all(e._.source == SOURCE_MODEL and (e._.confidence or 0.0) < threshold for e in overlapped)
        if overlapped and not (replace_unsure and unsure):
            drop("conflict")
            continue
        kept = [e for e in kept if e not in overlapped]
        added.append(span)
    return Merged(sorted(kept + added, key=lambda s: s.start), added, dropped)


@registry.misc("pt_legal_ner.llm_fills_gaps.v1")
def llm_fills_gaps() -> MergePolicy:
    """LLM spans fill gaps, and replace trained spans only when every one they overlap is below the threshold."""

    def merge(ents: list[Span], proposed: list[Span], threshold: float) -> Merged:
        return _merge(ents, proposed, threshold, replace_unsure=True)

    return merge


@registry.misc("pt_legal_ner.trained_first.v1")
def trained_first() -> MergePolicy:
    """LLM spans only fill gaps: every trained entity stays, however unsure."""

    def merge(ents: list[Span], proposed: list[Span], threshold: float) -> Merged:
        return _merge(ents, proposed, threshold, replace_unsure=False)

    return merge
