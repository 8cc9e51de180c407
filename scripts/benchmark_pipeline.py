"""Benchmark the packaged pipeline on this CPU, side by side with and without llm_fallback.

Prints `spacy.load` wall time (fresh subprocess each, median of N) and `nlp.pipe` throughput
on the texts of a .spacy corpus, for: the trained components alone (llm_fallback excluded) and the
full pipeline with no Ollama server reachable. The ratios are the figures to watch: loading
must not touch the network, and a missing server must not slow processing down.
With ``--baseline`` (another pipeline, e.g. the previous release) it also times both pipelines'
trained components in alternating rounds on the same texts and prints the speed ratio.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import typer

from pt_legal_ner.atomic import write_text_atomic
from scripts.train import git_commit, hardware

LOAD = """
import os, sys, time, json
t = time.perf_counter()
import spacy
if os.path.isdir(sys.argv[1]):
    import pt_legal_ner  # a pipeline folder needs the runtime code registered; a package imports it
nlp = spacy.load(sys.argv[1], exclude=json.loads(sys.argv[2]))
print(time.perf_counter() - t)
"""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_time(pipeline: str, exclude: list[str], env: dict, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", LOAD, pipeline, json.dumps(exclude)],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def throughput(nlp, texts: list[str], batch_size: int) -> float:
    start = time.perf_counter()
    n_words = sum(len(doc) for doc in nlp.pipe(texts, batch_size=batch_size))
    return n_words / (time.perf_counter() - start)


def load_pipeline(pipeline: str):
    import spacy

    if Path(pipeline).is_dir():
        import pt_legal_ner  # noqa: F401
    return spacy.load(pipeline)


def trained_only(nlp):
    """``nlp`` with llm_fallback disabled, where it has one (a context manager)."""
    return nlp.select_pipes(disable=["llm_fallback"] if "llm_fallback" in nlp.pipe_names else [])


def compare_speed(nlp, baseline_nlp, texts: list[str], batch_size: int, repeats: int, baseline: str) -> str:
    """Trained components only (llm_fallback off), alternating rounds so both see the same load."""
    rates: dict[str, list[float]] = {"new": [], "baseline": []}
    for _ in range(repeats):
        for key, model in (("new", nlp), ("baseline", baseline_nlp)):
            with trained_only(model):
                rates[key].append(throughput(model, texts, batch_size))
    new, old = statistics.median(rates["new"]), statistics.median(rates["baseline"])
    return (
        f"speed against {baseline} (trained components, median of {repeats} alternating rounds): "
        f"{new:,.0f} vs {old:,.0f} words/s (ratio {new / old:.2f})"
    )


def main(
    pipeline: str = typer.Argument(..., help="package name or folder"),
    corpus: Path = typer.Argument(..., exists=True, dir_okay=False, help=".spacy file whose texts are used"),
    n_texts: int = typer.Option(100),
    repeats: int = typer.Option(3),
    batch_size: int = typer.Option(8),
    output: Path | None = typer.Option(None, help="also write the figures to this file"),
    baseline: str = typer.Option("", help="another pipeline to compare speed with ('' = none)"),
) -> None:
    from spacy.tokens import DocBin

    env = dict(os.environ, OLLAMA_HOST=f"127.0.0.1:{closed_port()}", HF_HUB_OFFLINE="1")
    os.environ.update(env)
    with_llm = load_time(pipeline, [], env, repeats)
    without = load_time(pipeline, ["llm_fallback"], env, repeats)
    ratio = with_llm / without
    lines = [
        f"hardware: {hardware(-1)}; commit: {git_commit()}; pipeline: {pipeline}",
        f"spacy.load: {with_llm:.2f} s with llm_fallback, {without:.2f} s without (ratio {ratio:.2f})",
    ]

    nlp = load_pipeline(pipeline)
    texts = [doc.text for doc in DocBin().from_disk(corpus).get_docs(nlp.vocab)][:n_texts]
    throughput(nlp, texts[:1], batch_size)  # warm-up
    with trained_only(nlp):
        base = throughput(nlp, texts, batch_size)
    full = throughput(nlp, texts, batch_size)
    lines.append(
        f"nlp.pipe on {len(texts)} texts: {base:,.0f} words/s trained only, {full:,.0f} words/s with "
        f"llm_fallback and no server (ratio {full / base:.2f})"
    )
    if baseline:
        lines.append(compare_speed(nlp, load_pipeline(baseline), texts, batch_size, repeats, baseline))
    typer.echo("\n".join(lines))
    if output is not None:
        write_text_atomic(output, "\n".join(lines) + "\n")


if __name__ == "__main__":
    typer.run(main)
