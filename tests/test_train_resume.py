"""Resumable training: a run killed part-way and started again ends bit for bit where an uninterrupted run ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy
import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_STEPS = 16
EVERY = 4


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_encoder, lener_train_docs) -> dict:
    """The tiny encoder and a corpus of ~2 epochs in 16 steps."""
    from spacy.tokens import DocBin

    root = tmp_path_factory.mktemp("resume")
    docs = lener_train_docs
    DocBin(docs=docs[:15]).to_disk(root / "train.spacy")
    DocBin(docs=docs[15:25]).to_disk(root / "dev.spacy")
    return {"root": root, "encoder": tiny_encoder, "train": root / "train.spacy", "dev": root / "dev.spacy"}


def command(run: dict, output: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "scripts.training.train", "configs/legal_ner_trf.cfg", str(output),
        "--encoder", str(run["encoder"]), "--max-steps", str(MAX_STEPS), "--checkpoint-every", str(EVERY),
        "--paths.train", str(run["train"]), "--paths.dev", str(run["dev"]),
        "--training.eval_frequency", "5",
        "--training.batcher.size.start", "300", "--training.batcher.size.stop", "300",
        "--training.optimizer.learn_rate.total_steps", str(MAX_STEPS),
        "--training.optimizer.learn_rate.warmup_steps", "2",
        "--training.optimizer.learn_rate.initial_rate", "0.01",
        *extra,
    ]  # fmt: skip


def env() -> dict:
    return os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONHASHSEED": "0"}


def run_to_end(run: dict, output: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(command(run, output, *extra), cwd=ROOT, env=env(), capture_output=True, text=True)


def checkpoint_step(output: Path) -> int:
    state = output.with_name(output.name + ".partial") / "checkpoint" / "state.json"
    try:
        return json.loads(state.read_text())["loop"]["step"]
    except (OSError, ValueError):
        return -1


def run_until(run: dict, output: Path, step: int, sig: int) -> subprocess.CompletedProcess:
    """Start the training, send ``sig`` once a checkpoint at ``step`` or later exists, wait for the exit."""
    proc = subprocess.Popen(command(run, output), cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while checkpoint_step(output) < step and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.decode())


def weights(model_dir: Path) -> dict[str, numpy.ndarray]:
    import spacy

    import pt_legal_ner  # noqa: F401

    nlp = spacy.load(model_dir)
    found = {}
    for name, proc in nlp.pipeline:
        model = getattr(proc, "model", None)
        if model in (None, True, False):
            continue
        for i, node in enumerate(model.walk()):
            for param in node.param_names:
                if node.has_param(param):
                    found[f"{name}/{i}/{param}"] = numpy.asarray(node.get_param(param))
            for j, shim in enumerate(node.shims):
                for key, tensor in shim._model.state_dict().items():
                    found[f"{name}/{i}/shim{j}/{key}"] = tensor.numpy().copy()
    return found


def test_a_killed_and_a_terminated_run_resume_to_the_uninterrupted_result(tiny_run):
    root = tiny_run["root"]
    whole = run_to_end(tiny_run, root / "whole")
    assert whole.returncode == 0, whole.stdout + whole.stderr

    resumed = root / "resumed"
    killed = run_until(tiny_run, resumed, EVERY, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL, "the run ended before it could be killed: make it longer"
    assert not resumed.exists(), "a killed run must not leave a folder that looks complete"
    assert checkpoint_step(resumed) >= EVERY

    other = run_to_end(tiny_run, resumed, "--seed", "1")
    assert other.returncode == 2
    assert "another config or other settings" in other.stderr and "--fresh" in other.stderr

    stopped = run_until(tiny_run, resumed, 2 * EVERY, signal.SIGTERM)
    assert stopped.returncode == 143, stopped.stdout
    assert "Resuming from" in stopped.stdout and "run the same command again to resume" in stopped.stdout
    assert checkpoint_step(resumed) >= 2 * EVERY  # SIGTERM checkpoints after the step it interrupts

    last = run_to_end(tiny_run, resumed)
    assert last.returncode == 0, last.stdout + last.stderr
    assert "Resuming from" in last.stdout
    assert not (resumed / "checkpoint").exists(), "the finished model folder should not carry the checkpoint"

    for sub in ("model-best", "model-last"):
        expected, got = weights(root / "whole" / sub), weights(resumed / sub)
        assert expected.keys() == got.keys() and len(expected) > 10
        unequal = [key for key in expected if not numpy.array_equal(expected[key], got[key])]
        assert not unequal, f"{sub}: {len(unequal)} tensors differ, e.g. {unequal[:3]}"
    log = (resumed / "train_log.jsonl").read_text().splitlines()
    assert log == (root / "whole" / "train_log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in log] == [0, 5, 10, 15]
    run_json = json.loads((resumed / "run.json").read_text())
    assert run_json["resumed_at_step"] >= 2 * EVERY


def test_a_checkpoint_maps_optimizer_state_to_the_new_process_node_ids(tiny_run, tmp_path):
    """Node ids are process counters: the saved state is keyed by place in the pipeline, not by id."""
    import spacy
    from thinc.api import Adam

    from scripts.training import checkpoint

    nlp = spacy.blank("pt")
    nlp.add_pipe("tagger").add_label("X")
    nlp.initialize()
    optimizer = Adam(0.001)
    model = nlp.get_pipe("tagger").model
    node = next(n for n in model.walk() if n.has_param("W"))
    optimizer((node.id, "W"), node.get_param("W").copy(), node.get_param("W") * 0 + 1)
    state = checkpoint.optimizer_state(optimizer, nlp)
    assert set(state["mom1"]) == {(f"tagger/{list(model.walk()).index(node)}", "W")}

    again = spacy.blank("pt")
    again.add_pipe("tagger").add_label("X")
    again.initialize()
    fresh = Adam(0.001)
    checkpoint.restore_optimizer(fresh, again, state, steps=0)
    twin = next(n for n in again.get_pipe("tagger").model.walk() if n.has_param("W"))
    assert twin.id != node.id
    assert numpy.array_equal(fresh.mom1[(twin.id, "W")], optimizer.mom1[(node.id, "W")])
    assert fresh.nr_update[(twin.id, "W")] == 1


def test_the_fingerprint_ignores_comments_and_layout_but_not_settings(tmp_path):
    """Editing a comment must not orphan a 5-hour checkpoint; changing a value must."""
    from scripts.training.train import fingerprint

    source = (ROOT / "configs" / "legal_ner_trf.cfg").read_text(encoding="utf-8")
    original, commented = tmp_path / "a.cfg", tmp_path / "b.cfg"
    original.write_text(source, encoding="utf-8")
    commented.write_text("# a new comment\n" + source.replace("\n[", "\n\n# moved\n["), encoding="utf-8")
    settings = {"paths.encoder": "enc", "system.seed": 0, "paths.log": "x/train_log.jsonl"}
    base = fingerprint(original, settings)
    assert fingerprint(commented, settings | {"paths.log": "elsewhere.jsonl"}) == base
    assert fingerprint(original, settings | {"system.seed": 1}) != base
    changed = tmp_path / "c.cfg"
    changed.write_text(source.replace("dropout = 0.1", "dropout = 0.2", 1), encoding="utf-8")
    assert "dropout = 0.1" in source and fingerprint(changed, settings) != base


def test_run_json_names_the_kernel_caps_a_run_stood_under(monkeypatch):
    """A run under AVX2 caps stands for an AVX2-only CPU: its record must not read as this CPU's."""
    from scripts.provenance import ISA_CAPS
    from scripts.training.train import machine_record

    for name in ISA_CAPS:
        monkeypatch.delenv(name, raising=False)
    plain = machine_record(-1)
    assert "isa_caps" not in plain and "capped" not in plain["hardware"]
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    capped = machine_record(-1)
    assert capped["isa_caps"] == "ONEDNN_MAX_CPU_ISA=AVX2"
    assert capped["hardware"] == f"{plain['hardware']}, kernels capped (ONEDNN_MAX_CPU_ISA=AVX2)"
    assert capped["cpu_flags"] == plain["cpu_flags"]


def test_a_second_run_into_a_folder_in_use_is_refused_and_touches_nothing(tiny_run):
    """Two runs resuming one checkpoint would overwrite each other's; the second must stop first."""
    from scripts.training import checkpoint

    output = tiny_run["root"] / "busy"
    partial = output.with_name(output.name + ".partial")
    partial.mkdir(parents=True)
    (partial / "marker").write_text("the first run's files")
    with checkpoint.lock_run(output):
        second = run_to_end(tiny_run, output)
    assert second.returncode == 2, second.stdout + second.stderr
    assert f"another run (pid {os.getpid()}) is training into {output}" in second.stderr
    assert (partial / "marker").read_text() == "the first run's files"
    checkpoint.lock_run(output).close()  # released with the file: the folder is free again


def test_teachers_train_side_by_side_and_sigterm_checkpoints_each(tiny_run):
    root = tiny_run["root"] / "teachers"
    args = command(tiny_run, root / "unused")[5:]  # the tiny run's settings after the output folder
    args[args.index("--max-steps") + 1] = "400"  # long enough to be stopped part-way
    teachers = [sys.executable, "-m", "scripts.training.train_teachers", "configs/legal_ner_trf.cfg", str(root),
                "--seeds", "1,2", "--jobs", "2", *args]  # fmt: skip
    proc = subprocess.Popen(teachers, cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    seeds = (root / "seed1", root / "seed2")
    while min(checkpoint_step(s) for s in seeds) < EVERY and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the teachers ended before both had a checkpoint"
    proc.send_signal(signal.SIGTERM)  # to the parent only: it must pass it on
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, out + err
    for seed in (1, 2):
        assert f"teacher seed {seed} stopped (exit 143)" in err
        assert "checkpoint saved" in (root / f"seed{seed}.log").read_text()
        assert checkpoint_step(root / f"seed{seed}") >= EVERY
