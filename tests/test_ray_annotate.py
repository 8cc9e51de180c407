"""`annotate --ray` on a real Ray cluster of two nodes in this machine, through lost workers,
a lost node and a killed driver: every document exactly once, the single-machine records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pt_legal_ner.io.ocr import missing
from tests.conftest import ROOT
from tests.office_files import scanned_pdf_bytes

ray = pytest.importorskip("ray")

CODE = ROOT / "tests" / "ray_components.py"
PATTERNS = [{"label": "PESSOA", "pattern": "Pedro Cabral"}, {"label": "LOCAL", "pattern": "Brasília"}]
RUN_TIMEOUT = 360  # seconds: a hung Ray fails the test instead of hanging the suite


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    node_args = {"num_cpus": 1, "object_store_memory": 80 * 1024**2}
    nodes = Cluster(initialize_head=True, head_node_args=node_args | {"include_dashboard": False})
    nodes.add_node(**node_args)
    nodes.wait_for_nodes()
    nodes.node_args = node_args
    yield nodes
    nodes.shutdown()


@pytest.fixture(scope="module")
def job(tmp_path_factory) -> dict:
    """A small pipeline that sleeps per document, and inputs of every kind, bad ones included."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import spacy

    sys.path.insert(0, str(CODE.parent))
    import ray_components  # noqa: F401

    root = tmp_path_factory.mktemp("ray_job")
    nlp = spacy.blank("pt")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    nlp.add_pipe("explode_on_boom")
    nlp.add_pipe("slow_down", config={"seconds": 0.4})
    nlp.to_disk(root / "model")
    folder = root / "in"
    (folder / "sub").mkdir(parents=True)
    for i in range(12):
        (folder / f"doc{i:02d}.txt").write_text(f"O réu Pedro Cabral {i}, em Brasília.\n" * 3, encoding="utf-8")
    (folder / "sub" / "scan.pdf").write_bytes(b"%PDF-1.4 binary")
    # OCRed in the actor that reads it (where Tesseract is installed): the same record as here
    (folder / "sub" / "digitalizada.pdf").write_bytes(scanned_pdf_bytes([["O réu Pedro Cabral, em Brasília."]], 150))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "boom.txt").write_text("Pedro Cabral disse BOOM em Brasília", encoding="utf-8")
    lines = [json.dumps({"text": f"Pedro Cabral {i} em Brasília", "n": i}) for i in range(5)]
    (folder / "lines.jsonl").write_text("\n".join([*lines[:2], "{bad json", "", *lines[2:]]) + "\n", encoding="utf-8")
    extra = root / "extra"
    extra.mkdir()
    table = pa.table({"text": [f"Brasília {i}" for i in range(5)] + [None], "vara": ["1a"] * 6})
    pq.write_table(table, extra / "decisions.parquet", row_group_size=2)
    inputs = [str(folder), (extra / "decisions.parquet").as_uri()]
    single = root / "single.jsonl"
    done = subprocess.run(
        [*annotate_command(inputs, single, root / "model")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    return {"root": root, "inputs": inputs, "model": root / "model", "expected": by_id(read_jsonl(single))}


def annotate_command(inputs: list[str], out: Path, model: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "pt_legal_ner", "annotate", *inputs, "-o", str(out),
        "--model", str(model), "--code", str(CODE), *extra,
    ]  # fmt: skip


def ray_command(job: dict, address: str, out: Path) -> list[str]:
    return annotate_command(job["inputs"], out, job["model"], "--ray", address, "--part-size", "2")


def run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def by_id(records: list[dict]) -> dict:
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "an id appears more than once"
    return {r["id"]: r for r in records}


def parts(out: Path) -> dict[str, tuple[int, int]]:
    """Published parts: name -> (inode, mtime), to tell a part left alone from one rewritten."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(out.glob("part-*.jsonl*"))}


def check_output(job: dict, out: Path, untouched: dict[str, tuple[int, int]] = {}) -> dict:  # noqa: B006
    from pt_legal_ner.io.parts import read_part

    records = [r for p in sorted(out.glob("part-*.jsonl*")) for r in read_part(p)]
    assert by_id(records) == job["expected"]
    assert not (out / ".tmp").exists(), "temporary files left behind"
    assert [p.name for p in out.iterdir() if not p.name.startswith(("part-", "_"))] == []
    now = parts(out)
    assert {name: now[name] for name in untouched} == untouched, "a finished part was rewritten"
    return json.loads((out / "_SUCCESS").read_text())


def start(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_parts(proc: subprocess.Popen, out: Path, n: int) -> dict:
    deadline = time.monotonic() + RUN_TIMEOUT
    while len(parts(out)) < n:
        assert proc.poll() is None, f"the run ended before {n} parts were written:\n{proc.stdout.read()}"
        assert time.monotonic() < deadline, "no parts within the time limit"
        time.sleep(0.05)
    return parts(out)


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        output, _ = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        pytest.fail(f"the run did not finish within {RUN_TIMEOUT} s:\n{output[-3000:]}")
    return proc.returncode, output


def actor_pids() -> list[int]:
    ps = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in ps.splitlines() if "PartAnnotator" in line and "ray::" in line]


def test_the_parts_hold_the_single_machine_records_and_both_nodes_worked(job, cluster):
    out = job["root"] / "clean"
    code, output = finish(start(ray_command(job, cluster.address, out)))
    assert code == 0, output
    summary = check_output(job, out)
    assert len(summary["nodes"]) == 2, summary
    assert summary["written"] == len(job["expected"]) and summary["errors"] == 4 + (missing() is not None)
    ids = set(job["expected"])
    assert {"lines.jsonl:3", "sub/scan.pdf", "boom.txt", "empty.txt"} <= ids
    scan = job["expected"]["sub/digitalizada.pdf"]
    if missing() is None:
        assert scan["ocr_pages"] == [1] and [e["text"] for e in scan["entities"]] == ["Pedro Cabral", "Brasília"]
    else:
        assert "no text layer" in scan["error"]
    assert any(i.startswith("file://") and i.endswith("decisions.parquet:6") for i in ids)
    again = subprocess.run(
        ray_command(job, cluster.address, out), cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT
    )
    assert again.returncode == 0 and "(0 written now)" in again.stderr


def test_a_killed_worker_is_replaced_and_no_document_is_lost_or_doubled(job, cluster):
    out = job["root"] / "killed_worker"
    proc = start(ray_command(job, cluster.address, out))
    before = wait_for_parts(proc, out, 2)
    pids = actor_pids()
    assert pids, "no actor process found"
    os.kill(pids[0], signal.SIGKILL)
    code, output = finish(proc)
    assert code == 0, output
    assert len(parts(out)) > len(before) + 1, "the kill came too late to test anything"
    check_output(job, out, untouched=before)


def test_a_node_lost_without_grace_mid_job_leaves_the_rest_to_the_other(job, cluster):
    out = job["root"] / "lost_node"
    proc = start(ray_command(job, cluster.address, out))
    before = wait_for_parts(proc, out, 2)
    worker = cluster.list_all_nodes()[-1]
    assert worker is not cluster.head_node
    cluster.remove_node(worker, allow_graceful=False)
    try:
        code, output = finish(proc)
        assert code == 0, output
        check_output(job, out, untouched=before)
    finally:
        cluster.add_node(**cluster.node_args)
        cluster.wait_for_nodes()


def test_a_killed_driver_leaves_whole_parts_and_the_same_command_finishes_the_job(job, cluster):
    out = job["root"] / "killed_driver"
    proc = start(ray_command(job, cluster.address, out))
    before = wait_for_parts(proc, out, 2)
    proc.send_signal(signal.SIGKILL)
    finish(proc)
    assert not (out / "_SUCCESS").exists()
    written = parts(out)
    assert len(written) < len(json.loads((out / "_plan.json").read_text())["parts"]), "the kill came too late"
    code, output = finish(start(ray_command(job, cluster.address, out)))
    assert code == 0, output
    check_output(job, out, untouched=written | before)


def test_more_workers_than_the_cluster_fits_still_finish_and_gzip_parts_hold_the_same(job, cluster):
    out = job["root"] / "too_many"
    command = ray_command(job, cluster.address, out) + ["--workers", "3", "--compress"]
    code, output = finish(start(command))
    assert code == 0, output
    assert len(check_output(job, out)["nodes"]) == 2
    assert all(name.endswith(".jsonl.gz") for name in parts(out))


def test_actors_get_the_drivers_ollama_address(cluster, tmp_path):
    """The LLM fallback in an actor must call the server the user named, not the default."""
    import spacy

    if "OLLAMA_HOST" in os.environ:
        pytest.skip("OLLAMA_HOST is set for the whole cluster here: the test could not tell")
    sys.path.insert(0, str(CODE.parent))
    import ray_components  # noqa: F401

    nlp = spacy.blank("pt")
    nlp.add_pipe("label_with_ollama_host")
    nlp.to_disk(tmp_path / "model")
    (tmp_path / "a.txt").write_text("Texto", encoding="utf-8")
    inputs = [str(tmp_path / "a.txt")]
    command = annotate_command(inputs, tmp_path / "out", tmp_path / "model", "--ray", cluster.address)
    done = subprocess.run(
        command, cwd=ROOT, env=os.environ | {"OLLAMA_HOST": "10.1.2.3:4567"}, capture_output=True, text=True,
        timeout=RUN_TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [record] = read_jsonl(tmp_path / "out" / "part-00000.jsonl")
    assert [e["label"] for e in record["entities"]] == ["10.1.2.3:4567"]


def test_another_plan_in_the_same_folder_is_refused(job, cluster, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "_plan.json").write_text("{}", encoding="utf-8")
    done = run(ray_command(job, cluster.address, out))
    assert done.returncode == 2 and "holds the parts of another run" in done.stderr


def test_without_ray_the_option_says_how_to_install_it(job, tmp_path):
    hide_ray = (
        "import sys; sys.modules['ray'] = None; from pt_legal_ner.__main__ import main; sys.exit(main(sys.argv[1:]))"
    )
    done = run([sys.executable, "-c", hide_ray, *ray_command(job, "local", tmp_path / "o")[3:]])
    assert done.returncode == 2 and "pip install 'ray[data]" in done.stderr


def test_bombs_and_damaged_files_cost_their_own_records_on_ray_as_on_one_machine(job, cluster, tmp_path):
    from pt_legal_ner.io.parts import read_part
    from scripts.benchmarks.hostile_files import hostile_folder

    folder = tmp_path / "in"
    hostile_folder(folder, seed=1, mutations={"pdf": 4, "docx": 4})
    single = tmp_path / "single.jsonl"
    done = run(annotate_command([str(folder)], single, job["model"]))
    assert done.returncode == 0, done.stderr
    out = tmp_path / "ray"
    done = run(annotate_command([str(folder)], out, job["model"], "--ray", cluster.address, "--part-size", "4"))
    assert done.returncode == 0, done.stderr
    records = by_id([r for p in sorted(out.glob("part-*.jsonl")) for r in read_part(p)])
    assert records == by_id(read_jsonl(single)) and len(records) == 13
    assert "PDF reader died" in records["bomb.pdf"]["error"] and records["good.txt"]["error"] is None
