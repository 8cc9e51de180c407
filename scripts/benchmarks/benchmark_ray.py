"""Words/s of `annotate` on one machine and on a Ray cluster of 1 and 2 one-CPU nodes.

Each configuration runs ``repeats`` times on the same documents (the first ``docs`` raw
LeNER-Br texts); figures are medians. Start-up (Ray, actor start, pipeline load) is reported
apart from the work: the Ray driver records when the first part began and the last ended
(pt_legal_ner/annotation/on_ray.py), the single-machine run times its load and its work apart.
Every run uses 1 torch thread per process, so the 2-node run has one CPU per node.
Efficiency = words/s(2 nodes) / (2 x words/s(1 node)), on the work alone.

Records: each Ray run's records against those of the plain command on one machine with all its
threads (`python -m pt_legal_ner annotate`, what a user runs first): a document's entities must not
depend on where, in which batch or with how many threads it ran.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import typer

from pt_legal_ner.io.atomic import write_text_atomic
from scripts.provenance import git_commit, hardware

ROOT = Path(__file__).resolve().parents[2]
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
SINGLE = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
import spacy, torch
torch.set_num_threads(1)
import pt_legal_ner
from pt_legal_ner.annotation.records import annotate
from pt_legal_ner.io.inputs import open_documents
model, folder, out, exclude = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
nlp = spacy.load(model, exclude=exclude)
t1 = time.perf_counter()
summary = annotate(nlp, open_documents([folder])[1], Path(out))
t2 = time.perf_counter()
print(json.dumps({"startup_s": t1 - t0, "work_s": t2 - t1, "words": summary.words}))
"""


def single_run(model: str, folder: Path, out: Path, exclude: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SINGLE, model, str(folder), str(out), *exclude],
        cwd=ROOT,
        env=os.environ | ONE_THREAD,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def ray_run(model: str, folder: Path, out: Path, exclude: list[str], address: str, workers: int) -> dict:
    excludes = [arg for name in exclude for arg in ("--exclude", name)]
    command = [sys.executable, "-m", "pt_legal_ner", "annotate", str(folder), "-o", str(out), "--model", model]
    command += ["--ray", address, "--workers", str(workers), "--threads-per-worker", "1", "--part-size", "1"]
    start = time.time()
    done = subprocess.run(command + excludes, cwd=ROOT, env=os.environ | ONE_THREAD, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    result = json.loads((out / "_SUCCESS").read_text())
    return {"startup_s": result["startup_s"], "work_s": result["work_s"], "words": result["words"],
            "total_s": time.time() - start, "nodes": len(result["nodes"])}  # fmt: skip


def command_run(model: str, folder: Path, out: Path, exclude: list[str]) -> None:
    """The plain command, all threads: the records every other run is compared with."""
    excludes = [arg for name in exclude for arg in ("--exclude", name)]
    command = [sys.executable, "-m", "pt_legal_ner", "annotate", str(folder), "-o", str(out), "--model", model]
    subprocess.run(command + excludes, cwd=ROOT, capture_output=True, text=True, check=True)


def records(path: Path) -> dict[str, list]:
    """Each document's entities (id -> spans, labels, confidences), from a JSONL file or Ray's part files."""
    files = sorted(path.glob("part-*.jsonl")) if path.is_dir() else [path]
    found = {}
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            entities = [(e["start"], e["end"], e["label"], e["confidence"]) for e in record["entities"] or []]
            found[record["id"]] = record.get("error") or entities
    return found


def differing(reference: dict[str, list], other: dict[str, list]) -> int:
    return sum(other.get(key) != value for key, value in reference.items()) + len(set(other) - set(reference))


def median_of(runs: list[dict]) -> dict:
    keys = ("startup_s", "work_s")
    figures = {key: statistics.median(run[key] for run in runs) for key in keys}
    figures["words"] = runs[0]["words"]
    figures["words_per_s"] = figures["words"] / figures["work_s"]
    figures["nodes"] = max(run.get("nodes", 1) for run in runs)
    return figures


def main(
    raw_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="LeNER-Br raw_text/"),
    model: str = typer.Option("training/pipeline", help="pipeline folder or installed package"),
    docs: int = typer.Option(12, help="first N texts (sorted by name)"),
    repeats: int = typer.Option(3),
    exclude: list[str] = typer.Option(["llm_fallback"], help="components left out (no Ollama here)"),
    output: Path = typer.Option(Path("metrics/benchmark_ray.txt")),
) -> None:
    from ray.cluster_utils import Cluster

    files = sorted(raw_dir.glob("*.txt"))[:docs]
    work = Path(tempfile.mkdtemp(prefix="benchmark_ray_"))
    folder = work / "in"
    folder.mkdir()
    for file in files:
        shutil.copy(file, folder / file.name)
    results: dict[str, dict] = {}
    try:
        command_run(model, folder, work / "command.jsonl", exclude)
        reference = records(work / "command.jsonl")
        runs = [single_run(model, folder, work / f"single{i}.jsonl", exclude) for i in range(repeats)]
        results["single machine, 1 thread"] = median_of(runs)
        results["single machine, 1 thread"]["differ"] = differing(reference, records(work / "single0.jsonl"))
        for nodes in (1, 2):
            cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
            for _ in range(nodes - 1):
                cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            try:
                runs = [
                    ray_run(model, folder, work / f"ray{nodes}_{i}", exclude, cluster.address, nodes)
                    for i in range(repeats)
                ]
            finally:
                cluster.shutdown()
            results[f"Ray, {nodes} actor(s) x 1 thread, {nodes} node(s)"] = median_of(runs)
            differ = max(differing(reference, records(work / f"ray{nodes}_{i}")) for i in range(repeats))
            results[f"Ray, {nodes} actor(s) x 1 thread, {nodes} node(s)"]["differ"] = differ
    finally:
        shutil.rmtree(work, ignore_errors=True)
    one = results["Ray, 1 actor(s) x 1 thread, 1 node(s)"]["words_per_s"]
    two = results["Ray, 2 actor(s) x 1 thread, 2 node(s)"]["words_per_s"]
    words = results["single machine, 1 thread"]["words"]
    lines = [
        f"# python -m scripts.benchmarks.benchmark_ray {raw_dir.name} --model {model}"
        f" --docs {docs} --repeats {repeats}",
        f"# commit {git_commit()}, {hardware(-1)}, Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d')}",
        f"# {len(files)} raw LeNER-Br texts, {words:,} words; medians of {repeats}; excluded: {', '.join(exclude)}",
        "",
        f"{'run':<40} {'start-up s':>10} {'work s':>8} {'words/s':>8} {'nodes used':>10} {'docs differing':>14}",
    ]
    for name, r in results.items():
        lines.append(
            f"{name:<40} {r['startup_s']:>10.1f} {r['work_s']:>8.1f} {r['words_per_s']:>8,.0f} {r['nodes']:>10}"
            f" {r['differ']:>14}"
        )
    lines += [
        "",
        f"efficiency, 2 nodes against 1: {two / (2 * one):.2f}",
        f"docs differing: of {len(reference)}, entities other than `python -m pt_legal_ner annotate` with all "
        f"{os.cpu_count()} threads gave (worst of the repeats)",
    ]
    text = "\n".join(lines) + "\n"
    write_text_atomic(output, text)
    typer.echo(text)


if __name__ == "__main__":
    typer.run(main)
