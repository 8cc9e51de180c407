"""Measure llm_fallback on the LeNER-Br test split.

Always: the share of test sentences the component would send to the LLM, at its configured
threshold and at a few others (the decision is the component's own `wants_llm`).
When an Ollama server with the configured model answers: entity P/R/F of trained-only
against trained+LLM. Sentences keep LeNER-Br's gold tokenisation and boundaries.
"""

from __future__ import annotations

import json
from pathlib import Path

import spacy
import typer
from spacy.tokens import Doc, DocBin
from spacy.training import Example

import pt_legal_ner  # noqa: F401
from pt_legal_ner.atomic import write_text_atomic
from pt_legal_ner.ollama_model import OllamaError

THRESHOLDS = (0.3, 0.5, 0.7, 0.9, 0.99)


def gold_examples(nlp, corpus: Path) -> list[Example]:
    examples = []
    for ref in DocBin().from_disk(corpus).get_docs(nlp.vocab):
        words = [t.text for t in ref]
        spaces = [bool(t.whitespace_) for t in ref]
        starts = [bool(t.is_sent_start) for t in ref]
        examples.append(Example(Doc(nlp.vocab, words=words, spaces=spaces, sent_starts=starts), ref))
    return examples


def sentence_shares(nlp, examples: list[Example]) -> tuple[int, dict[float, float]]:
    fallback = nlp.get_pipe("llm_fallback")
    docs = list(nlp.pipe((eg.predicted.copy() for eg in examples), disable=["llm_fallback"]))
    sentences = [sent for doc in docs for sent in doc.sents]
    shares = {}
    original = fallback.threshold
    try:
        for threshold in sorted({*THRESHOLDS, original}):
            fallback.threshold = threshold
            shares[threshold] = sum(fallback.wants_llm(s) for s in sentences) / len(sentences)
    finally:
        fallback.threshold = original
    return len(sentences), shares


def prf(scores: dict) -> dict:
    keep = ("ents_p", "ents_r", "ents_f", "ents_per_type")
    return {k: scores[k] for k in keep if k in scores}


def main(
    pipeline: Path = typer.Argument(..., exists=True, file_okay=False),
    corpus: Path = typer.Argument(..., exists=True, dir_okay=False),
    output_json: Path = typer.Argument(...),
    output_md: Path = typer.Argument(...),
) -> None:
    nlp = spacy.load(pipeline)
    fallback = nlp.get_pipe("llm_fallback")
    examples = gold_examples(nlp, corpus)
    n_sentences, shares = sentence_shares(nlp, examples)
    result: dict = {
        "pipeline": str(pipeline),
        "test_sentences": n_sentences,
        "threshold": fallback.threshold,
        "share_sent_to_llm": shares[fallback.threshold],
        "share_by_threshold": {str(k): v for k, v in shares.items()},
        "llm": {"model": fallback.model.name, "base_url": fallback.model.base_url},
    }
    try:
        fallback.model.check_model()
        reachable = True
    except OllamaError as err:
        reachable = False
        result["llm"]["skipped"] = f"no scoring against the LLM: {err}"
    if reachable:
        with nlp.select_pipes(disable=["llm_fallback"]):
            result["trained_only"] = prf(nlp.evaluate(examples))
        result["trained_plus_llm"] = prf(nlp.evaluate(examples))
    write_text_atomic(output_json, json.dumps(result, indent=2) + "\n")
    lines = [
        "# llm_fallback on the LeNER-Br test split",
        "",
        f"Sentences sent to the LLM at the default threshold {fallback.threshold}: "
        f"**{100 * result['share_sent_to_llm']:.1f}%** of {n_sentences}.",
        "",
        "| threshold | share of test sentences sent |",
        "|---|---|",
        *[f"| {k} | {100 * v:.1f}% |" for k, v in sorted(shares.items())],
        "",
    ]
    if reachable:
        lines += ["| pipeline | P | R | F |", "|---|---|---|---|"]
        for name in ("trained_only", "trained_plus_llm"):
            s = result[name]
            lines.append(f"| {name} | {100 * s['ents_p']:.2f} | {100 * s['ents_r']:.2f} | {100 * s['ents_f']:.2f} |")
    else:
        lines.append(f"LLM scoring skipped: {result['llm']['skipped']}")
    lines += ["", "Produced by `python -m spacy project run compare-llm`.", ""]
    write_text_atomic(output_md, "\n".join(lines))
    typer.echo(
        f"{100 * result['share_sent_to_llm']:.1f}% of {n_sentences} test sentences go to the LLM -> {output_json}"
    )


if __name__ == "__main__":
    typer.run(main)
