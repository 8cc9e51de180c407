"""Identifier recognition of ``legal_ids``: precision and recall on a generated set with known
values, and how many of each kind it finds in the LeNER-Br raw texts.

The generated set is id_samples.py's: every kind in every format, valid and mistyped, among
random numbers and look-alikes. A span counts when its start, end and kind are exactly those
planted; random numbers whose digits happen to pass a check (about 1 in 100 for 11 or 14
digits) are found, and count against precision.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import typer

from pt_legal_ner.privacy.patterns import LABELS, find_ids
from scripts.evaluation.id_samples import generated_set
from scripts.provenance import git_commit


def score(items: list[tuple[str, tuple[int, int, str] | None]]) -> dict:
    per = {label: Counter() for label in LABELS}
    for text, gold in items:
        predicted = {(f.start, f.end, f.label) for f in find_ids(text)}
        if gold is not None:
            per[gold[2]]["gold"] += 1
            per[gold[2]]["found"] += gold in predicted
        for p in predicted:
            per[p[2]]["predicted"] += 1
            per[p[2]]["correct"] += p == gold
    keys = ("gold", "found", "predicted", "correct")
    rows = {}
    for label, c in [*per.items(), ("all", sum(per.values(), Counter()))]:
        rows[label] = {
            **{k: c[k] for k in keys},
            "precision": c["correct"] / max(c["predicted"], 1),
            "recall": c["found"] / max(c["gold"], 1),
        }
    return rows


def raw_counts(folder: Path) -> dict:
    counts: Counter = Counter()
    files = sorted(folder.glob("*.txt"))
    for path in files:
        for f in find_ids(path.read_text(encoding="utf-8", errors="replace")):
            counts[f"{f.label} {'valid' if f.valid else 'invalid' if f.valid is False else '(no check)'}"] += 1
    return {"files": len(files), "found": dict(sorted(counts.items()))}


def markdown(results: dict) -> str:
    lines = [
        "# legal_ids: identifier recognition",
        "",
        f"Produced by `{results['command']}` at commit {results['commit']} (rules only: no model, any CPU).",
        "",
        f"## Generated set ({results['generated']['sentences']} sentences, seed {results['generated']['seed']})",
        "",
        f"{results['generated']['random_numbers']} of them hold a random bare number and no identifier."
        " A span counts when its start, end and kind are exactly those planted.",
        "",
        "| kind | planted | found | predicted | correct | precision | recall |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, r in results["generated"]["scores"].items():
        name = "**all**" if label == "all" else label
        lines.append(
            f"| {name} | {r['gold']} | {r['found']} | {r['predicted']} | {r['correct']}"
            f" | {100 * r['precision']:.2f}% | {100 * r['recall']:.2f}% |"
        )
    raw = results["raw_texts"]
    lines += ["", f"## LeNER-Br raw texts ({raw['files']} files): found", "", "| kind | found |", "|---|---|"]
    lines += [f"| {kind} | {n} |" for kind, n in raw["found"].items()]
    return "\n".join(lines) + "\n"


def main(
    raw_texts: Path = typer.Argument(..., exists=True, file_okay=False, help="LeNER-Br raw_text folder"),
    output: Path = typer.Option(..., help="JSON results; a .md table is written beside it"),
    rounds: int = typer.Option(40, help="times every format of every kind is planted"),
    random_numbers: int = typer.Option(500, help="sentences with a random bare number and no identifier"),
    seed: int = typer.Option(0),
) -> None:
    items = generated_set(rounds, seed, random_numbers)
    results = {
        "command": " ".join(["python", "-m", "scripts.evaluation.evaluate_ids", *sys.argv[1:]]),
        "commit": git_commit(),
        "generated": {
            "sentences": len(items),
            "random_numbers": random_numbers,
            "seed": seed,
            "scores": score(items),
        },
        "raw_texts": raw_counts(raw_texts),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    output.with_suffix(".md").write_text(markdown(results), encoding="utf-8")
    typer.echo(markdown(results))


if __name__ == "__main__":
    typer.run(main)
