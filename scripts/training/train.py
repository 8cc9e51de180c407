"""Train a pipeline config; record wall time, hardware and settings next to the model.

Training writes to ``<output>.partial`` and renames it to ``<output>`` only on success,
so an interrupted run never leaves a model folder that looks complete. A checkpoint in
``<output>.partial/checkpoint`` every ``--checkpoint-every`` steps (and on SIGTERM) lets the
same command, run again, resume there (scripts/training/train_loop.py).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import typer

from scripts.provenance import git_commit, hardware, isa_caps


def bf16_flags() -> list[str]:
    """The CPU's bf16 and int8 matrix flags: what decides its training and inference paths."""
    from pt_legal_ner.components.encoder_runtime import BF16_CPU_FLAGS, INT8_CPU_FLAGS, cpu_flags

    return sorted(cpu_flags() & {*BF16_CPU_FLAGS, *INT8_CPU_FLAGS})


def machine_record(gpu_id: int) -> dict:
    """run.json's hardware fields; kernel caps, when set, are named in the hardware line too, since a
    run under them stands for another CPU (its code paths, not its clocks)."""
    record = {"hardware": hardware(gpu_id), "cpu_flags": bf16_flags()}
    if caps := isa_caps():
        record |= {"hardware": f"{record['hardware']}, kernels capped ({caps})", "isa_caps": caps}
    return record


def fingerprint(config_path: Path, overrides: dict) -> str:
    """What makes two runs the same run: the parsed config with every override but the log path.

    Parsed, not raw text, so that editing a comment in the config does not orphan a checkpoint.
    """
    from spacy import util

    settings = {k: v for k, v in overrides.items() if k != "paths.log"}
    config = util.load_config(config_path, overrides=settings, interpolate=False)
    return hashlib.sha256(config.to_str().encode("utf-8")).hexdigest()


def main(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False),
    output_dir: Path = typer.Argument(...),
    encoder: str = typer.Option(..., help="Hugging Face model name or folder for the transformer"),
    max_steps: int = typer.Option(0, help="0 = the config's full training"),
    seed: int = typer.Option(0),
    gpu_id: int = typer.Option(-1),
    precision: str = typer.Option(
        "auto", help="CPU training precision: bf16, fp32, or auto (bf16 where the CPU has amx_bf16 or avx512_bf16)"
    ),
    checkpoint_every: int = typer.Option(50, help="Save a resumable checkpoint every N steps (0 = only on SIGTERM)"),
    fresh: bool = typer.Option(False, "--fresh", help="Discard a checkpoint left by an interrupted run"),
) -> None:
    """Train; run the same command again after an interruption and it resumes from the last checkpoint."""
    from spacy import util
    from spacy.cli._util import parse_config_overrides, setup_gpu
    from spacy.training.initialize import init_nlp

    import pt_legal_ner  # noqa: F401  (registers the components and the optimizer)
    from pt_legal_ner.components.transformer_model import TRAIN_PRECISIONS, training_precision
    from scripts.training import checkpoint, train_loop

    if precision not in TRAIN_PRECISIONS:
        raise typer.BadParameter(f"must be one of {', '.join(TRAIN_PRECISIONS)}", param_hint="--precision")

    partial = output_dir.with_name(output_dir.name + ".partial")
    log_path = partial / "train_log.jsonl"
    overrides = {
        "paths.encoder": encoder,
        "paths.log": str(log_path),
        "training.max_steps": max_steps,
        "system.seed": seed,
        # resolved here, so that a checkpoint cannot be resumed in the other precision (its fingerprint)
        "components.transformer.model.train_precision": training_precision(precision),
        # any other config setting, spaCy-style: --training.max_epochs 6
        **parse_config_overrides(ctx.args),
    }
    print_ = fingerprint(config_path, overrides)
    try:
        lock = checkpoint.lock_run(output_dir)
    except checkpoint.Busy as e:
        typer.echo(f"{e}: wait for it to end, or stop it and run this again to resume", err=True)
        raise typer.Exit(2) from None
    with lock:
        resume = None if fresh else checkpoint.latest(partial)
        if resume is not None:
            state = checkpoint.load_state(resume)
            if state["fingerprint"] != print_:
                typer.echo(
                    f"{resume} is the checkpoint of a run with another config or other settings; "
                    "run the same command as before to resume it, or add --fresh to discard it",
                    err=True,
                )
                raise typer.Exit(2)
            train_loop.resume_log(log_path, state["loop"]["log"])
        else:
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
        commit = git_commit()  # before training: the tree may change during a long run
        setup_gpu(gpu_id)
        config = util.load_config(config_path, overrides=overrides, interpolate=False)
        nlp = init_nlp(config, use_gpu=gpu_id)
        if resume is not None:
            nlp.from_disk(resume / checkpoint.NLP_DIR)
        try:
            loop = train_loop.train(
                nlp, partial, checkpoint_every=checkpoint_every, resume_from=resume, fingerprint=print_, use_gpu=gpu_id
            )
        except train_loop.Interrupted as e:
            typer.echo(f"{e}: run the same command again to resume", err=True)
            raise typer.Exit(143) from None
        train_loop.finish_log(log_path)
        for name in (checkpoint.CHECKPOINT, checkpoint.CHECKPOINT + ".old"):
            shutil.rmtree(partial / name, ignore_errors=True)  # ~4x the model's size; the run is complete
        run = {
            "config": str(config_path),
            "overrides": overrides | {"paths.log": str(output_dir / "train_log.jsonl")},
            "command": " ".join([Path(sys.executable).name, "-m", "scripts.training.train", *sys.argv[1:]]),
            "wall_time_s": round(loop["seconds"], 1),
            "train_precision": "gpu" if gpu_id >= 0 else overrides["components.transformer.model.train_precision"],
            **machine_record(gpu_id),
            "git_commit": commit,
        }
        if resume is not None:
            run["resumed_at_step"] = state["loop"]["step"]
        (partial / "run.json").write_text(json.dumps(run, indent=2) + "\n")
        shutil.rmtree(output_dir, ignore_errors=True)
        partial.rename(output_dir)
        typer.echo(f"Trained in {run['wall_time_s']} s on {run['hardware']} -> {output_dir}")


if __name__ == "__main__":
    app = typer.Typer(add_completion=False)
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(main)
    app()
