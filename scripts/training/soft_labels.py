"""Tag a corpus with K teacher models and store their averaged tag probabilities on each doc.

    python -m scripts.training.soft_labels corpus/train.spacy corpus/train_soft.spacy \
        training/legal_ner_trf/model-best training/teachers/seed1/model-best ...

The output is the input corpus, gold entities unchanged, with each doc carrying the teachers'
mean IOB2 distribution per token (pt_legal_ner/components/soft_tags.py) for the student's loss. The
probabilities are the `ner` head's, before `label_weights` and `legal_rules`, on the tokens
the student will see (the corpus reader tokenizes each doc's text again).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import typer
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.util import minibatch

from pt_legal_ner.components.soft_tags import set_soft_tags
from pt_legal_ner.io.atomic import write_bytes_atomic

BATCH_SIZE = 16


def load_teacher(path: Path) -> Language:
    import spacy

    import pt_legal_ner  # noqa: F401  (registers legal_ner)

    nlp = spacy.load(path)
    if "transformer" not in nlp.pipe_names or "ner" not in nlp.pipe_names:
        raise SystemExit(
            f"{path}: not a teacher: a pipeline with `transformer` and `ner` is needed, got {nlp.pipe_names}"
        )
    return nlp


def tag_probs(nlp: Language, docs: Sequence[Doc], batch_size: int = BATCH_SIZE) -> Iterator[np.ndarray]:
    """The `ner` head's tag distribution (tokens × nlp's ner tags) for each doc, in order."""
    transformer, ner = nlp.get_pipe("transformer"), nlp.get_pipe("ner")
    for batch in minibatch(docs, batch_size):
        batch = list(transformer.pipe(batch, batch_size=batch_size))
        for probs in ner.predict(batch):
            yield ner.model.ops.to_numpy(probs)
        for doc in batch:
            doc._.trf_data = None  # the hidden states of a whole corpus would not fit in memory


def average_probs(
    teachers: Sequence[Language], texts: Sequence[str], progress: bool = False
) -> tuple[list[str], list[Doc], list[np.ndarray]]:
    """(tags, docs, mean probabilities) of ``teachers`` over ``texts``, in the first teacher's tag order."""
    tags = teachers[0].get_pipe("ner").tags
    docs = [teachers[0].make_doc(text) for text in texts]
    sums = [np.zeros((len(doc), len(tags)), dtype="float64") for doc in docs]
    for k, nlp in enumerate(teachers):
        theirs = nlp.get_pipe("ner").tags
        if set(theirs) != set(tags):
            raise SystemExit(f"teacher {k + 1} has the tags {theirs}, teacher 1 has {tags}: teachers must share labels")
        order = [theirs.index(tag) for tag in tags]
        own = [nlp.make_doc(text) for text in texts]
        if any([t.idx for t in a] != [t.idx for t in b] for a, b in zip(own, docs, strict=True)):
            raise SystemExit(f"teacher {k + 1} tokenizes differently from teacher 1: teachers must share a tokenizer")
        start = time.monotonic()
        for i, probs in enumerate(tag_probs(nlp, own)):
            sums[i] += probs[:, order]
            if progress and (i + 1) % 200 == 0:
                typer.echo(
                    f"teacher {k + 1}/{len(teachers)}: {i + 1}/{len(own)} docs, {time.monotonic() - start:.0f} s"
                )
    means = [(s / len(teachers)).astype("float32") for s in sums]
    return tags, docs, means


def soft_label(corpus: Path, output: Path, teacher_paths: Sequence[Path], progress: bool = False) -> dict:
    """Write ``corpus`` with the teachers' mean tag probabilities to ``output``; return a summary."""
    teachers = [load_teacher(path) for path in teacher_paths]
    source = DocBin().from_disk(corpus)
    refs = list(source.get_docs(teachers[0].vocab))
    tags, docs, means = average_probs(teachers, [ref.text for ref in refs], progress=progress)
    out = DocBin(attrs=source.attrs, store_user_data=True)
    confident = tokens = 0
    for ref, doc, probs in zip(refs, docs, means, strict=True):
        set_soft_tags(ref, tags, probs, tokens=doc)
        out.add(ref)
        confident += int((probs.max(axis=1) >= 0.9).sum())
        tokens += len(doc)
    write_bytes_atomic(output, out.to_bytes())
    return {
        "docs": len(refs),
        "tokens": tokens,
        "teachers": len(teachers),
        "share_max_prob_ge_0.9": confident / max(tokens, 1),
    }


def main(
    corpus: Path = typer.Argument(..., exists=True, dir_okay=False, help="DocBin to tag, e.g. corpus/train.spacy"),
    output: Path = typer.Argument(..., help="DocBin to write, with soft tags on each doc"),
    teachers: list[Path] = typer.Argument(
        ..., exists=True, file_okay=False, help="Teacher pipelines (model-best folders)"
    ),
) -> None:
    summary = soft_label(corpus, output, teachers, progress=True)
    typer.echo(
        f"{summary['docs']} docs, {summary['tokens']} tokens, mean of {summary['teachers']} teachers -> {output} "
        f"({summary['share_max_prob_ge_0.9']:.1%} of tokens with a top tag ≥ 0.9)"
    )


if __name__ == "__main__":
    typer.run(main)
