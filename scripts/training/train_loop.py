"""spaCy's training loop with checkpoints: an interrupted run resumes where it stopped.

The loop is spaCy 3.8's ``spacy.training.loop.train`` and ``train_while_improving``, step for
step (same batches, dropout, evaluation, best-model and model-last saves, console logger);
what it adds is a checkpoint every ``checkpoint_every`` steps and on SIGTERM (scripts/training/checkpoint.py)
and a start from the latest one. The batches are spaCy's ``create_train_batches`` with the
epoch's shuffled order and the batch index kept, so a resumed run sees the same data in the
same order. On CPU the result is bit for bit that of an uninterrupted run
(tests/test_train_resume.py).
"""

from __future__ import annotations

import random
import shutil
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from timeit import default_timer as timer
from typing import Any

import srsly
from spacy.schemas import ConfigSchemaTraining
from spacy.training.loop import (
    DIR_MODEL_BEST,
    DIR_MODEL_LAST,
    create_before_to_disk_callback,
    create_evaluation_callback,
    subdivide_batch,
    update_meta,
)
from spacy.util import registry, resolve_dot_names
from thinc.api import constant, fix_random_seed, set_gpu_allocator

from scripts.training import checkpoint

EARLIER_LOG_SUFFIX = ".earlier"


class Interrupted(Exception):
    """SIGTERM arrived: the run saved a checkpoint after its current step and stopped."""


class Batches:
    """spaCy's ``create_train_batches`` (fixed epochs), with a position that can be saved and restored.

    Shuffling a list of indices consumes the RNG exactly as shuffling the examples does, so
    the order is spaCy's; keeping it lets a resumed run rebuild the current epoch.
    """

    def __init__(self, examples: list, batcher: Callable, max_epochs: int, position: dict | None = None) -> None:
        if not examples:
            raise ValueError("the training corpus is empty")
        self.examples = examples
        self.batcher = batcher
        self.max_epochs = max_epochs
        position = position or {"epoch": 0, "order": None, "index": 0}
        self.epoch = position["epoch"]
        self.order = position["order"] or list(range(len(examples)))
        self.index = position["index"]
        self._resume = position["order"] is not None

    def position(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "order": list(self.order), "index": self.index}

    def __iter__(self) -> Iterator[tuple[int, list]]:
        while self.max_epochs < 1 or self.epoch != self.max_epochs:
            if self._resume:
                self._resume = False
            else:
                random.shuffle(self.order)
                self.index = 0
            skip = self.index
            for i, batch in enumerate(self.batcher([self.examples[j] for j in self.order])):
                if i < skip:
                    continue
                self.index = i + 1
                yield self.epoch, batch
            self.epoch += 1


def log_entry(nlp, info: dict[str, Any]) -> dict[str, Any]:
    """The line spaCy's ConsoleLogger writes to its log file for an evaluated step."""
    pipes = [name for name, proc in nlp.pipeline if getattr(proc, "is_trainable", False)]
    cols = [col for col, weight in nlp.config["training"]["score_weights"].items() if weight is not None]
    scores = {}
    for col in cols:
        score = float(info["other_scores"].get(col, 0.0))
        scores[col] = score if col == "speed" else score * 100
    return {
        "epoch": info["epoch"],
        "step": info["step"],
        "losses": {name: float(info["losses"][name]) for name in pipes},
        "scores": scores,
        "score": float(info["score"]),
    }


def resume_log(log_path: Path, entries: list[dict]) -> None:
    """Keep the checkpoint's log entries in ``<log>.earlier``: a killed logger may not have flushed them."""
    earlier = log_path.with_name(log_path.name + EARLIER_LOG_SUFFIX)
    earlier.write_text("".join(srsly.json_dumps(entry) + "\n" for entry in entries), encoding="utf-8")
    log_path.unlink(missing_ok=True)


def finish_log(log_path: Path) -> None:
    """Join the checkpoint's entries and this segment's into one log."""
    earlier = log_path.with_name(log_path.name + EARLIER_LOG_SUFFIX)
    if earlier.exists():
        segment = log_path.read_text(encoding="utf-8") if log_path.exists() else ""
        log_path.write_text(earlier.read_text(encoding="utf-8") + segment, encoding="utf-8")
        earlier.unlink()


class _SigtermFlag:
    """Turns SIGTERM (what preemptible machines send before the kill) into 'checkpoint, then stop'."""

    def __init__(self) -> None:
        self.raised = False

    def __enter__(self) -> _SigtermFlag:
        self._previous = signal.signal(signal.SIGTERM, self._set)
        return self

    def _set(self, signum, frame) -> None:
        self.raised = True

    def __exit__(self, *exc) -> None:
        signal.signal(signal.SIGTERM, self._previous)


def train(
    nlp,
    output_path: Path,
    *,
    checkpoint_every: int,
    resume_from: Path | None,
    fingerprint: str,
    use_gpu: int = -1,
    stdout=sys.stdout,
) -> dict[str, Any]:
    """Train ``nlp`` (from ``init_nlp``) into ``output_path``; return the final loop state.

    With ``resume_from``, the pipeline's weights must already be the checkpoint's; the
    optimizer, RNG, data position and loop state are restored here.
    """
    config = nlp.config.interpolate()
    if config["training"]["seed"] is not None:
        fix_random_seed(config["training"]["seed"])
    allocator = config["training"]["gpu_allocator"]
    if use_gpu >= 0 and allocator:
        set_gpu_allocator(allocator)
    T = registry.resolve(config["training"], schema=ConfigSchemaTraining)
    train_corpus, dev_corpus = resolve_dot_names(config, [T["train_corpus"], T["dev_corpus"]])
    if T["max_epochs"] < 0:
        raise ValueError("training.max_epochs < 0 streams the corpus; resumable training needs a fixed corpus")
    optimizer = T["optimizer"]
    before_to_disk = create_before_to_disk_callback(T["before_to_disk"])
    evaluate = create_evaluation_callback(nlp, dev_corpus, T["score_weights"])
    frozen, annotating = T["frozen_components"], T["annotating_components"]
    dropouts = constant(T["dropout"]) if isinstance(T["dropout"], float) else T["dropout"]

    loop: dict[str, Any] = {
        "step": 0, "results": [], "losses": {}, "words": 0, "seconds": 0.0, "position": None, "log": []
    }  # fmt: skip
    if resume_from is not None:
        loop = checkpoint.load_state(resume_from)["loop"]
        saved = checkpoint.load_pickle(resume_from, checkpoint.OPTIMIZER_FILE)
        checkpoint.restore_optimizer(optimizer, nlp, saved, loop["step"])
        for _ in range(loop["step"]):
            next(dropouts)
    batches = Batches(list(train_corpus(nlp)), T["batcher"], T["max_epochs"], loop["position"])
    if resume_from is not None:
        checkpoint.restore_rng(checkpoint.load_pickle(resume_from, checkpoint.RNG_FILE))
        stdout.write(f"Resuming from {resume_from} at step {loop['step']}\n")
    else:
        for sub in (DIR_MODEL_BEST, DIR_MODEL_LAST):
            shutil.rmtree(output_path / sub, ignore_errors=True)

    def save_model(is_best: bool) -> None:
        with nlp.use_params(optimizer.averages):
            before_to_disk(nlp).to_disk(output_path / DIR_MODEL_LAST)
        if is_best:
            # via a copy and a rename: a kill mid-copy must not leave a broken model-best
            tmp = output_path / (DIR_MODEL_BEST + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(output_path / DIR_MODEL_LAST, tmp)
            shutil.rmtree(output_path / DIR_MODEL_BEST, ignore_errors=True)
            tmp.rename(output_path / DIR_MODEL_BEST)

    def save_checkpoint(next_step: int) -> None:
        loop.update(step=next_step, position=batches.position(), seconds=timer() - start_time)
        checkpoint.save(output_path, nlp, optimizer, {"fingerprint": fingerprint, "loop": loop})

    stdout.write(f"Pipeline: {nlp.pipe_names}; initial learn rate {optimizer.learn_rate}\n")
    with nlp.select_pipes(disable=frozen):
        log_step, finalize_logger = T["logger"](nlp, stdout, sys.stderr)
    results = [tuple(r) for r in loop["results"]]
    losses: dict[str, float] = loop["losses"]
    start_time = timer() - loop["seconds"]
    try:
        with _SigtermFlag() as sigterm:
            for step, (epoch, batch) in enumerate(batches, start=loop["step"]):
                if T["before_update"]:
                    T["before_update"](nlp, {"step": step, "epoch": epoch})
                dropout = next(dropouts)
                for subbatch in subdivide_batch(batch, T["accumulate_gradient"]):
                    nlp.update(subbatch, drop=dropout, losses=losses, sgd=False, exclude=frozen, annotates=annotating)
                for name, proc in nlp.pipeline:
                    if (
                        name not in frozen
                        and getattr(proc, "is_trainable", False)
                        and proc.model not in (True, False, None)
                    ):
                        proc.finish_update(optimizer)
                optimizer.step_schedules()
                is_best = None
                info: dict[str, Any] = {"epoch": epoch, "step": step, "score": None, "other_scores": None}
                if not step % T["eval_frequency"]:
                    with nlp.use_params(optimizer.averages) if optimizer.averages else nullcontext():
                        info["score"], info["other_scores"] = evaluate()
                    results.append((info["score"], step))
                    is_best = info["score"] == max(results)[0]
                loop["words"] += sum(len(eg) for eg in batch)
                info.update(losses=losses, checkpoints=results, seconds=int(timer() - start_time), words=loop["words"])
                if is_best is not None:
                    with nlp.select_pipes(disable=frozen):
                        update_meta(T, nlp, info)
                    save_model(is_best)
                    loop["log"].append(log_entry(nlp, info))
                    info["output_path"] = str(output_path / DIR_MODEL_LAST)
                log_step(info if is_best is not None else None)
                if is_best is not None:
                    losses = {}
                best_step = -max((score, -s) for score, s in results)[1]
                if T["patience"] and (step - best_step) >= T["patience"]:
                    break
                if T["max_steps"] and step >= T["max_steps"]:
                    break
                loop.update(results=results, losses=losses)
                if sigterm.raised or (checkpoint_every and (step + 1) % checkpoint_every == 0):
                    save_checkpoint(step + 1)
                if sigterm.raised:
                    raise Interrupted(f"stopped by SIGTERM after step {step}; checkpoint saved")
    finally:
        finalize_logger()
    save_model(False)
    loop.update(results=results, losses=losses, seconds=timer() - start_time)
    return loop
