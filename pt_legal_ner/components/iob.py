"""IOB2 tags: strict reading of gold tags and constrained decoding of predicted ones.

The corpus converter and the NER component share these functions, so training data and
predictions follow exactly one tag scheme.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

OUTSIDE = "O"


class IobError(ValueError):
    """A malformed tag sequence; ``position`` is the index of the offending tag."""

    def __init__(self, position: int, message: str) -> None:
        super().__init__(message)
        self.position = position


def tag_names(labels: Iterable[str]) -> list[str]:
    """The tag set for ``labels``: O first, then B-/I- per label."""
    names = [OUTSIDE]
    for label in labels:
        names += [f"B-{label}", f"I-{label}"]
    return names


def split_tag(tag: str) -> tuple[str, str]:
    """'B-PESSOA' -> ('B', 'PESSOA'); 'O' -> ('O', '')."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, sep, label = tag.partition("-")
    if not sep or prefix not in ("B", "I") or not label:
        raise ValueError(f"not an IOB2 tag: {tag!r}")
    return prefix, label


def iob_to_spans(tags: Sequence[str], labels: Iterable[str] | None = None) -> list[tuple[int, int, str]]:
    """Token spans (start, end, label) of an IOB2 sequence, rejecting anything malformed.

    Raises IobError at the first tag that is not IOB2, has a label outside ``labels``
    (when given), or is an I- tag that does not continue an entity of the same label.
    """
    allowed = set(labels) if labels is not None else None
    spans: list[tuple[int, int, str]] = []
    start, current = -1, ""
    for i, tag in enumerate(tags):
        try:
            prefix, label = split_tag(tag)
        except ValueError as err:
            raise IobError(i, str(err)) from None
        if allowed is not None and label and label not in allowed:
            raise IobError(i, f"unknown label {label!r} (expected one of {sorted(allowed)})")
        if prefix == "I" and label != current:
            after = f"{current} entity" if current else "O"
            raise IobError(i, f"broken IOB sequence: {tag} follows {after}")
        if prefix != "I" and current:
            spans.append((start, i, current))
            current = ""
        if prefix == "B":
            start, current = i, label
    if current:
        spans.append((start, len(tags), current))
    return spans


def transition_mask(tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(allowed[prev, cur], allowed_first[cur]) under IOB2: I-X only after B-X or I-X."""
    parsed = [split_tag(t) for t in tags]
    n = len(tags)
    allowed = np.ones((n, n), dtype=bool)
    first = np.ones(n, dtype=bool)
    for j, (prefix, label) in enumerate(parsed):
        if prefix == "I":
            first[j] = False
            for i, (_, prev_label) in enumerate(parsed):
                allowed[i, j] = prev_label == label
    return allowed, first


def viterbi(probs: np.ndarray, tags: Sequence[str]) -> np.ndarray:
    """Most probable valid IOB2 path through per-token tag probabilities [n_tokens, n_tags]."""
    n_tokens = probs.shape[0]
    if n_tokens == 0:
        return np.zeros(0, dtype=np.int64)
    allowed, first = transition_mask(tags)
    trans = np.where(allowed, 0.0, -np.inf)
    logp = np.log(np.clip(probs, 1e-12, 1.0))
    score = np.where(first, logp[0], -np.inf)
    back = np.zeros((n_tokens, len(tags)), dtype=np.int64)
    for t in range(1, n_tokens):
        cand = score[:, None] + trans
        back[t] = cand.argmax(axis=0)
        score = cand.max(axis=0) + logp[t]
    path = np.zeros(n_tokens, dtype=np.int64)
    path[-1] = int(score.argmax())
    for t in range(n_tokens - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def decode(
    probs: np.ndarray, tags: Sequence[str], skip: np.ndarray | None = None
) -> tuple[list[tuple[int, int, str, float]], np.ndarray]:
    """Entity spans with confidences, and each token's confidence, from tag probabilities.

    A token's confidence is the probability of its decoded tag; an entity's is the lowest
    of its tokens' (one doubtful token makes the whole span doubtful). Tokens where ``skip``
    is true (whitespace: a line break where the text had a space) are left out of the
    decoding, as if they were not there: an entity spans them when the tokens on both sides
    belong to it, never starts or ends on one, and their confidence is 1.
    """
    if skip is not None and skip.any():
        kept = np.flatnonzero(~skip)
        spans, kept_conf = decode(probs[kept], tags)
        token_conf = np.ones(len(probs), dtype=probs.dtype)
        token_conf[kept] = kept_conf
        return [(int(kept[s]), int(kept[e - 1]) + 1, label, conf) for s, e, label, conf in spans], token_conf
    path = viterbi(probs, tags)
    token_conf = probs[np.arange(len(path)), path] if len(path) else np.zeros(0)
    spans = iob_to_spans([tags[i] for i in path])
    return [(s, e, label, float(token_conf[s:e].min())) for s, e, label in spans], token_conf
