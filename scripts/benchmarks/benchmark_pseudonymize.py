"""Speed of `pseudonymize` against `annotate` on the same documents, side by side in one run.

Each command runs ``repeats`` times, alternating, each in its own process started cold (load
time included, as a user pays it); the ratio is of the median times. pseudonymize runs with
its defaults (PESSOA weight, legal_ids, mapping and review pages written), annotate with its.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import typer

from pt_legal_ner.io.atomic import write_text_atomic
from scripts.benchmarks.benchmark_annotate import is_pipeline_folder, run_annotate, words_in
from scripts.provenance import git_commit, hardware


def main(
    folder: Path = typer.Argument(..., exists=True, file_okay=False, help="a folder of .txt documents"),
    output: Path = typer.Option(..., help="where to write the figures"),
    model: str = typer.Option("pt_legal_ner", help="installed package or pipeline folder"),
    python: str = typer.Option(sys.executable, help="the interpreter whose pt_legal_ner runs"),
    files: int = typer.Option(10, help="the first N .txt files of the folder (0 = all)"),
    repeats: int = typer.Option(2, help="runs of each command, alternating"),
) -> None:
    model = str(Path(model).resolve()) if is_pipeline_folder(model) else model
    extra = ["--exclude", "llm_fallback"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        docs = tmp / "docs"
        docs.mkdir()
        chosen = sorted(folder.glob("*.txt"))
        for path in chosen[:files] if files else chosen:
            shutil.copy(path, docs / path.name)
        words, n_docs = words_in(docs), len(list(docs.iterdir()))
        runs: dict[str, list[tuple[float, float]]] = {"annotate": [], "pseudonymize": []}
        for i in range(repeats):
            runs["annotate"].append(run_annotate(python, model, docs, tmp / f"a{i}.jsonl", extra))
            private = ["--mapping", str(tmp / f"map{i}.jsonl"), "--html", str(tmp / f"pages{i}")]
            runs["pseudonymize"].append(
                run_annotate(python, model, docs, tmp / f"p{i}.jsonl", extra + private, command="pseudonymize")
            )
    lines = [
        f"command: python -m scripts.benchmarks.benchmark_pseudonymize {' '.join(sys.argv[1:])}",
        f"hardware: {hardware(-1)}; commit: {git_commit()}; model: {model}",
        f"input: {n_docs} documents of {folder}, {words:,} words;"
        f" {repeats} cold runs of each, alternating; llm_fallback excluded",
    ]
    medians = {}
    for name, results in runs.items():
        medians[name] = statistics.median(s for s, _ in results)
        peak = max(p for _, p in results)
        times = ", ".join(f"{s:.1f}" for s, _ in results)
        lines.append(
            f"{name}: {times} s (median {medians[name]:.1f} s, {words / medians[name]:,.0f} words/s),"
            f" peak RSS {peak:,.0f} MiB"
        )
    lines.append(f"pseudonymize / annotate time: {medians['pseudonymize'] / medians['annotate']:.2f}")
    write_text_atomic(output, "\n".join(lines) + "\n")
    typer.echo("\n".join(lines))


if __name__ == "__main__":
    typer.run(main)
