"""A training checkpoint: weights, optimizer state, data position, RNG and loop state.

Written every N steps by scripts/training/train_loop.py so that the same command, run again after an
interruption, goes on from the last one and ends exactly where an uninterrupted run ends.

thinc's optimizer keys its state by ``(node id, parameter name)``, and node ids are process
counters: a new process gives the same nodes other ids. The state is therefore saved under
structural keys (pipe name, position in ``model.walk()``, shim index) and mapped back to the
ids of the resumed process.
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import random
import shutil
from pathlib import Path
from typing import IO, Any

import numpy
from thinc.api import Optimizer, get_current_ops
from thinc.backends import get_array_ops

CHECKPOINT = "checkpoint"
STATE_FILE = "state.json"
OPTIMIZER_FILE = "optimizer.pkl"
RNG_FILE = "rng.pkl"
NLP_DIR = "nlp"
# optimizer attributes holding per-parameter state (thinc 8.3's Optimizer)
PER_KEY = ("mom1", "mom2", "averages", "nr_update", "last_seen")


class Busy(RuntimeError):
    """Another process is training into the same output folder."""


def lock_run(output_dir: Path) -> IO[str]:
    """Lock ``<output_dir>.lock`` for one run, or raise Busy; closing the file releases it.

    Two runs resuming one checkpoint would overwrite each other's. The kernel drops the lock
    when its process dies, even on SIGKILL, so a file left behind blocks nothing.
    """
    lock_path = output_dir.with_name(output_dir.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    f = open(lock_path, "a+")  # noqa: SIM115  (held open for the run: the caller closes it)
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "unknown"
        f.close()
        raise Busy(f"another run (pid {holder}) is training into {output_dir}") from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def structural_keys(nlp) -> dict[tuple[str, int], str]:
    """Map each ``(kind, id)`` of the pipeline's nodes and shims to a name stable across processes."""
    names: dict[tuple[str, int], str] = {}
    for pipe_name, proc in nlp.pipeline:
        model = getattr(proc, "model", None)
        if model in (None, True, False):
            continue
        for i, node in enumerate(model.walk()):
            names.setdefault(("node", node.id), f"{pipe_name}/{i}")
            for j, shim in enumerate(node.shims):
                names.setdefault(("shim", shim.id), f"{pipe_name}/{i}/shim{j}")
    return names


def _kind(key: tuple[int, str]) -> str:
    # torch parameters (shims) are named by their dotted module path, thinc's by a bare name
    return "shim" if "." in key[1] else "node"


def optimizer_state(optimizer: Optimizer, nlp) -> dict[str, Any]:
    names = structural_keys(nlp)
    state: dict[str, Any] = {}
    for attr in PER_KEY:
        table = getattr(optimizer, attr)
        if table is None:
            state[attr] = None
            continue
        saved = {}
        for key, value in table.items():
            name = names.get((_kind(key), key[0]))
            if name is None:
                raise ValueError(f"optimizer key {key} belongs to no node of the pipeline")
            if not isinstance(value, int):
                value = get_array_ops(value).to_numpy(value).copy()
            saved[(name, key[1])] = value
        state[attr] = saved
    return state


def restore_optimizer(optimizer: Optimizer, nlp, state: dict[str, Any], steps: int) -> None:
    """Put saved per-parameter state into a freshly built optimizer and advance its schedules."""
    ids = {name: key for key, name in structural_keys(nlp).items()}
    ops = get_current_ops()
    for attr in PER_KEY:
        saved = state[attr]
        if saved is None:
            continue
        table = getattr(optimizer, attr)
        table.clear()
        for (name, param), value in saved.items():
            if name not in ids:
                raise ValueError(f"checkpoint has optimizer state for {name}, which this pipeline lacks")
            if not isinstance(value, int):
                value = ops.asarray(value)
            table[(ids[name][1], param)] = value
    for _ in range(steps):
        optimizer.step_schedules()


def rng_state() -> dict[str, Any]:
    import torch

    state = {"python": random.getstate(), "numpy": numpy.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["torch_cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    import torch

    random.setstate(state["python"])
    numpy.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "torch_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["torch_cuda"])


def save(folder: Path, nlp, optimizer: Optimizer, loop_state: dict[str, Any]) -> None:
    """Write ``folder/checkpoint`` whole or not at all (a kill mid-write keeps the previous one)."""
    final = folder / CHECKPOINT
    tmp = folder / (CHECKPOINT + ".tmp")
    old = folder / (CHECKPOINT + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    nlp.to_disk(tmp / NLP_DIR)
    with (tmp / OPTIMIZER_FILE).open("wb") as f:
        pickle.dump(optimizer_state(optimizer, nlp), f, protocol=pickle.HIGHEST_PROTOCOL)
    with (tmp / RNG_FILE).open("wb") as f:
        pickle.dump(rng_state(), f, protocol=pickle.HIGHEST_PROTOCOL)
    # state.json last: its presence marks a complete checkpoint
    (tmp / STATE_FILE).write_text(json.dumps(loop_state, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def latest(folder: Path) -> Path | None:
    """The newest complete checkpoint in ``folder`` (also one left as .old by a kill mid-swap)."""
    for name in (CHECKPOINT, CHECKPOINT + ".old"):
        path = folder / name
        if (path / STATE_FILE).is_file():
            return path
    return None


def load_state(path: Path) -> dict[str, Any]:
    return json.loads((path / STATE_FILE).read_text(encoding="utf-8"))


def load_pickle(path: Path, name: str) -> Any:
    with (path / name).open("rb") as f:
        return pickle.load(f)
