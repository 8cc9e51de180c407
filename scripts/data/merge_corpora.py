"""Merge spaCy corpus files (DocBin) into one, e.g. train + dev for a final model."""

from __future__ import annotations

from pathlib import Path

import typer
from spacy.tokens import DocBin

from pt_legal_ner.io.atomic import write_bytes_atomic


def read_corpus(path: Path) -> DocBin:
    try:
        return DocBin().from_disk(path)
    except (OSError, ValueError) as err:
        raise SystemExit(f"{path}: not a readable spaCy corpus file ({err})") from None


def merge(inputs: list[Path], output: Path) -> int:
    """Write the docs of ``inputs``, in order, to ``output``; return how many."""
    if not inputs:
        raise SystemExit("no input corpus files given")
    merged = read_corpus(inputs[0])
    for path in inputs[1:]:
        try:
            merged.merge(read_corpus(path))
        except ValueError as err:
            raise SystemExit(f"{path}: stored with other attributes than {inputs[0]} ({err})") from None
    write_bytes_atomic(output, merged.to_bytes())
    return len(merged)


def main(
    inputs: list[Path] = typer.Argument(..., exists=True, dir_okay=False),
    output: Path = typer.Option(..., "--output", "-o"),
) -> None:
    n = merge(inputs, output)
    typer.echo(f"{n} docs from {len(inputs)} files -> {output}")


if __name__ == "__main__":
    typer.run(main)
