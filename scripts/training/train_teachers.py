"""Train the distillation teachers: the default recipe once per seed, one after another.

    python -m scripts.training.train_teachers configs/legal_ner_trf.cfg training/teachers --seeds 1,2 \
        --encoder assets/encoders/e5-small-enpt

Each teacher is `scripts.training.train` with its own seed into ``OUT/seed<N>``, so an
interrupted run resumes where it stopped when this command is run again, and a teacher that
has finished (its ``run.json`` exists) is skipped. Seed 0 is the default model (`train`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer


def main(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False),
    output_dir: Path = typer.Argument(..., help="Folder of the teachers: OUT/seed<N>"),
    seeds: str = typer.Option(..., help="Comma-separated seeds, e.g. 1,2"),
    encoder: str = typer.Option(...),
    max_steps: int = typer.Option(0),
    gpu_id: int = typer.Option(-1),
) -> None:
    try:
        numbers = [int(seed) for seed in seeds.split(",") if seed.strip()]
    except ValueError:
        numbers = []
    if not numbers:
        raise typer.BadParameter(f"--seeds takes integers separated by commas, got {seeds!r}") from None
    for i, seed in enumerate(numbers, 1):
        out = output_dir / f"seed{seed}"
        if (out / "run.json").is_file():
            typer.echo(f"teacher {i}/{len(numbers)} (seed {seed}): done before, {out}")
            continue
        typer.echo(f"teacher {i}/{len(numbers)} (seed {seed}) -> {out}")
        command = [
            sys.executable, "-m", "scripts.training.train", str(config_path), str(out), "--encoder", encoder,
            "--max-steps", str(max_steps), "--seed", str(seed), "--gpu-id", str(gpu_id), *ctx.args,
        ]  # fmt: skip
        code = subprocess.call(command)
        if code != 0:
            typer.echo(f"teacher seed {seed} stopped (exit {code}); run the same command again to resume", err=True)
            raise typer.Exit(code)


if __name__ == "__main__":
    app = typer.Typer(add_completion=False)
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(main)
    app()
