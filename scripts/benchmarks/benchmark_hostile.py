"""Hostile inputs end to end: a folder holding the two 1 GiB-inflating DOCX bombs, an XML
billion-laughs DOCX, a PDF bomb, seeded mutations of a valid PDF and DOCX and one good text
file, through `annotate`, `pseudonymize` and `annotate --ray` (a cluster of 2 nodes in this
machine). For each: exit code, wall time, peak memory of the whole process tree (sampled),
one record per file, and whether the good file's record equals a clean run's."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import typer

from pt_legal_ner.io.atomic import write_text_atomic
from pt_legal_ner.io.parts import part_files, read_part
from scripts.benchmarks.benchmark_annotate import header, is_pipeline_folder, resolved_model
from scripts.benchmarks.hostile_files import hostile_folder
from scripts.benchmarks.process_memory import TreePeak, run_measured

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024**2
# a Ray cluster of 2 nodes of 1 CPU in this machine, until stdin closes (as tests/test_ray_annotate.py)
CLUSTER = """
import sys
from ray.cluster_utils import Cluster
args = {"num_cpus": 1, "object_store_memory": 80 * 1024**2}
cluster = Cluster(initialize_head=True, head_node_args=args | {"include_dashboard": False})
cluster.add_node(**args)
cluster.wait_for_nodes()
print(cluster.address, flush=True)
sys.stdin.read()
cluster.shutdown()
"""


def records_of(out: Path) -> dict[str, dict]:
    files = part_files(out) if out.is_dir() else [out]
    records = [r for f in files for r in (read_part(f) if f.exists() else [])]
    return {r["id"]: r for r in records}


def reasons(records: dict[str, dict]) -> str:
    """The error reasons, shortened to their first words, with counts."""
    counts = Counter((r["error"].split(": ", 1)[-1][:38] if r["error"] else "ok") for r in records.values())
    return "; ".join(f"{n}x {reason}" for reason, n in counts.most_common())


def main(
    model: str = typer.Option("pt_legal_ner", help="installed package or pipeline folder"),
    python: str = typer.Option(sys.executable, help="the interpreter whose pt_legal_ner runs"),
    output: Path = typer.Option(..., help="where to write the figures"),
    seed: int = typer.Option(0, help="seed of the mutations"),
    ray: bool = typer.Option(True, help="also run annotate --ray on a 2-node cluster"),
) -> None:
    model = resolved_model(model)
    lines = header("scripts.benchmarks.benchmark_hostile", model, python)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        folder = tmp / "in"
        hostile_folder(folder, seed)
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        sizes = {p: (folder / p).stat().st_size for p in files}
        lines.append(f"folder: {len(files)} files, {sum(sizes.values()) / MIB:.1f} MiB, seed {seed}")
        # an installed package runs from elsewhere: in a checkout `-m pt_legal_ner` is the source
        cwd = ROOT if is_pipeline_folder(model) else tmp
        base = [python, "-m", "pt_legal_ner"]
        common = ["--model", model, "--exclude", "llm_fallback"]
        runs = {
            "annotate": ["annotate", str(folder), "-o", str(tmp / "annotate.jsonl")],
            "pseudonymize": ["pseudonymize", str(folder), "-o", str(tmp / "pseudonymize.jsonl")],
        }
        clean = {}  # each command's record of the good file alone
        for command in ("annotate", "pseudonymize"):
            out = tmp / f"clean-{command}.jsonl"
            done, _, _ = run_measured([*base, command, str(folder / "good.txt"), "-o", str(out), *common], 600, cwd=cwd)
            assert done.returncode == 0, done.stderr
            (clean[command],) = records_of(out).values()
        cluster = None
        if ray:  # started by the same interpreter, so the actors import the same pt_legal_ner
            cluster = subprocess.Popen(
                [python, "-c", CLUSTER], cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            address = cluster.stdout.readline().strip()
            runs["annotate --ray (2 nodes)"] = [
                "annotate", str(folder), "-o", str(tmp / "ray"), "--ray", address, "--part-size", "16",
            ]  # fmt: skip
        try:
            for name, args in runs.items():
                with TreePeak(os.getpid()) as everything:  # with Ray: the cluster's actors are ours
                    done, seconds, peak = run_measured([*base, *args, *common], 900, cwd=cwd)
                out = Path(args[3])
                records = records_of(out)
                expected = clean[args[0]]
                good = records.get("good.txt", {})
                same = good.get("error") is None and all(good.get(k) == v for k, v in expected.items() if k != "id")
                # on Ray the actors are the cluster's processes, not the command's: the largest of all
                tree = (
                    f"peak RSS {peak.total / MIB:,.0f} MiB (the command's process tree), largest process"
                    f" {everything.largest / MIB:,.0f} MiB"
                )
                lines.append(
                    f"{name}: exit {done.returncode}, {seconds:.1f} s, {tree};"
                    f" {len(records)} records for {len(files)} files (one each: {sorted(records) == files});"
                    f" good file as in a clean run: {same}"
                )
                lines.append(f"  reasons: {reasons(records)}")
                if done.returncode != 0:
                    lines.append(f"  stderr: {done.stderr[-1500:]}")
        finally:
            if cluster is not None:
                cluster.communicate("", timeout=120)  # stdin closed: it shuts the cluster down
    write_text_atomic(output, "\n".join(lines) + "\n")
    typer.echo("\n".join(lines))


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    typer.run(main)
