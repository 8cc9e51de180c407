"""The packaged pipeline's model card: fields for meta.json, and the markdown that `spacy
package` appends to the README it generates (meta "notes", from configs/model_card.md.jinja)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

from scripts.evaluation.metrics_report import score_table

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TEMPLATE = CONFIGS / "model_card.md.jinja"
LABEL_DEFINITIONS = CONFIGS / "llm" / "labels_pt.json"
# the plot's file name inside the packaged pipeline folder, beside README.md
PLOT_NAME = "model_card.png"
DATA = (
    "7,827 training sentences (229,277 tokens, 8,894 entities); 1,176 dev sentences chose the model; "
    "1,389 test sentences (1,536 entities) gave the scores. The texts are decisions of Brazilian courts "
    "(STF, STJ, TCU, state courts) and laws."
)
LIMITS = [
    "Trained on court decisions and laws only (LeNER-Br): petitions, contracts and other document types are untested.",
    "LOCAL has only 47 test entities, so its F1 moves by about 5 points between training runs; "
    '"Distrito Federal" and "Estado de ..." are LOCAL or ORGANIZACAO by context, as in the annotations.',
    "Boundaries follow LeNER-Br's conventions: titles stay outside PESSOA ('Ministro Benjamin Zymler' -> "
    "'Benjamin Zymler'), 'Brasília ( DF )' is one LOCAL, an article cited with its law is one LEGISLACAO.",
    "The encoder reads windows of 256 word pieces (stride 192); `annotate` cuts documents into pieces of at most "
    "10,000 characters at line breaks, so an entity across a cut would be split.",
]


def weakest_labels(scores: dict, n: int = 2) -> str:
    worst = sorted(scores["ents_per_type"].items(), key=lambda item: item[1]["f"])[:n]
    return ", ".join(f"{label} (F1 {100 * prf['f']:.1f})" for label, prf in worst)


def llm_limit(llm_metrics: dict) -> str:
    share = (
        f"at threshold {llm_metrics['threshold']} it asks about "
        f"{100 * llm_metrics['share_sent_to_llm']:.1f}% of test sentences"
    )
    if "skipped" in llm_metrics["llm"]:
        return (
            f"`llm_fallback` ({share}) was not scored against a real LLM when this package was built "
            f"({llm_metrics['llm']['skipped']}): its effect on F1 is unmeasured, and zero-shot `extra_labels` "
            "are only as good as the LLM."
        )
    with_llm = llm_metrics["trained_plus_llm"]["ents_f"]
    model = llm_metrics["llm"]["model"]  # compare-llm's model config block
    return (
        f"`llm_fallback` ({share}) with {model.get('name', model['@llm_models'])} ({model['@llm_models']}): "
        f"test F1 {100 * with_llm:.2f} against "
        f"{100 * llm_metrics['trained_only']['ents_f']:.2f} without it."
    )


def cpu_path_rows(cpu_paths: dict) -> list[dict[str, Any]]:
    """What `precision = "auto"` runs on each kind of CPU, with its F1 against the fp32 model's."""
    rows = []
    for path, cpus in cpu_paths["auto"].items():
        row: dict[str, Any] = {"cpus": cpus, "path": path}
        for split in ("test", "dev"):
            f, ref = cpu_paths[split][path]["ents_f"], cpu_paths[split]["fp32"]["ents_f"]
            row |= {f"{split}_f1": round(100 * f, 2), f"{split}_delta": round(100 * (f - ref), 2)}
        # the same test texts with their lines wrapped at 90 columns, against the unwrapped texts
        # (both scored with the reference on the pipeline's tokens: evaluate_cpu.py)
        wrapped, flat = cpu_paths["test_wrapped"][path]["ents_f"], cpu_paths["test_unwrapped"][path]["ents_f"]
        row |= {"wrapped_f1": round(100 * wrapped, 2), "wrapped_delta": round(100 * (wrapped - flat), 2)}
        rows.append(row)
    return rows


def cpu_path_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| CPU | encoder runs in | test F1 (Δ fp32) | dev F1 (Δ fp32) | test F1, lines wrapped (Δ unwrapped) |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['cpus']} | {row['path']} | {row['test_f1']:.2f} ({row['test_delta']:+.2f}) "
            f"| {row['dev_f1']:.2f} ({row['dev_delta']:+.2f}) | {row['wrapped_f1']:.2f} ({row['wrapped_delta']:+.2f}) |"
        )
    return "\n".join(lines)


def card_fields(scores: dict, run: dict, llm_metrics: dict, encoder: str, cpu_paths: dict) -> dict[str, Any]:
    """What meta.json says about the model besides spaCy's own fields."""
    return {
        "label_definitions": json.loads(LABEL_DEFINITIONS.read_text(encoding="utf-8")),
        "training": {
            "data": DATA,
            "encoder": encoder,
            "hardware": run["hardware"],
            # runs before issue 38 trained in fp32 and did not say so
            "precision": run.get("train_precision", "fp32"),
            "cpu_flags": ", ".join(run.get("cpu_flags", [])) or "none of amx_bf16, avx512_bf16, VNNI",
            "wall_time_s": run["wall_time_s"],
            "command": run["command"],
            "commit": run["git_commit"],
        },
        "cpu_speed": {
            "words_per_s": round(cpu_paths["test"][cpu_paths["here"]]["speed"]),
            "measured_by": f"`evaluate-cpu` on the test split, trained components only, {cpu_paths['here']} "
            f"(what `auto` picks there), on {cpu_paths['hardware']}",
        },
        "cpu_paths": cpu_path_rows(cpu_paths),
        "limitations": [f"Weakest labels on test: {weakest_labels(scores)}.", *LIMITS, llm_limit(llm_metrics)],
    }


def card_notes(meta: dict, scores: dict) -> str:
    """The model card's markdown, rendered from the fields of `card_fields` in `meta`."""
    template = jinja2.Template(TEMPLATE.read_text(encoding="utf-8"), undefined=jinja2.StrictUndefined)
    return template.render(
        plot=PLOT_NAME,
        table="\n".join(score_table(scores)),
        definitions=meta["label_definitions"],
        training=meta["training"],
        speed=meta["cpu_speed"],
        cpu_paths=cpu_path_table(meta["cpu_paths"]),
        limitations=meta["limitations"],
    )
