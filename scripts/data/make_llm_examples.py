"""Draw the LLM's few-shot examples from the LeNER-Br training split.

Greedy and deterministic: short sentences are taken in file order while they add a label the
chosen set lacks, until every label appears; the result is a small JSON data file
[{"text", "entities": [{"text", "label"}]}] that the llm_fallback component stores.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pt_legal_ner.components.iob import iob_to_spans
from pt_legal_ner.components.labels import LENER_LABELS
from pt_legal_ner.io.atomic import write_text_atomic
from scripts.data.convert_conll import read_conll


def draw_examples(conll: Path, max_examples: int = 6, max_tokens: int = 40) -> list[dict]:
    chosen: list[dict] = []
    missing = set(LENER_LABELS)
    for sentence in read_conll(conll):
        if len(chosen) >= max_examples or not missing:
            break
        if len(sentence.words) > max_tokens:
            continue
        spans = iob_to_spans(sentence.tags, LENER_LABELS)
        labels = {label for _, _, label in spans}
        if not labels & missing:
            continue
        chosen.append(
            {
                "text": " ".join(sentence.words),
                "entities": [{"text": " ".join(sentence.words[s:e]), "label": label} for s, e, label in spans],
            }
        )
        missing -= labels
    return chosen


def main(
    conll: Path = typer.Argument(..., exists=True, dir_okay=False),
    output: Path = typer.Argument(...),
    max_examples: int = typer.Option(6),
    max_tokens: int = typer.Option(40),
) -> None:
    examples = draw_examples(conll, max_examples, max_tokens)
    write_text_atomic(output, json.dumps(examples, ensure_ascii=False, indent=1) + "\n")
    labels = sorted({e["label"] for ex in examples for e in ex["entities"]})
    typer.echo(f"{len(examples)} examples covering {labels} -> {output}")


if __name__ == "__main__":
    typer.run(main)
