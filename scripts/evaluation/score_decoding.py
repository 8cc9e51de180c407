"""Score decoding and rule variants of a trained pipeline on a corpus (dev), predicting once.

Each variant is a JSON object: ``outside_weight`` (multiplies the O tag's probability before
Viterbi; >1 favours precision), ``min_confidence`` (drops entities below it) and
``legal_rules`` (that component's config; null = no rules). Used for metrics/experiments.md:

    python -m scripts.evaluation.score_decoding training/legal_ner_trf/model-best corpus/dev.spacy \\
        '{"legal_rules": null}' '{}' '{"outside_weight": 5}' '{"min_confidence": 0.3}'
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import spacy
import typer
from spacy.scorer import Scorer
from spacy.tokens import DocBin, Span
from spacy.training import Example

import pt_legal_ner  # noqa: F401  (registers the components)
from pt_legal_ner.components.iob import decode


def predict_probs(nlp: spacy.Language, texts: list[str], batch_size: int = 16) -> list[np.ndarray]:
    transformer, ner = nlp.get_pipe("transformer"), nlp.get_pipe("ner")
    probs: list[np.ndarray] = []
    for i in range(0, len(texts), batch_size):
        docs = list(transformer.pipe([nlp.make_doc(t) for t in texts[i : i + batch_size]]))
        probs += [ner.model.ops.to_numpy(p) for p in ner.predict(docs)]
    return probs


def score_variant(nlp: spacy.Language, gold: list, probs: list[np.ndarray], variant: dict) -> dict:
    tags = nlp.get_pipe("ner").tags
    weight = np.ones(len(tags), dtype="f")
    weight[tags.index("O")] = variant.get("outside_weight", 1.0)
    rules_cfg = variant.get("legal_rules", {})
    rules = None if rules_cfg is None else spacy.blank("pt").add_pipe("legal_rules", config=rules_cfg)
    min_confidence = variant.get("min_confidence", 0.0)
    examples = []
    for ref, p in zip(gold, probs, strict=True):
        doc = nlp.make_doc(ref.text)
        q = p * weight
        spans, _ = decode(q / q.sum(axis=1, keepdims=True), tags)
        doc.ents = [Span(doc, s, e, label=lab) for s, e, lab, c in spans if c >= min_confidence]
        examples.append(Example(rules(doc) if rules else doc, ref))
    return Scorer.score_spans(examples, "ents")


def main(model: Path, corpus: Path, variants: list[str]) -> None:
    nlp = spacy.load(model)
    gold = list(DocBin().from_disk(corpus).get_docs(nlp.vocab))
    probs = predict_probs(nlp, [d.text for d in gold])
    for raw in variants:
        s = score_variant(nlp, gold, probs, json.loads(raw))
        per_label = " ".join(f"{k} {100 * v['f']:.2f}" for k, v in sorted(s["ents_per_type"].items()))
        prf = f"F {100 * s['ents_f']:.2f} P {100 * s['ents_p']:.2f} R {100 * s['ents_r']:.2f}"
        typer.echo(f"{raw}: {prf} | {per_label}")


if __name__ == "__main__":
    typer.run(main)
