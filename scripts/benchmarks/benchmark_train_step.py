"""CPU time of a real training step of the default config, variant by variant, side by side.

    python -m scripts.benchmarks.benchmark_train_step configs/legal_ner_trf.cfg corpus/train.spacy \
        --encoder assets/encoders/e5-small-enpt --output metrics/benchmark_train_step.txt

Each variant is the config's pipeline with overrides, initialized with the same seed, and
trained with the config's optimizer (``nlp.update``, dropout 0.1) on the same LeNER-Br batches
(the config's batcher over the shuffled training split). The first is the fp32 step of the
recipe before issue 38 (windows in buckets, thinc's Adam, attention dropout 0.1); each next one
changes one thing, up to the default on a CPU with bf16 (``train_precision = "auto"``):
- ``torch Adam``: the encoder's parameters updated by torch's fused AdamW kernel
  (``torch_kernels``) instead of thinc's one-thread loop;
- ``no attention dropout``: torch's fused attention kernel runs only without it;
- ``bf16``: the buckets under torch's bf16 autocast (fast where the CPU has amx_bf16 or
  avx512_bf16, emulated and slow elsewhere);
- then, not the default: ``fp32 attention`` inside the bf16 step (``fp32_attention``).
The variants run in alternating rounds, so a busy machine slows them alike; the figure is each
one's best round, and its ratio against the first. A last round under cProfile splits the first
variant's step, the default's and the last one's into the encoder's forward, its backward, the
optimizer (every parameter) and the rest (the tagger, the listener, spaCy's loop), and one more
under torch's profiler lists the operators the last three (fp32, bf16, bf16 with fp32 attention,
the same settings otherwise) spend their time in. First it counts, over every batch of the split,
the word pieces the encoder computes in buckets against the real ones.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import typer

from pt_legal_ner.io.atomic import write_text_atomic
from scripts.provenance import git_commit, hardware, isa_caps


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


def attention_dropout(p: float) -> dict:
    """The override that sets the encoder's attention dropout. It replaces the whole
    transformer_config section, and a key left out falls back to the encoder's config.json (0.1
    there), so every variant states it."""
    return {"components.transformer.model.transformer_config": {"attention_probs_dropout_prob": p}}


BEFORE = {
    "components.transformer.model.train_precision": "fp32",
    "training.optimizer.torch_kernels": False,
    **attention_dropout(0.1),
}
DEFAULT = "bf16, torch Adam, no attn dropout"
DEFAULT_BF16 = {"components.transformer.model.train_precision": "bf16", **attention_dropout(0.0)}
VARIANTS = {
    "fp32, thinc Adam (before)": BEFORE,
    "fp32, torch Adam": {**BEFORE, "training.optimizer.torch_kernels": True},
    "fp32, torch Adam, no attn dropout": {**BEFORE, "training.optimizer.torch_kernels": True, **attention_dropout(0.0)},
    DEFAULT: DEFAULT_BF16,
    "bf16, no attn dropout, fp32 attention": {**DEFAULT_BF16, "components.transformer.model.fp32_attention": True},
}  # fmt: skip
# the variants whose operators --ops lists: fp32, bf16 and bf16 with fp32 attention, alike otherwise
OPS_VARIANTS = list(VARIANTS)[-3:]
# (file ending, function) of what the profile splits out; the rest of the step is "other"
PARTS = {
    "encoder forward": ("transformer_model.py", "train_forward"),
    "encoder backward": ("transformer_model.py", "backprop"),
    "optimizer": ("thinc/model.py", "finish_update"),
}


def one_round(nlp, optimizer, work: list) -> None:
    """One training step per batch of ``work``, as the config trains (dropout 0.1)."""
    for batch in work:
        nlp.update(batch, sgd=optimizer, drop=0.1)


def profile_split(nlp, optimizer, work: list) -> dict[str, float]:
    """Seconds a step spends in each of ``PARTS`` and in the rest, under cProfile."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    one_round(nlp, optimizer, work)
    profiler.disable()
    total = (time.perf_counter() - start) / len(work)
    stats = pstats.Stats(profiler).stats
    split = {
        part: sum(row[3] for (path, _, name), row in stats.items() if path.endswith(end) and name == func) / len(work)
        for part, (end, func) in PARTS.items()
    }
    return split | {"other": total - sum(split.values()), "step": total}


def top_ops(nlp, optimizer, work: list, n: int) -> list[tuple[str, float, float]]:
    """The ``n`` torch operators with the most self CPU time over one round, under torch's profiler:
    (name, ms per step, calls per step)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        one_round(nlp, optimizer, work)
    rows = sorted(prof.key_averages(), key=lambda row: row.self_cpu_time_total, reverse=True)[:n]
    return [(row.key, row.self_cpu_time_total / 1000 / len(work), row.count / len(work)) for row in rows]


def main(
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False),
    corpus: Path = typer.Argument(..., exists=True, dir_okay=False, help="A .spacy training corpus"),
    encoder: str = typer.Option(...),
    batches: int = typer.Option(6, min=1, help="training steps per round"),
    rounds: int = typer.Option(2, min=1),
    ops: int = typer.Option(12, min=0, help="list the top torch operators of the last three variants (0: none)"),
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
        *(f"instruction sets capped: {cap}" for cap in [isa_caps()] if cap),
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
        if len(steps) == 1:
            real, padded, bucketed = padded_pieces(nlp, work)
            lines.append(
                f"{len(work)} batches, {real:,} word pieces: the encoder computes {padded / real:.2f}x as many"
                f" padded to each batch's longest, {bucketed / real:.2f}x in buckets"
            )
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, (nlp, optimizer, work) in steps.items():
            start = time.perf_counter()
            one_round(nlp, optimizer, work)
            best[name] = min(best.get(name, float("inf")), (time.perf_counter() - start) / len(work))
    first, last = list(steps)[0], list(steps)[-1]
    splits = {name: profile_split(*steps[name]) for name in (first, DEFAULT, last)}
    words = sum(len(e.reference) for e in steps[first][2][0])
    threads = torch.get_num_threads()
    lines.append(
        f"{batches} steps a round, best of {rounds} rounds (the first batch: {words} words), {threads} threads,"
        f" torch {torch.__version__}"
    )
    lines += [f"{name:36s} {seconds:6.2f} s/step  {best[first] / seconds:.2f}x" for name, seconds in best.items()]
    lines.append("one round under cProfile, s/step: " + ", ".join(PARTS) + ", other")
    for name, split in splits.items():
        parts = "  ".join(f"{part} {seconds:.2f}" for part, seconds in split.items() if part != "step")
        lines.append(f"{name:36s} {split['step']:6.2f}  {parts}")
    for name in OPS_VARIANTS if ops else []:
        lines.append(f"{name}, one round under torch's profiler: the {ops} operators with the most self time")
        rows = top_ops(*steps[name], ops)
        lines += [f"  {op:44s} {ms:8.1f} ms/step {calls:6.0f} calls/step" for op, ms, calls in rows]
    if output is not None:
        write_text_atomic(output, "\n".join(lines) + "\n")
    typer.echo("\n".join(lines))


if __name__ == "__main__":
    typer.run(main)
