"""CPU figures of `python -m pt_legal_ner annotate`: documents/s, words/s and peak memory
(max RSS of the process) on a folder, and on single documents of 3, 60 and 300 pages, each in
its own process: past a full batch of pieces (60 pages), a document's length should not
change the peak."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import typer

from pt_legal_ner.io.atomic import write_text_atomic
from scripts.provenance import git_commit, hardware

ROOT = Path(__file__).resolve().parents[2]
PAGE_CHARS = 3_000  # a page of a Brazilian judgment, roughly


def long_judgment(folder: Path, pages: int) -> str:
    """`pages` pages of text made of the folder's documents, one after another."""
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.glob("*.txt"))]
    out, size = [], 0
    while size < pages * PAGE_CHARS:
        for text in texts:
            out.append(text)
            size += len(text)
            if size >= pages * PAGE_CHARS:
                break
    return "\n".join(out)[: pages * PAGE_CHARS]


def is_pipeline_folder(model: str) -> bool:
    return (Path(model) / "config.cfg").is_file()


def resolved_model(model: str) -> str:
    """A pipeline folder as an absolute path (the commands run elsewhere), a package name as it is."""
    return str(Path(model).resolve()) if is_pipeline_folder(model) else model


def header(module: str, model: str, python: str) -> list[str]:
    """The figures' first lines: the command, the hardware, the commit, the model and interpreter."""
    return [
        f"command: python -m {module} {' '.join(sys.argv[1:])}",
        f"hardware: {hardware(-1)}; commit: {git_commit()}; model: {model}; python: {python}",
    ]


def run_annotate(
    python: str,
    model: str,
    source: Path,
    out: Path,
    extra: list[str],
    env: dict | None = None,
    command: str = "annotate",
) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one annotate (or pseudonymize) process."""
    cmd = [python, "-m", "pt_legal_ner", command, str(source), "-o", str(out), "--model", model, *extra]
    start = time.perf_counter()
    # a pipeline folder runs with this checkout's code; an installed package from elsewhere, as
    # in a checkout `-m pt_legal_ner` would import the source package instead of the installed one
    cwd = ROOT if is_pipeline_folder(model) else out.parent
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=cwd, env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    stderr = proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{stderr[-3000:]}")
    return seconds, usage.ru_maxrss / 1024


def words_in(path: Path) -> int:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(len(p.read_bytes().decode("utf-8", errors="replace").split()) for p in files)


def main(
    folder: Path = typer.Argument(..., exists=True, file_okay=False, help="a folder of .txt documents"),
    output: Path = typer.Option(..., help="where to write the figures"),
    model: str = typer.Option("pt_legal_ner", help="installed package or pipeline folder"),
    python: str = typer.Option(sys.executable, help="the interpreter whose pt_legal_ner runs"),
    pages: int = typer.Option(300, help="length of the long judgment"),
) -> None:
    extra = ["--exclude", "llm_fallback"]
    model = resolved_model(model)
    lines = header("scripts.benchmarks.benchmark_annotate", model, python)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        n_docs = sum(1 for p in folder.iterdir() if p.is_file())
        seconds, peak = run_annotate(python, model, folder, tmp / "folder.jsonl", extra)
        words = words_in(folder)
        lines.append(
            f"folder {folder.name}: {n_docs} documents, {words:,} words in {seconds:.0f} s "
            f"({n_docs / seconds:.2f} documents/s, {words / seconds:,.0f} words/s), peak RSS {peak:,.0f} MiB"
        )
        times, peaks = {}, {}
        for n_pages in sorted({3, 60, pages}):
            doc = tmp / f"{n_pages}.txt"
            doc.write_text(long_judgment(folder, n_pages), encoding="utf-8")
            times[n_pages], peaks[n_pages] = run_annotate(python, model, doc, tmp / f"{n_pages}.jsonl", extra)
            words = words_in(doc)
            lines.append(
                f"one document of {n_pages} pages ({doc.stat().st_size:,} bytes, {words:,} words): "
                f"{times[n_pages]:.0f} s, {words / times[n_pages]:,.0f} words/s, peak RSS {peaks[n_pages]:,.0f} MiB"
            )
        lines.append(f"peak ratio {pages} pages / 60 pages: {peaks[pages] / peaks[60]:.2f}")
        # side by side: the same long document with glibc's default malloc behaviour
        doc = tmp / f"{pages}.txt"
        base_s, base_peak = run_annotate(
            python, model, doc, tmp / "baseline.jsonl", extra, env={"PT_LEGAL_NER_MALLOC": "default"}
        )
        lines.append(
            f"baseline, {pages} pages with glibc's malloc defaults (PT_LEGAL_NER_MALLOC=default): {base_s:.0f} s, "
            f"peak RSS {base_peak:,.0f} MiB; ratios default/baseline: time {times[pages] / base_s:.2f}, "
            f"peak {peaks[pages] / base_peak:.2f}"
        )
    lines.append("llm_fallback excluded (no Ollama server here); each figure is one process, started cold")
    write_text_atomic(output, "\n".join(lines) + "\n")
    typer.echo("\n".join(lines))


if __name__ == "__main__":
    typer.run(main)
