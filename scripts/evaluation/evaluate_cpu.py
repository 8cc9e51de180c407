"""Score the packaged pipeline's CPU paths side by side on test and dev: the int8 encoder, the fp32
torch model and its bf16 products, each as the packaged config runs it (batch-invariant), all of
the same pipeline (llm_fallback excluded, as in `evaluate`). `precision = "auto"` picks one of them
per CPU (``AUTO_PATHS``); the JSON says which on which CPU, for the model card.

The int8 path is scored with ``needs = []``, so it runs on whatever CPU this is: its integer
arithmetic does not depend on the CPU (the graph's 7-bit weights never saturate). bf16 runs
anywhere too (emulated where the CPU lacks it, with the same rounding of inputs and weights).
Each path also scores the test texts wrapped into lines of 90 columns (``wrapped_text.wrap``: a
space turned into a line break, as a PDF's text layer or OCR lays a paragraph out; the same
offsets) against the same texts unwrapped, both with the reference on the pipeline's tokens
(``wrapped_text``'s docstring says why). Writes a JSON (the package step's model card reads
every path's scores from it, and the path ``auto`` picks on this CPU) and a markdown table per
label.
"""

import json
import time
from pathlib import Path

import typer

from pt_legal_ner.components.encoder_runtime import AUTO_PATHS, auto_precision, cpu_flags
from pt_legal_ner.io.atomic import write_text_atomic
from scripts.evaluation.metrics_report import pct, produced_lines
from scripts.evaluation.wrapped_text import WIDTH, wrapped_examples
from scripts.provenance import run_facts

# the transformer model's config override of each path (``auto`` picks one of them per CPU)
PATHS = {path: {"cpu_encoder": {"precision": path, "needs": []}} for path in ("bf16", "int8", "fp32")}
REFERENCE = "fp32"
SCORE_KEYS = ("ents_p", "ents_r", "ents_f", "ents_per_type", "speed")


def load(pipeline: Path, path: str):
    import spacy

    import pt_legal_ner  # noqa: F401

    override = {"components": {"transformer": {"model": PATHS[path]}}}
    return spacy.load(pipeline, exclude=["llm_fallback"], config=override)


# what each result scores: the split's file as it is, or its texts on the pipeline's tokens,
# unwrapped (width None) or wrapped at WIDTH columns
SCORED = {"test": (False, None), "dev": (False, None), "test_unwrapped": (True, None), "test_wrapped": (True, WIDTH)}


def score(nlp, corpus: Path, limit: int, retokenized: bool = False, width: int | None = None) -> dict:
    from spacy.training import Corpus

    examples = list(Corpus(corpus, limit=limit)(nlp))
    scores = nlp.evaluate(wrapped_examples(nlp, examples, width) if retokenized else examples)
    return {key: scores[key] for key in SCORE_KEYS}


def report(results: dict) -> str:
    paths = [path for path in results["test"] if path != REFERENCE]
    lines = [
        "# CPU inference paths against fp32 torch, same pipeline",
        "",
        'The packaged default (`precision = "auto"`) runs '
        + "; ".join(f"{path} on {cpus}" for path, cpus in results["auto"].items())
        + ".",
        "",
        "Entity P/R/F1 of `evaluate-cpu`; each path's F1 with Δ = path − fp32, in F1 points.",
        "",
    ]
    for split in ("test", "dev"):
        ref = results[split][REFERENCE]
        header = "| label | fp32 P | fp32 R | fp32 F | " + " | ".join(f"{p} F (Δ)" for p in paths) + " |"
        lines += [f"## {split}", "", header]
        lines.append("|---|---|---|---|" + "---|" * len(paths))
        labels = sorted(ref["ents_per_type"])
        everyone = [REFERENCE, *paths]
        rows = [(label, {p: results[split][p]["ents_per_type"][label] for p in everyone}) for label in labels]
        micro = {p: {k: results[split][p][f"ents_{k}"] for k in "prf"} for p in everyone}
        for label, by_path in [*rows, ("**micro avg**", micro)]:
            b = by_path[REFERENCE]
            cells = [f"{pct(by_path[p]['f'])} ({100 * (by_path[p]['f'] - b['f']):+.2f})" for p in paths]
            lines.append(f"| {label} | {pct(b['p'])} | {pct(b['r'])} | {pct(b['f'])} | " + " | ".join(cells) + " |")
        lines.append("")
    everyone = [REFERENCE, *paths]
    lines += [
        f"## test, wrapped at {WIDTH} columns",
        "",
        "The test texts with a space turned into a line break wherever a line would pass"
        f" {WIDTH} characters (same offsets), against the same texts unwrapped; both with the reference"
        " on the pipeline's tokens (spaCy's scorer counts an entity cut inside a CoNLL token as found"
        " when the reference has the CoNLL tokens, as in the tables above). Entity micro F1;"
        " Δ = wrapped − unwrapped.",
        "",
        "| path | unwrapped F | wrapped F (Δ) |",
        "|---|---|---|",
    ]
    for path in everyone:
        flat, wrapped = results["test_unwrapped"][path]["ents_f"], results["test_wrapped"][path]["ents_f"]
        lines.append(f"| {path} | {pct(flat)} | {pct(wrapped)} ({100 * (wrapped - flat):+.2f}) |")
    lines += [
        "",
        *produced_lines(results),
        "- every path as packaged (batch-invariant); int8 ran with `needs = []` (on any CPU), bf16 wherever"
        " this is (emulated without avx512_bf16/amx_bf16: the same bf16 rounding of inputs and weights, sums"
        " perhaps in another order); words/s here is not any path's speed: `benchmark` measures speed.",
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
    here = auto_precision(cpu_flags())[0]
    results: dict = {"auto": AUTO_PATHS, "here": here, "paths": PATHS} | {name: {} for name in SCORED}
    for path in PATHS:
        nlp = load(pipeline, path)
        for split, (retokenized, width) in SCORED.items():
            corpus = dev if split == "dev" else test
            results[split][path] = score(nlp, corpus, limit, retokenized, width)
            typer.echo(f"{path} {split}: ents_f {100 * results[split][path]['ents_f']:.2f}")
    results |= {
        "limit": limit,
        **run_facts("scripts.evaluation.evaluate_cpu", start),
    }
    write_text_atomic(output_json, json.dumps(results, indent=2) + "\n")
    write_text_atomic(output_md, report(results))
    for path in PATHS:
        delta = 100 * (results["test_wrapped"][path]["ents_f"] - results["test_unwrapped"][path]["ents_f"])
        typer.echo(f"test: {path} wrapped at {WIDTH} − unwrapped = {delta:+.2f} F1")
    for split in ("test", "dev"):
        for path in [p for p in PATHS if p != REFERENCE]:
            delta = 100 * (results[split][path]["ents_f"] - results[split][REFERENCE]["ents_f"])
            typer.echo(f"{split}: {path} − fp32 = {delta:+.2f} F1")


if __name__ == "__main__":
    typer.run(main)
