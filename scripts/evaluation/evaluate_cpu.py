"""Score the packaged pipeline's CPU paths side by side on test and dev: the default int8 encoder
and the fp32 torch model of the same pipeline (llm_fallback excluded, as in `evaluate`).

The int8 path is scored with ``needs = []``, so it runs on whatever CPU this is: its integer
arithmetic does not depend on the CPU (the graph's 7-bit weights never saturate). Writes a JSON
(the package step reads the default path's test scores from it) and a markdown table per label.
"""

import json
import time
from pathlib import Path

import typer

from pt_legal_ner.io.atomic import write_text_atomic
from scripts.evaluation.metrics_report import pct, produced_lines
from scripts.provenance import run_facts

# the config override of each path; int8 is the packaged default
PATHS = {"int8": {"precision": "int8", "needs": []}, "fp32": {"precision": "fp32"}}
DEFAULT_PATH = "int8"
SCORE_KEYS = ("ents_p", "ents_r", "ents_f", "ents_per_type", "speed")


def load(pipeline: Path, path: str):
    import spacy

    import pt_legal_ner  # noqa: F401

    override = {"components": {"transformer": {"model": {"cpu_encoder": PATHS[path]}}}}
    return spacy.load(pipeline, exclude=["llm_fallback"], config=override)


def score(nlp, corpus: Path, limit: int) -> dict:
    from spacy.training import Corpus

    scores = nlp.evaluate(list(Corpus(corpus, limit=limit)(nlp)))
    return {key: scores[key] for key in SCORE_KEYS}


def report(results: dict) -> str:
    lines = [
        "# CPU inference paths: int8 (the packaged default) against fp32 torch, same pipeline",
        "",
        "Entity P/R/F1 of `evaluate-cpu`; Δ = int8 − fp32, in F1 points.",
        "",
    ]
    for split in ("test", "dev"):
        int8, fp32 = results[split]["int8"], results[split]["fp32"]
        lines += [f"## {split}", "", "| label | int8 P | int8 R | int8 F | fp32 P | fp32 R | fp32 F | Δ F |"]
        lines.append("|---|---|---|---|---|---|---|---|")
        labels = sorted(fp32["ents_per_type"])
        rows = [(label, int8["ents_per_type"][label], fp32["ents_per_type"][label]) for label in labels]
        rows.append(("**micro avg**", {k: int8[f"ents_{k}"] for k in "prf"}, {k: fp32[f"ents_{k}"] for k in "prf"}))
        for label, a, b in rows:
            delta = 100 * (a["f"] - b["f"])
            lines.append(
                f"| {label} | {pct(a['p'])} | {pct(a['r'])} | {pct(a['f'])} | {pct(b['p'])} | {pct(b['r'])} "
                f"| {pct(b['f'])} | {delta:+.2f} |"
            )
        lines.append("")
    lines += [
        *produced_lines(results),
        "- the int8 path ran with `needs = []` (on any CPU); its words/s here is not the fast path's speed on a "
        "CPU with VNNI: `benchmark` measures speed.",
        "",
    ]
    return "\n".join(lines)


def main(
    pipeline: Path = typer.Argument(..., exists=True, file_okay=False),
    test: Path = typer.Argument(..., exists=True, dir_okay=False),
    dev: Path = typer.Argument(..., exists=True, dir_okay=False),
    output_json: Path = typer.Argument(...),
    output_md: Path = typer.Argument(...),
    limit: int = typer.Option(0, help="score the first N docs of each corpus (0 = all; smoke runs)"),
) -> None:
    start = time.time()
    results: dict = {"default": DEFAULT_PATH, "paths": PATHS, "test": {}, "dev": {}}
    for path in PATHS:
        nlp = load(pipeline, path)
        for split, corpus in (("test", test), ("dev", dev)):
            results[split][path] = score(nlp, corpus, limit)
            typer.echo(f"{path} {split}: ents_f {100 * results[split][path]['ents_f']:.2f}")
    results |= {
        "limit": limit,
        **run_facts("scripts.evaluation.evaluate_cpu", start),
    }
    write_text_atomic(output_json, json.dumps(results, indent=2) + "\n")
    write_text_atomic(output_md, report(results))
    for split in ("test", "dev"):
        delta = 100 * (results[split]["int8"]["ents_f"] - results[split]["fp32"]["ents_f"])
        typer.echo(f"{split}: int8 − fp32 = {delta:+.2f} F1")


if __name__ == "__main__":
    typer.run(main)
