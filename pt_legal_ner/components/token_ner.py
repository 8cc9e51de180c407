"""A transformer NER component that tags tokens with IOB2 and decodes valid entity spans.

Unlike spaCy's transition-based ``ner``, a per-token softmax gives every decision a
probability, so each entity carries a confidence (``span._.confidence``) and the
``llm_fallback`` component can find the sentences the model is unsure about.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice

import numpy as np
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, Span
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, SequenceCategoricalCrossentropy
from thinc.types import Floats2d

from pt_legal_ner.components.extensions import SOURCE_MODEL, register_extensions
from pt_legal_ner.components.iob import OUTSIDE, decode, split_tag, tag_names
from pt_legal_ner.components.soft_tags import mixed_loss, soft_targets

register_extensions()

BILUO_TO_IOB = {"B": "B", "I": "I", "L": "I", "U": "B"}

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy.Tagger.v2"
nO = null
normalize = true

[model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0
upstream = "*"

# a mean over each token's pieces: a token with no piece (whitespace) gets zeros, not an error
[model.tok2vec.pooling]
@layers = "reduce_mean.v1"
"""


@Language.factory(
    "legal_ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type", "span._.source", "span._.confidence"],
    default_config={
        "model": Config().from_str(DEFAULT_MODEL_CONFIG)["model"],
        "label_smoothing": 0.0,
        "label_weights": {},
        "soft_weight": 0.5,
        "scorer": {"@scorers": "spacy.ner_scorer.v1"},
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_legal_ner(
    nlp: Language,
    name: str,
    model: Model,
    label_smoothing: float,
    label_weights: dict[str, float],
    soft_weight: float,
    scorer: Callable | None,
) -> TaggingNER:
    return TaggingNER(
        nlp.vocab,
        model,
        name,
        label_smoothing=label_smoothing,
        label_weights=label_weights,
        soft_weight=soft_weight,
        scorer=scorer,
    )


def gold_tags(example: Example) -> list[str | None]:
    """The reference entities as IOB2 tags on the predicted tokens (None where unknown, and on
    whitespace tokens: they have no word piece, so no vector to learn from, and decoding skips them)."""
    tags: list[str | None] = []
    for token, biluo in zip(example.predicted, example.get_aligned_ner(), strict=True):
        if biluo in (None, "", "-") or token.is_space:
            tags.append(None)
        elif biluo == OUTSIDE:
            tags.append(OUTSIDE)
        else:
            prefix, label = biluo.split("-", 1)
            tags.append(f"{BILUO_TO_IOB[prefix]}-{label}")
    return tags


class TaggingNER(TrainablePipe):
    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "ner",
        *,
        label_smoothing: float = 0.0,
        label_weights: dict[str, float] | None = None,
        soft_weight: float = 0.5,
        scorer: Callable | None = get_ner_prf,
    ) -> None:
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        # a label's tag probabilities times its weight before decoding: a weight above 1 lowers
        # that label's decision threshold (recall first, as pseudonymization wants for PESSOA)
        self.label_weights = label_weights or {}
        if not 0.0 <= soft_weight <= 1.0:
            raise ValueError(f"{name}: soft_weight must be within [0, 1], got {soft_weight}")
        # training only: the share of the teachers' soft tags in the target where a doc has them
        # (pt_legal_ner/components/soft_tags.py); docs without soft tags train on gold alone
        self.soft_weight = soft_weight
        self.cfg: dict = {"labels": [], "label_smoothing": label_smoothing}

    @property
    def label_weights(self) -> dict[str, float]:
        return self._label_weights

    @label_weights.setter
    def label_weights(self, weights: dict[str, float]) -> None:
        for label, weight in weights.items():
            if weight <= 0:
                raise ValueError(f"{self.name}: label_weights[{label!r}] must be > 0, got {weight}")
        self._label_weights = dict(weights)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.cfg["labels"])

    @property
    def label_data(self) -> list[str]:
        return list(self.labels)

    @property
    def tags(self) -> list[str]:
        return tag_names(self.labels)

    def add_label(self, label: str) -> int:
        if not isinstance(label, str):
            raise ValueError(f"{self.name}: labels must be strings, got {label!r}")
        if label in self.labels:
            return 0
        self._allow_extra_label()
        self.cfg["labels"].append(label)
        self.vocab.strings.add(label)
        return 1

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *, nlp=None, labels=None) -> None:
        validate_get_examples(get_examples, "TaggingNER.initialize")
        found = (
            labels if labels is not None else sorted({ent.label_ for eg in get_examples() for ent in eg.reference.ents})
        )
        for label in found:
            self.add_label(label)
        self._require_labels()
        tags = self.tags
        docs, truths = [], []
        for eg in islice(get_examples(), 10):
            docs.append(eg.predicted)
            one_hot = np.zeros((len(eg.predicted), len(tags)), dtype="f")
            for i, tag in enumerate(gold_tags(eg)):
                one_hot[i, tags.index(tag) if tag in tags else 0] = 1.0
            truths.append(self.model.ops.asarray(one_hot))
        self.model.initialize(X=docs, Y=truths)

    def predict(self, docs: Iterable[Doc]) -> list[Floats2d]:
        docs = list(docs)
        if not any(len(doc) for doc in docs):
            n_tags = len(self.tags)
            return [self.model.ops.alloc2f(len(doc), n_tags) for doc in docs]
        return self.model.predict(docs)

    def set_annotations(self, docs: Iterable[Doc], scores: list[Floats2d]) -> None:
        tags = self.tags
        weights = self._tag_weights(tags)
        for doc, doc_scores in zip(docs, scores, strict=True):
            probs = self.model.ops.to_numpy(doc_scores)
            if weights is not None and len(probs):
                probs = probs * weights
                probs /= probs.sum(axis=1, keepdims=True)
            # Viterbi over the whole doc: a rule-based sentence splitter would cut
            # "art. 5º da Lei" in two, so sentence boundaries are not imposed here. Whitespace
            # tokens (a PDF's or OCR's line breaks) are skipped: entities do not depend on where lines wrap
            spaces = np.fromiter((token.is_space for token in doc), dtype=bool, count=len(doc))
            spans, token_conf = decode(probs, tags, spaces)
            ents = [(Span(doc, start, end, label=label), conf) for start, end, label, conf in spans]
            doc.ents = [ent for ent, _ in ents]
            for ent, confidence in ents:
                ent._.source = SOURCE_MODEL
                ent._.confidence = confidence
            doc._.token_confidence = token_conf.tolist()

    def _tag_weights(self, tags: list[str]) -> np.ndarray | None:
        """Per-tag weights from ``label_weights``, or None when every weight is 1."""
        unknown = set(self.label_weights) - set(self.labels)
        if unknown:
            known = ", ".join(self.labels)
            raise ValueError(f"{self.name}: label_weights names unknown labels {sorted(unknown)} (labels: {known})")
        if all(w == 1.0 for w in self.label_weights.values()):
            return None
        return np.array([self.label_weights.get(split_tag(tag)[1], 1.0) for tag in tags], dtype="f")

    def get_loss(self, examples: Iterable[Example], scores: list[Floats2d]) -> tuple[float, list[Floats2d]]:
        validate_examples(examples, "TaggingNER.get_loss")
        examples = list(examples)
        tags = self.tags
        softs = [soft_targets(eg, tags) for eg in examples]
        if all(soft is None for soft in softs):
            loss_func = SequenceCategoricalCrossentropy(
                names=tags, normalize=False, label_smoothing=self.cfg["label_smoothing"]
            )
            d_scores, loss = loss_func(scores, [gold_tags(eg) for eg in examples])
        else:
            loss, d_scores = self._distill_loss(examples, scores, softs)
        if self.model.ops.xp.isnan(loss):
            raise ValueError(f"{self.name}: the loss is NaN; lower the learning rate")
        return float(loss), d_scores

    def _distill_loss(
        self, examples: list[Example], scores: list[Floats2d], softs: list[np.ndarray | None]
    ) -> tuple[float, list[Floats2d]]:
        tags = self.tags
        index = {tag: i for i, tag in enumerate(tags)}
        smoothing = self.cfg["label_smoothing"]
        total, grads = 0.0, []
        for eg, doc_scores, soft in zip(examples, scores, softs, strict=True):
            probs = self.model.ops.to_numpy(doc_scores)
            gold = np.full((len(probs), len(tags)), smoothing / (len(tags) - 1), dtype="f")
            known = np.zeros(len(probs), dtype=bool)
            for i, tag in enumerate(gold_tags(eg)):
                if tag in index:
                    gold[i, index[tag]] = 1.0 - smoothing
                    known[i] = True
            loss, d_logits = mixed_loss(probs, gold, known, soft, self.soft_weight)
            total += loss
            grads.append(self.model.ops.asarray(d_logits))
        return total, grads
