"""Which encoder matrices stay fp32: each variant's int8 graph scored on dev against the fp32 path.

    python -m scripts.evaluation.int8_variants training/pipeline_fp32 corpus/dev.spacy \
        --output metrics/int8_variants.json

For every variant (the MatMuls kept in fp32, the op types quantized) this builds the packaged
pipeline as `quantize-encoder` does, then reports the hidden-state drift, the entity F1 of the
int8 path's entities against the fp32 path's (fidelity: the choice) and against gold (dev F1,
noisier). Dev only: the test split is scored once, by `evaluate-cpu`, for the default chosen here.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import typer
from spacy.scorer import get_ner_prf
from spacy.tokens import DocBin
from spacy.training import Example

from pt_legal_ner.io.atomic import write_text_atomic
from scripts.evaluation.evaluate_cpu import load
from scripts.evaluation.metrics_report import pct, produced_lines
from scripts.packaging.quantize_encoder import FFN_MATMULS, QUANTIZED_OPS, build, drift
from scripts.provenance import run_facts

FFN_OUTPUT = r"layer\.\d+/output/dense"
VARIANTS = {
    "all int8": ("", QUANTIZED_OPS),
    "FFN output fp32": (FFN_OUTPUT, QUANTIZED_OPS),
    "FFN output + layer 11 fp32": (FFN_OUTPUT + r"|layer\.11/", QUANTIZED_OPS),
    "FFN output, embeddings fp32": (FFN_OUTPUT, ["MatMul", "Attention"]),
    "FFN output, fused attention fp32": (FFN_OUTPUT, ["MatMul"]),
    "FFN input + output fp32": (FFN_MATMULS, QUANTIZED_OPS),
}
DRIFT_TEXTS = 64


def main(
    pipeline: Path = typer.Argument(..., exists=True, file_okay=False, help="the assembled fp32 pipeline"),
    dev: Path = typer.Argument(..., exists=True, dir_okay=False),
    output: Path = typer.Option(..., help="JSON to write; the markdown table goes beside it (.md)"),
    config: Path = typer.Option(Path("configs/cpu_inference.cfg"), exists=True, dir_okay=False),
) -> None:
    start = time.time()
    rows: dict = {}
    with tempfile.TemporaryDirectory() as workdir:
        target = Path(workdir) / "variant"
        for name, (keep, ops) in VARIANTS.items():
            nlp = build(pipeline, target, config, keep, True, ops)
            if not rows:  # the fp32 path is the same in every variant
                fp32 = load(target, "fp32")
                refs = list(DocBin().from_disk(dev).get_docs(fp32.vocab))
                texts = [ref.text for ref in refs]
                fp32_docs = list(fp32.pipe(texts))
                baseline = get_ner_prf([Example(d, r) for d, r in zip(fp32_docs, refs, strict=True)])["ents_f"]
            rel, cos = drift(nlp, texts[:DRIFT_TEXTS])
            docs = list(load(target, "int8").pipe(texts))
            rows[name] = {
                "keep_fp32": keep,
                "op_types": ops,
                "drift": rel,
                "cosine": cos,
                "agreement_f": get_ner_prf([Example(d, f) for d, f in zip(docs, fp32_docs, strict=True)])["ents_f"],
                "dev_f": get_ner_prf([Example(d, r) for d, r in zip(docs, refs, strict=True)])["ents_f"],
            }
            typer.echo(f"{name}: {json.dumps(rows[name])}")
    facts = run_facts("scripts.evaluation.int8_variants", start)
    results = {"fp32_dev_f": baseline, "variants": rows, "limit": 0, **facts}
    write_text_atomic(output, json.dumps(results, indent=2) + "\n")
    lines = [
        "# Which matrices stay fp32: int8 variants of the encoder on dev",
        "",
        f"fp32 path dev F1: {pct(baseline)}. Agreement: entity F1 of the int8 path's entities against the fp32 "
        f"path's. Drift: relative L2 of the last hidden state on the first {DRIFT_TEXTS} dev texts.",
        "",
        "| variant | drift | agreement F | dev F | Δ dev F |",
        "|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        delta = 100 * (row["dev_f"] - baseline)
        scores = f"{pct(row['agreement_f'])} | {pct(row['dev_f'])} | {delta:+.2f}"
        lines.append(f"| {name} | {row['drift']:.3f} | {scores} |")
    lines += ["", *produced_lines(results)[:-1], "- documents: all of dev", ""]
    write_text_atomic(output.with_suffix(".md"), "\n".join(lines))


if __name__ == "__main__":
    typer.run(main)
