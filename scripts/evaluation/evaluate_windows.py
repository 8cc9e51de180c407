"""The packaged pipeline with its windows (``pt_legal_ner.unit_windows.v1``, cut at lines and
sentences) against the same pipeline with the strided token windows it was trained with, side by
side: entity F1 on LeNER-Br test and dev, words/s, and how far a one-word change reaches.

The reach: in each raw LeNER-Br text, one word is added at the end of its first line (as an OCR
that reads a letter-spaced heading as one word removes some); every entity after that line should
stay as it was. Counted: entities after the first line that the change added or lost.
"""

import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from pt_legal_ner.io.atomic import write_text_atomic
from scripts.provenance import run_facts

STRIDED = "spacy-transformers.strided_spans.v1"


@contextmanager
def strided_windows(nlp) -> Iterator[bool]:
    """The pipeline with spacy-transformers' strided token windows of its own window and stride (its
    training's) instead of its unit windows; yields False, changing nothing, where they are strided
    already (an older pipeline)."""
    from spacy.util import registry

    model = nlp.get_pipe("transformer").model
    own = model.attrs["get_spans"]
    if not hasattr(own, "window"):
        yield False
        return
    model.attrs["get_spans"] = registry.span_getters.get(STRIDED)(own.window, own.stride)
    try:
        yield True
    finally:
        model.attrs["get_spans"] = own


def f1(nlp, corpus: Path) -> tuple[float, float]:
    """(entity F1, words/s) on a corpus."""
    from spacy.training import Corpus

    examples = list(Corpus(corpus)(nlp))
    start = time.perf_counter()
    scores = nlp.evaluate(examples)
    words = sum(len(e.reference) for e in examples)
    return 100 * scores["ents_f"], words / (time.perf_counter() - start)


def reach(nlp, texts: list[str], word: str = "ACÓRDÃO") -> tuple[int, int]:
    """(entities after the first line, how many of them a word added to that line changed)."""
    changed = [t.replace("\n", f" {word}\n", 1) for t in texts]
    shift = len(word) + 1
    total = moved = 0
    for text, doc, other in zip(texts, nlp.pipe(texts), nlp.pipe(changed), strict=True):
        line_end = text.index("\n") if "\n" in text else len(text)
        before = Counter((e.label_, e.start_char, e.text) for e in doc.ents if e.start_char > line_end)
        after = Counter((e.label_, e.start_char - shift, e.text) for e in other.ents if e.start_char > line_end + shift)
        total += sum(before.values())
        moved += sum((before - after).values()) + sum((after - before).values())
    return total, moved


def row(nlp, test: Path, dev: Path, raw: list[str]) -> tuple:
    (test_f, test_wps), (dev_f, _) = f1(nlp, test), f1(nlp, dev)
    return (test_f, dev_f, test_wps, *reach(nlp, raw))


def main(
    pipeline: Path = typer.Argument(..., exists=True, file_okay=False),
    test: Path = typer.Argument(..., exists=True, dir_okay=False),
    dev: Path = typer.Argument(..., exists=True, dir_okay=False),
    raw_texts: Path = typer.Argument(..., exists=True, file_okay=False, help="LeNER-Br raw_text folder"),
    output: Path = typer.Option(Path("metrics/windows.md")),
    texts: int = typer.Option(30, help="raw texts the one-word change is made in"),
) -> None:
    import spacy

    import pt_legal_ner  # noqa: F401

    raw = [p.read_text(encoding="utf-8") for p in sorted(raw_texts.glob("*.txt"))[:texts]]
    nlp = spacy.load(pipeline, exclude=["llm_fallback"])
    rows = {}
    with strided_windows(nlp) as swapped:
        if not swapped:
            raise typer.BadParameter(f"{pipeline}'s windows are strided already: nothing to compare")
        rows["strided token windows (training's)"] = row(nlp, test, dev, raw)
    rows["unit windows (packaged)"] = row(nlp, test, dev, raw)
    for name, figures in rows.items():
        typer.echo(f"{name}: {figures}", err=True)
    facts = run_facts("scripts.evaluation.evaluate_windows")
    windows = json.dumps(nlp.config["components"]["transformer"]["model"]["get_spans"])
    lines = [
        "# Transformer windows: cut at lines and sentences against strided token windows, same pipeline",
        "",
        f"`{facts['command']}` at {facts['commit']}; {facts['hardware']}. Packaged windows: `{windows}`.",
        "",
        f"Entity F1 of `nlp.evaluate` (llm_fallback excluded); words/s on test; the reach: entities after the first"
        f" line of {len(raw)} raw texts that adding one word to that line added or lost.",
        "",
        "| windows | test F1 | dev F1 | test words/s | entities after line 1 | changed by one word |",
        "|---|---|---|---|---|---|",
    ]
    for name, (test_f, dev_f, wps, total, moved) in rows.items():
        lines.append(f"| {name} | {test_f:.2f} | {dev_f:.2f} | {wps:,.0f} | {total} | {moved} |")
    write_text_atomic(output, "\n".join(lines) + "\n")
    typer.echo("\n".join(lines))


if __name__ == "__main__":
    typer.run(main)
