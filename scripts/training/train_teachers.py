"""Train the distillation teachers: the default recipe once per seed, ``--jobs`` at a time.

    python -m scripts.training.train_teachers configs/legal_ner_trf.cfg training/teachers --seeds 1,2 \
        --encoder assets/encoders/e5-small-enpt --jobs 2

Each teacher is `scripts.training.train` with its own seed into ``OUT/seed<N>``, so an
interrupted run resumes where it stopped when this command is run again, and a teacher that
has finished (its ``run.json`` exists) is skipped. Seed 0 is the default model (`train`).

With ``--jobs N`` the teachers train N at a time, each with 1/N of the CPU cores as its
torch threads and its output in ``OUT/seed<N>.log``. SIGTERM to this command reaches every
running teacher, and each saves a checkpoint before it stops.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import typer

POLL_S = 1.0


def parse_seeds(seeds: str) -> list[int]:
    try:
        numbers = [int(seed) for seed in seeds.split(",") if seed.strip()]
    except ValueError:
        numbers = []
    if not numbers:
        raise typer.BadParameter(f"--seeds takes integers separated by commas, got {seeds!r}")
    return numbers


def thread_env(jobs: int) -> dict[str, str]:
    """The environment of one of ``jobs`` concurrent teachers: an equal share of the cores."""
    env = dict(os.environ)
    if jobs > 1 and "OMP_NUM_THREADS" not in env:  # the user's own setting wins
        threads = str(max(1, len(os.sched_getaffinity(0)) // jobs))
        env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    return env


class Teachers:
    """The teachers' subprocesses: launched ``jobs`` at a time, reaped as they exit."""

    def __init__(self, train: list[str], options: list[str], output_dir: Path, total: int, jobs: int) -> None:
        self.train, self.options = train, options  # `train CONFIG` and the options every teacher shares
        self.output_dir, self.total, self.jobs = output_dir, total, jobs
        self.env = thread_env(jobs)
        self.running: dict[int, tuple[subprocess.Popen, IO[str] | None]] = {}
        self.failed: list[tuple[int, int]] = []  # (seed, exit code)

    def launch(self, i: int, seed: int) -> None:
        out = self.output_dir / f"seed{seed}"
        command = [*self.train, str(out), "--seed", str(seed), *self.options]
        log, where = None, ""
        if self.jobs > 1:  # side by side: a log file each, or their progress bars interleave
            self.output_dir.mkdir(parents=True, exist_ok=True)
            log = open(self.output_dir / f"seed{seed}.log", "a")  # noqa: SIM115  (closed in reap)
            where = f", output in {log.name}"
        typer.echo(f"teacher {i}/{self.total} (seed {seed}) -> {out}{where}")
        self.running[seed] = (subprocess.Popen(command, env=self.env, stdout=log, stderr=log), log)

    def forward(self, signum: int, _frame: object) -> None:
        for proc, _ in self.running.values():
            proc.send_signal(signum)  # each teacher checkpoints on SIGTERM; reap then reports its exit

    def reap(self) -> None:
        for seed, (proc, log) in list(self.running.items()):
            code = proc.poll()
            if code is None:
                continue
            del self.running[seed]
            if log is not None:
                log.close()
            if code != 0:
                self.failed.append((seed, code))
                typer.echo(f"teacher seed {seed} stopped (exit {code}); run this again to resume", err=True)
            else:
                typer.echo(f"teacher seed {seed}: done, {self.output_dir / f'seed{seed}'}")


def main(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False),
    output_dir: Path = typer.Argument(..., help="Folder of the teachers: OUT/seed<N>"),
    seeds: str = typer.Option(..., help="Comma-separated seeds, e.g. 1,2"),
    encoder: str = typer.Option(...),
    max_steps: int = typer.Option(0),
    gpu_id: int = typer.Option(-1),
    jobs: int = typer.Option(1, min=1, help="Teachers trained at the same time, each on 1/jobs of the cores"),
) -> None:
    numbers = parse_seeds(seeds)
    pending: list[tuple[int, int]] = []
    for i, seed in enumerate(numbers, 1):
        if (output_dir / f"seed{seed}" / "run.json").is_file():
            typer.echo(f"teacher {i}/{len(numbers)} (seed {seed}): done before, {output_dir / f'seed{seed}'}")
        else:
            pending.append((i, seed))
    teachers = Teachers(
        [sys.executable, "-m", "scripts.training.train", str(config_path)],
        ["--encoder", encoder, "--max-steps", str(max_steps), "--gpu-id", str(gpu_id), *ctx.args],
        output_dir, len(numbers), jobs,
    )  # fmt: skip
    previous = signal.signal(signal.SIGTERM, teachers.forward)
    try:
        while pending or teachers.running:
            while pending and len(teachers.running) < jobs and not teachers.failed:
                teachers.launch(*pending.pop(0))
            if not teachers.running:  # all done, or a teacher failed and the others have ended
                break
            time.sleep(POLL_S)
            teachers.reap()
    finally:
        signal.signal(signal.SIGTERM, previous)
    if teachers.failed:
        raise typer.Exit(teachers.failed[0][1])


if __name__ == "__main__":
    app = typer.Typer(add_completion=False)
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(main)
    app()
