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
    env = thread_env(jobs)
    running: dict[int, tuple[subprocess.Popen, object]] = {}
    failed: list[tuple[int, int]] = []

    def forward(signum: int, _frame: object) -> None:
        for proc, _ in running.values():
            proc.send_signal(signum)  # each teacher checkpoints on SIGTERM; we then report its exit

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        while pending or running:
            while pending and len(running) < jobs and not failed:
                i, seed = pending.pop(0)
                out = output_dir / f"seed{seed}"
                command = [
                    sys.executable, "-m", "scripts.training.train", str(config_path), str(out),
                    "--encoder", encoder, "--max-steps", str(max_steps), "--seed", str(seed),
                    "--gpu-id", str(gpu_id), *ctx.args,
                ]  # fmt: skip
                if jobs == 1:
                    log = None
                    typer.echo(f"teacher {i}/{len(numbers)} (seed {seed}) -> {out}")
                else:
                    output_dir.mkdir(parents=True, exist_ok=True)
                    log = open(output_dir / f"seed{seed}.log", "a")  # noqa: SIM115  (closed when it exits)
                    typer.echo(f"teacher {i}/{len(numbers)} (seed {seed}) -> {out}, output in {log.name}")
                running[seed] = (subprocess.Popen(command, env=env, stdout=log, stderr=log), log)
            if not running:  # all done, or a teacher failed and the others have ended
                break
            time.sleep(POLL_S)
            for seed, (proc, log) in list(running.items()):
                code = proc.poll()
                if code is None:
                    continue
                del running[seed]
                if log is not None:
                    log.close()
                if code != 0:
                    failed.append((seed, code))
                    typer.echo(f"teacher seed {seed} stopped (exit {code}); run this again to resume", err=True)
                else:
                    typer.echo(f"teacher seed {seed}: done, {output_dir / f'seed{seed}'}")
    finally:
        signal.signal(signal.SIGTERM, previous)
    if failed:
        raise typer.Exit(failed[0][1])


if __name__ == "__main__":
    app = typer.Typer(add_completion=False)
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(main)
    app()
