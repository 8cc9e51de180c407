"""CPU time of the encoder's training step (forward + backward) with and without attention dropout.

    python -m scripts.benchmarks.benchmark_train_step assets/encoders/e5-small-enpt

BERT's attention dropout (0.1) keeps torch's CPU attention on its unfused path, which builds
each layer's full score matrix; without it the fused kernel runs. Both variants are loaded
once and timed in alternating rounds on the same batch (8 windows of 256 pieces, as the
config's strided spans make them, 2 of them padded), so a busy machine slows both alike. The
figure is the best round of each, and their ratio.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

WINDOWS, WINDOW = 8, 256


def main(
    encoder: Path = typer.Argument(..., exists=True, file_okay=False),
    rounds: int = typer.Option(3, min=1),
    steps: int = typer.Option(2, min=1, help="steps per round"),
) -> None:
    import torch
    from transformers import AutoModel

    torch.manual_seed(0)
    models = {p: AutoModel.from_pretrained(encoder, attention_probs_dropout_prob=p).train() for p in (0.1, 0.0)}
    ids = torch.randint(5, 1000, (WINDOWS, WINDOW))
    mask = torch.ones_like(ids)
    mask[-2:, WINDOW * 3 // 4 :] = 0
    best: dict[float, float] = {}
    for _ in range(rounds):
        for p, model in models.items():
            start = time.perf_counter()
            for _ in range(steps):
                model(input_ids=ids, attention_mask=mask).last_hidden_state.pow(2).mean().backward()
                model.zero_grad()
            best[p] = min(best.get(p, float("inf")), (time.perf_counter() - start) / steps)
    for p, seconds in best.items():
        typer.echo(f"attention dropout {p}: {seconds:.2f} s per forward + backward of {WINDOWS} x {WINDOW} pieces")
    typer.echo(f"ratio: {best[0.1] / best[0.0]:.2f}x ({torch.get_num_threads()} threads, torch {torch.__version__})")


if __name__ == "__main__":
    typer.run(main)
