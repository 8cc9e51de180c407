"""Teachers' tag distributions carried on training docs, and the loss that learns from them.

Distillation (issue 15): K teacher models tag the training split; their averaged per-token
IOB2 probabilities ride along in each reference doc's ``user_data`` (a DocBin keeps it), and
the ``legal_ner`` component's loss mixes them with the gold tags. A doc with no gold
entities annotated (unlabeled text) learns from the teachers alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from spacy.tokens import Doc
from spacy.training import Example

KEY = "pt_legal_ner.components.soft_tags"


def set_soft_tags(doc: Doc, tags: Sequence[str], probs: np.ndarray, tokens: Doc | None = None) -> None:
    """Attach ``probs`` (tokens × tags, rows summing to 1) to ``doc``.

    The rows are for the tokens of ``tokens`` (default: ``doc``'s own): for a gold doc, pass
    the tokenization the corpus reader makes of its text, which is what the student sees.
    """
    tokens = doc if tokens is None else tokens
    probs = np.asarray(probs, dtype="float32")
    if probs.shape != (len(tokens), len(tags)):
        raise ValueError(f"soft tags of shape {probs.shape} for {len(tokens)} tokens and {len(tags)} tags")
    doc.user_data[KEY] = {
        "tags": list(tags),
        # token offsets: the student's doc must be tokenized exactly as the teachers' was
        "starts": [token.idx for token in tokens],
        "probs": probs.astype("float16").tobytes(),
    }


def get_soft_tags(doc: Doc) -> tuple[list[str], list[int], np.ndarray] | None:
    """(tags, token starts, probs) stored by ``set_soft_tags``, or None."""
    stored = doc.user_data.get(KEY)
    if stored is None:
        return None
    n_tags = len(stored["tags"])
    probs = np.frombuffer(stored["probs"], dtype="float16").astype("float32").reshape(-1, n_tags)
    return list(stored["tags"]), list(stored["starts"]), probs


def soft_targets(example: Example, tags: Sequence[str]) -> np.ndarray | None:
    """The teachers' distribution over ``tags`` for each predicted token, or None if the doc has none.

    Raises when the stored tag set or tokenization differs from the student's: silently
    learning from misaligned rows would teach the wrong tags.
    """
    found = get_soft_tags(example.reference)
    if found is None:
        return None
    stored_tags, starts, probs = found
    if set(stored_tags) != set(tags):
        raise ValueError(
            f"soft tags were made for the tags {stored_tags}, but the component has {list(tags)}: "
            "make them again with teachers of the same labels"
        )
    predicted_starts = [token.idx for token in example.predicted]
    if predicted_starts != starts:
        raise ValueError(
            f"soft tags of the doc starting {example.reference.text[:60]!r} were made for another "
            f"tokenization ({len(starts)} tokens, the student has {len(predicted_starts)}): "
            "make them with the student's tokenizer"
        )
    order = [stored_tags.index(tag) for tag in tags]
    return probs[:, order]


def mixed_loss(
    probs: np.ndarray, gold: np.ndarray | None, known: np.ndarray, soft: np.ndarray | None, soft_weight: float
) -> tuple[float, np.ndarray]:
    """Gradient on the logits of the cross-entropy of softmax ``probs`` against (1 − w)·gold + w·soft.

    ``gold`` is one-hot (tokens × tags) and ``known`` marks the tokens whose gold tag is known.
    Where the gold tag is unknown, the target is the soft one alone, and a token with neither
    adds nothing. Summed over tokens (normalize=False). The loss returned is what thinc's
    tagger loss reports, the sum of squared gradients, so logged losses stay comparable.
    """
    if soft is None:
        target, mask = gold, known
    elif gold is None:
        target, mask = soft, np.ones(len(probs), dtype=bool)
    else:
        weight = np.where(known, soft_weight, 1.0)[:, None]
        target = (1.0 - weight) * gold + weight * soft
        mask = np.ones(len(probs), dtype=bool)
    target = target * mask[:, None]
    d_logits = (probs - target) * mask[:, None]
    return float((d_logits**2).sum()), d_logits.astype("float32")
