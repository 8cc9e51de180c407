"""Train a pipeline config; record wall time, hardware and settings next to the model.

Training writes to ``<output>.partial`` and renames it to ``<output>`` only on success,
so an interrupted run never leaves a model folder that looks complete.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import typer


def hardware(gpu_id: int) -> str:
    if gpu_id >= 0:
        import torch

        return f"GPU {torch.cuda.get_device_name(gpu_id)}"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU {cpu}, {os.cpu_count()} cores"


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def main(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False),
    output_dir: Path = typer.Argument(...),
    encoder: str = typer.Option(..., help="Hugging Face model name or folder for the transformer"),
    max_steps: int = typer.Option(0, help="0 = the config's full training"),
    seed: int = typer.Option(0),
    gpu_id: int = typer.Option(-1),
) -> None:
    from spacy.cli._util import parse_config_overrides
    from spacy.cli.train import train

    import pt_legal_ner  # noqa: F401  (registers the components and the optimizer)

    partial = output_dir.with_name(output_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    overrides = {
        "paths.encoder": encoder,
        "paths.log": str(partial / "train_log.jsonl"),
        "training.max_steps": max_steps,
        "system.seed": seed,
        # any other config setting, spaCy-style: --training.max_epochs 6
        **parse_config_overrides(ctx.args),
    }
    commit = git_commit()  # before training: the tree may change during a long run
    start = time.time()
    train(config_path, partial, use_gpu=gpu_id, overrides=overrides)
    run = {
        "config": str(config_path),
        "overrides": overrides | {"paths.log": str(output_dir / "train_log.jsonl")},
        "command": " ".join([Path(sys.executable).name, "-m", "scripts.train", *sys.argv[1:]]),
        "wall_time_s": round(time.time() - start, 1),
        "hardware": hardware(gpu_id),
        "git_commit": commit,
    }
    (partial / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    shutil.rmtree(output_dir, ignore_errors=True)
    partial.rename(output_dir)
    typer.echo(f"Trained in {run['wall_time_s']} s on {run['hardware']} -> {output_dir}")


if __name__ == "__main__":
    app = typer.Typer(add_completion=False)
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(main)
    app()
