"""Measure llm_fallback on the LeNER-Br test split.

Always: the share of test sentences the component would send to the LLM, at its configured
threshold and at a few others (the decision is the task's own `wants_llm`).
When the configured model answers (either model, or any spacy-llm model by `--model`): entity
P/R/F of trained-only against trained+LLM on the same docs, and what the LLM did (prompts sent,
answered, failed by cause). Sentences keep LeNER-Br's gold tokenisation and boundaries; the
trained components run once, the LLM runs on copies of their docs.
"""

import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import spacy
import typer
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, DocBin
from spacy.training import Example

import pt_legal_ner  # noqa: F401
from pt_legal_ner.io.atomic import write_text_atomic
from pt_legal_ner.llm.chat import LLMError
from scripts.provenance import git_commit, hardware

THRESHOLDS = (0.3, 0.5, 0.7, 0.9, 0.99)
MODELS = {"ollama": "pt_legal_ner.Ollama.v1", "openai": "pt_legal_ner.OpenAICompatible.v1"}


def gold_examples(nlp, corpus: Path, limit: int) -> list[Example]:
    examples = []
    for ref in DocBin().from_disk(corpus).get_docs(nlp.vocab):
        words = [t.text for t in ref]
        spaces = [bool(t.whitespace_) for t in ref]
        starts = [bool(t.is_sent_start) for t in ref]
        examples.append(Example(Doc(nlp.vocab, words=words, spaces=spaces, sent_starts=starts), ref))
    return examples[:limit] if limit else examples


def sentence_shares(task, docs: list[Doc]) -> tuple[int, dict[float, float]]:
    sentences = [sent for doc in docs for sent in doc.sents]
    shares = {}
    original = task.threshold
    try:
        for threshold in sorted({*THRESHOLDS, original}):
            task.threshold = threshold
            shares[threshold] = sum(task.wants_llm(s) for s in sentences) / len(sentences)
    finally:
        task.threshold = original
    return len(sentences), shares


def prf(examples: list[Example], docs: list[Doc]) -> dict:
    return get_ner_prf([Example(doc, eg.reference) for eg, doc in zip(examples, docs, strict=True)])


def probe(model) -> str | None:
    """Why the model cannot be scored, or None. Models without a check are tried as they are."""
    check = getattr(model, "check_model", None)
    if check is None:
        return None
    try:
        check()
    except LLMError as err:
        return str(err)
    return None


def run_llm(fallback, trained: list[Doc], batch_size: int) -> tuple[list[Doc], dict, float]:
    start, docs, stats = time.monotonic(), [], Counter()
    errors: Counter = Counter()
    for doc in fallback.pipe((d.copy() for d in trained), batch_size=batch_size):
        docs.append(doc)
        counts = doc._.llm_fallback
        stats.update({k: counts[k] for k in ("sent", "answered", "cached", "failed", "spans_added")})
        errors.update(counts["errors"])
        if len(docs) % batch_size == 0 or len(docs) == len(trained):
            typer.echo(
                f"  LLM: {len(docs)}/{len(trained)} docs, {stats['sent']} prompts, {time.monotonic() - start:.0f} s"
            )
    return docs, dict(stats) | {"errors": dict(errors)}, time.monotonic() - start


def model_overrides(api: str | None, name: str | None, base_url: str | None, timeout: float | None) -> dict:
    """Config overrides of components.llm_fallback.model; None or "" (project.yml's unset vars) keeps the pipeline's."""
    model = {"@llm_models": MODELS[api]} if api else {}
    model |= {k: v for k, v in [("name", name), ("base_url", base_url), ("timeout", timeout)] if v not in (None, "")}
    return {"components": {"llm_fallback": {"model": model}}} if model else {}


def main(
    pipeline: Path = typer.Argument(..., exists=True, file_okay=False),
    corpus: Path = typer.Argument(..., exists=True, dir_okay=False),
    output_json: Path = typer.Argument(...),
    output_md: Path = typer.Argument(...),
    api: str | None = typer.Option(None, help=f"swap the model: {', '.join(MODELS)} (default: the pipeline's)"),
    name: str | None = typer.Option(None, help="components.llm_fallback.model.name"),
    base_url: str | None = typer.Option(None, help="components.llm_fallback.model.base_url"),
    timeout: float | None = typer.Option(None, help="components.llm_fallback.model.timeout (seconds)"),
    limit: int = typer.Option(0, help="only the first N test docs (0: all); the share is of those docs"),
    batch_size: int = typer.Option(8, help="docs per nlp.pipe batch of the LLM run"),
) -> None:
    if api and api not in MODELS:
        raise typer.BadParameter(f"--api must be one of {', '.join(MODELS)}, got {api!r}")
    nlp = spacy.load(pipeline, config=model_overrides(api, name, base_url, timeout))
    fallback = nlp.get_pipe("llm_fallback")
    task, model = fallback.task, fallback._model  # spacy-llm keeps the model private
    model_config = {k: v for k, v in nlp.config["components"]["llm_fallback"]["model"].items() if k != "cache"}
    examples = gold_examples(nlp, corpus, limit)
    trained = list(nlp.pipe((eg.predicted.copy() for eg in examples), disable=["llm_fallback"]))
    n_sentences, shares = sentence_shares(task, trained)
    result: dict = {
        "pipeline": str(pipeline),
        "test_docs": len(examples),
        "test_sentences": n_sentences,
        "threshold": task.threshold,
        "share_sent_to_llm": shares[task.threshold],
        "share_by_threshold": {str(k): v for k, v in shares.items()},
        "llm": {"model": model_config},
        "command": " ".join(["python", "-m", "scripts.evaluation.compare_llm", *sys.argv[1:]]),
        "commit": git_commit(),
        "hardware": hardware(-1),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    reason = probe(model)
    if reason is not None:
        result["llm"]["skipped"] = f"no scoring against the LLM: {reason}"
    else:
        result["trained_only"] = prf(examples, trained)
        with_llm, stats, seconds = run_llm(fallback, trained, batch_size)
        result["trained_plus_llm"] = prf(examples, with_llm)
        result["llm"] |= {"stats": stats, "seconds": round(seconds, 1)}
    write_text_atomic(output_json, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(output_md, report(result))
    typer.echo(
        f"{100 * result['share_sent_to_llm']:.1f}% of {n_sentences} test sentences go to the LLM -> {output_json}"
    )


def report(result: dict) -> str:
    shares = result["share_by_threshold"]
    model = result["llm"]["model"]
    lines = [
        "# llm_fallback on the LeNER-Br test split",
        "",
        f"Sentences sent to the LLM at the default threshold {result['threshold']}: "
        f"**{100 * result['share_sent_to_llm']:.1f}%** of {result['test_sentences']} "
        f"({result['test_docs']} test docs).",
        "",
        "| threshold | share of test sentences sent |",
        "|---|---|",
        *[f"| {k} | {100 * v:.1f}% |" for k, v in sorted(shares.items(), key=lambda kv: float(kv[0]))],
        "",
        f"Model: `{json.dumps(model, ensure_ascii=False)}`.",
        "",
    ]
    if "trained_plus_llm" in result:
        lines += ["| pipeline | P | R | F |", "|---|---|---|---|"]
        for name in ("trained_only", "trained_plus_llm"):
            s = result[name]
            lines.append(f"| {name} | {100 * s['ents_p']:.2f} | {100 * s['ents_r']:.2f} | {100 * s['ents_f']:.2f} |")
        stats = result["llm"]["stats"]
        lines += [
            "",
            f"The LLM got {stats['sent']} prompts in {result['llm']['seconds']:.0f} s: {stats['answered']} answered "
            f"({stats['cached']} from the answer cache), {stats['failed']} failed {stats['errors']}, "
            f"{stats['spans_added']} entities added.",
        ]
    else:
        lines.append(f"LLM scoring skipped: {result['llm']['skipped']}")
    lines += [
        "",
        f"Produced by `{result.get('command', 'python -m spacy project run compare-llm')}` at commit "
        f"{result['commit']} on {result['hardware']}, {result['date']}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    typer.run(main)
