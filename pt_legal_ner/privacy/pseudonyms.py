"""Pseudonymize one document: its masked spans become placeholders, the same entity the same one.

Input: the document's text and the spans found in it (trained entities, identifiers of
``legal_ids``), as dicts with ``start``, ``end``, ``label``, ``source``, ``confidence`` and,
for identifiers, ``normalized``. Output: the new text, where each replacement sits in it, and
the mapping from placeholder to the original values (kept apart from the text).

One entity, one placeholder, throughout the document:
- an identifier is its kind and normalised value: ``123.456.789-09`` and ``12345678909`` are one CPF;
- a person is the words of the name, accents, case and particles ("de", "da"...) aside; a
  shorter mention ("Silva", "João Silva") joins the one longer name whose words contain it,
  and stays apart when two names do (it is ambiguous).
With ``propagate``, every other occurrence of a masked person's full name in the text is masked
too, so a mention the model missed does not leak the name it found elsewhere.
"""

# no `from __future__ import annotations`: see annotate.py (dataclasses under spacy.util.import_file)

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pt_legal_ner.privacy.br_ids import fold
from pt_legal_ner.privacy.patterns import SENSITIVE
from pt_legal_ner.privacy.style import PARTICLES, PERSON, STYLES, Style, check_key  # noqa: F401  (STYLES, check_key: their old home)

SOURCE_PROPAGATED = "propagated"
_WORD = re.compile(r"\w+")


def name_words(text: str) -> tuple[str, ...]:
    return tuple(w for w in _WORD.findall(fold(text)) if w not in PARTICLES)


@dataclass
class Masked:
    """A run of the text to replace: one or more overlapping spans, joined."""

    start: int
    end: int
    label: str
    sources: set[str] = field(default_factory=set)
    confidence: float | None = None
    normalized: str | None = None
    entity: str = ""  # e.g. PESSOA_1, filled by assign_entities
    canonical: str = ""  # what makes it this entity (normalised value, a person's name words)


def join_overlapping(spans: Iterable[dict[str, Any]]) -> list[Masked]:
    """Overlapping spans become one run (no character of a masked span may survive because
    another span overlapped it), labelled as its longest span. Identifiers and other spans are
    joined apart (``with_identifiers_apart``)."""
    runs: list[tuple[Masked, int]] = []  # (run, length of its labelling span)
    for span in sorted(spans, key=lambda s: (s["start"], -s["end"])):
        length = span["end"] - span["start"]
        conf = span.get("confidence")
        if runs and span["start"] < runs[-1][0].end:
            run, best = runs[-1]
            run.end = max(run.end, span["end"])
            run.sources.add(span.get("source") or "?")
            if conf is not None:
                run.confidence = conf if run.confidence is None else min(run.confidence, conf)
            if length > best:
                run.label, run.normalized = span["label"], span.get("normalized")
                runs[-1] = (run, length)
            continue
        run = Masked(
            span["start"], span["end"], span["label"], {span.get("source") or "?"}, conf, span.get("normalized")
        )
        runs.append((run, length))
    return [run for run, _ in runs]


def with_identifiers_apart(text: str, spans: list[dict[str, Any]]) -> list[Masked]:
    """Runs in text order where each identifier keeps its own run (and placeholder): another span
    overlapping identifiers (a name span the model stretched over "CPF 123...") is masked in
    the pieces around them instead."""
    ids = join_overlapping(s for s in spans if s.get("normalized") is not None)
    pieces = []
    for span in (s for s in spans if s.get("normalized") is None):
        start = span["start"]
        for run in ids:
            if run.start < span["end"] and start < run.end:
                if start < run.start:
                    pieces.append({**span, "start": start, "end": run.start})
                start = max(start, run.end)
        if start < span["end"]:
            pieces.append({**span, "start": start, "end": span["end"]})
    kept = [t for p in pieces if (t := trimmed(text, p)) is not None]
    return sorted(ids + join_overlapping(kept), key=lambda r: r.start)


def trimmed(text: str, span: dict[str, Any]) -> dict[str, Any] | None:
    """``span`` without the whitespace at its ends (a tagger may take a line break in), None if
    nothing else is left."""
    value = text[span["start"] : span["end"]]
    if not value.strip():
        return None
    start = span["start"] + len(value) - len(value.lstrip())
    return {**span, "start": start, "end": start + len(value.strip())}


def capitalized(text: str) -> bool:
    """Every word but the particles starts with a capital: a name as a name is written."""
    return all(w[0].isupper() for w in _WORD.findall(text) if fold(w) not in PARTICLES)


def propagate_names(text: str, spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spans for the other occurrences of each masked person's name (whole words, any case, every
    word but the particles capitalized, as names are written): a "name" the model found in an
    upper-case heading ("SEXTA PARTE") is not spread over the same words in running text."""
    names = {text[s["start"] : s["end"]] for s in spans if s["label"] == PERSON}
    taken = [(s["start"], s["end"]) for s in spans]
    found = []
    for name in sorted(names, key=len, reverse=True):
        if len(name_words(name)) < 2 or not capitalized(name):
            continue  # one word ("Silva") is too common to mask everywhere
        pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, name.split())) + r"(?!\w)", re.IGNORECASE)
        for m in pattern.finditer(text):
            if capitalized(m.group(0)) and not any(m.start() < end and start < m.end() for start, end in taken):
                found.append({"start": m.start(), "end": m.end(), "label": PERSON, "source": SOURCE_PROPAGATED})
                taken.append(m.span())
    return found


def assign_entities(text: str, runs: list[Masked]) -> None:
    """Set ``run.entity`` (LABEL_n, numbered by first appearance) so that one entity has one, and
    ``run.canonical``, the same for every mention of it in any document."""
    keys: dict[int, tuple] = {}
    people = [i for i, r in enumerate(runs) if r.label == PERSON]
    words = {i: name_words(text[runs[i].start : runs[i].end]) for i in people}
    # longest names first: each is a person, unless its words lie within exactly one person's
    persons: list[frozenset[str]] = []
    for i in sorted(people, key=lambda i: -len(set(words[i]))):
        own = frozenset(words[i])
        holders = [p for p in persons if own <= p]
        if len(holders) == 1:
            keys[i] = (PERSON, holders[0])
        elif holders or not own:  # ambiguous, or no word at all: its own entity by exact text
            keys[i] = (PERSON, "=" + fold(text[runs[i].start : runs[i].end]))
        else:
            persons.append(own)
            keys[i] = (PERSON, own)
    for i, run in enumerate(runs):
        if i not in keys:
            keys[i] = (run.label, run.normalized or fold(text[run.start : run.end]))
    numbers: dict[tuple, str] = {}
    counts: dict[str, int] = {}
    for i, run in enumerate(runs):
        key = keys[i]
        if key not in numbers:
            counts[run.label] = counts.get(run.label, 0) + 1
            numbers[key] = f"{run.label}_{counts[run.label]}"
        run.entity = numbers[key]
        run.canonical = " ".join(sorted(key[1])) if isinstance(key[1], frozenset) else key[1]


@dataclass
class Pseudonymized:
    text: str
    replacements: list[dict[str, Any]]
    mapping: list[dict[str, Any]]  # entity, label, placeholder and original values: never in the text
    spans: list[tuple[int, int]]  # where each replacement was in the original text


def pseudonymize(
    text: str,
    spans: Iterable[dict[str, Any]],
    labels: Iterable[str],
    style: Style | str = "placeholder",
    propagate: bool = False,
    key: bytes | None = None,
) -> Pseudonymized:
    """``text`` with the spans of ``labels`` replaced as ``style`` writes them (a Style, or a
    style's name with ``key``, the secret of the keyed style)."""
    if not isinstance(style, Style):
        style = Style(style, key)
    labels = set(labels)
    chosen = [t for s in spans if s["label"] in labels and (t := trimmed(text, s)) is not None]
    if propagate and PERSON in labels:
        chosen += propagate_names(text, chosen)
    runs = with_identifiers_apart(text, chosen)
    assign_entities(text, runs)
    pieces, replacements, values = [], [], {}
    position = out = 0
    for run in runs:
        original = text[run.start : run.end]
        new = style.replacement(run.label, run.entity, run.canonical, original)
        pieces.append(text[position : run.start])
        out += run.start - position
        replacements.append(
            {
                "start": out,
                "end": out + len(new),
                "label": run.label,
                "placeholder": new,
                "entity": run.entity,
                "confidence": None if run.confidence is None else round(float(run.confidence), 4),
                "source": "+".join(sorted(run.sources)),
                **({"sensitive": True} if run.label in SENSITIVE else {}),
            }
        )
        pieces.append(new)
        out += len(new)
        position = run.end
        entry = values.setdefault(
            run.entity,
            {
                "entity": run.entity,
                "label": run.label,
                "placeholder": new,
                **({"sensitive": True} if run.label in SENSITIVE else {}),
                "values": [],
            },
        )
        if original not in entry["values"]:
            entry["values"].append(original)
    pieces.append(text[position:])
    return Pseudonymized("".join(pieces), replacements, list(values.values()), [(r.start, r.end) for r in runs])
