"""CPU time of a real training step of the default config: padded windows, buckets, and buckets
without attention dropout, side by side.

    python -m scripts.benchmarks.benchmark_train_step configs/legal_ner_trf.cfg corpus/train.spacy \
        --encoder assets/encoders/e5-small-enpt --output metrics/benchmark_train_step.txt

Each variant is the config's pipeline with one override, initialized with the same seed, and
trained with the config's optimizer (``nlp.update``, dropout 0.1) on the same LeNER-Br batches
(the config's batcher over the shuffled training split):
- ``padded``: ``train_buckets = false``, spacy-transformers' path: a batch's windows padded to the
  longest;
- ``buckets``: the default, windows in buckets of similar length;
- ``buckets, no attention dropout``: BERT's attention dropout keeps torch's CPU attention on its
  unfused path; without it the fused kernel runs. It is another recipe, not adopted.
The variants run in alternating rounds, so a busy machine slows them alike; the figure is each
one's best round, and its ratio against ``padded``. First it counts, over every batch of the
split, the word pieces the encoder computes in each way against the real ones.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import typer

from pt_legal_ner.io.atomic import write_text_atomic
from scripts.provenance import git_commit, hardware


def padded_pieces(nlp, batches: list[list]) -> tuple[int, int, int]:
    """(real, padded to each batch's longest, padded in buckets) word pieces over ``batches``."""
    from spacy_transformers.layers.transformer_model import huggingface_tokenize

    from pt_legal_ner.components.transformer_model import buckets

    model = nlp.get_pipe("transformer").model
    cpu = model.layers[0].attrs["cpu"]
    real = padded = bucketed = 0
    for batch in batches:
        spans = [span for doc_spans in model.attrs["get_spans"]([e.predicted for e in batch]) for span in doc_spans]
        lengths = huggingface_tokenize(model.tokenizer, [span.text for span in spans])["attention_mask"].sum(axis=1)
        real += int(lengths.sum())
        padded += len(lengths) * int(lengths.max())
        groups = buckets(lengths, cpu.max_batch_pieces, cpu.call_cost_pieces)
        bucketed += sum(len(rows) * int(lengths[rows].max()) for rows in groups)
    return real, padded, bucketed


VARIANTS = {
    "padded": {"components.transformer.model.train_buckets": False},
    "buckets": {},
    "buckets, no attention dropout": {
        "components.transformer.model.transformer_config": {"attention_probs_dropout_prob": 0.0},
    },
}


def main(
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False),
    corpus: Path = typer.Argument(..., exists=True, dir_okay=False, help="A .spacy training corpus"),
    encoder: str = typer.Option(...),
    batches: int = typer.Option(6, min=1, help="training steps per round"),
    rounds: int = typer.Option(2, min=1),
    output: Path | None = typer.Option(None, help="also write the figures here, with command, hardware and commit"),
) -> None:
    import spacy
    import torch
    from spacy.tokens import DocBin
    from spacy.training import Example

    import pt_legal_ner  # noqa: F401  (registers the architecture and the optimizer)

    blank = spacy.blank("pt")
    docs = list(DocBin().from_disk(corpus).get_docs(blank.vocab))
    random.Random(0).shuffle(docs)
    examples = [Example(blank.make_doc(doc.text), doc) for doc in docs]
    lines = [
        f"command: python -m scripts.benchmarks.benchmark_train_step {' '.join(sys.argv[1:])}",
        f"hardware: {hardware(-1)}; commit: {git_commit()}",
    ]
    steps = {}
    for name, overrides in VARIANTS.items():
        config = spacy.util.load_config(config_path, overrides={"paths.encoder": encoder, **overrides})
        spacy.util.fix_random_seed(0)
        nlp = spacy.util.load_model_from_config(config, auto_fill=True)
        optimizer = nlp.initialize(lambda: examples[:200])
        batcher = spacy.registry.resolve({"batcher": config["training"]["batcher"]})["batcher"]
        work = [[Example(nlp.make_doc(e.reference.text), e.reference) for e in b] for b in batcher(examples)]
        steps[name] = (nlp, optimizer, work[:batches])
        if name == "buckets":
            real, padded, bucketed = padded_pieces(nlp, work)
            lines.append(
                f"{len(work)} batches, {real:,} word pieces: the encoder computes {padded / real:.2f}x as many"
                f" padded to each batch's longest, {bucketed / real:.2f}x in buckets"
            )
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, (nlp, optimizer, work) in steps.items():
            start = time.perf_counter()
            for batch in work:
                nlp.update(batch, sgd=optimizer, drop=0.1)
            best[name] = min(best.get(name, float("inf")), (time.perf_counter() - start) / len(work))
    words = sum(len(e.reference) for e in steps["padded"][2][0])
    threads = torch.get_num_threads()
    lines.append(
        f"{batches} steps a round, best of {rounds} rounds (the first batch: {words} words), {threads} threads,"
        f" torch {torch.__version__}"
    )
    lines += [f"{name:32s} {seconds:6.2f} s/step  {best['padded'] / seconds:.2f}x" for name, seconds in best.items()]
    if output is not None:
        write_text_atomic(output, "\n".join(lines) + "\n")
    typer.echo("\n".join(lines))


if __name__ == "__main__":
    typer.run(main)
