"""Merge spaCy corpus files (DocBin) into one, e.g. train + dev for a final model."""

from __future__ import annotations

from pathlib import Path

import typer
from spacy.tokens import DocBin

from scripts.atomic import write_bytes_atomic


def merge(inputs: list[Path], output: Path) -> int:
    """Write the docs of ``inputs``, in order, to ``output``; return how many."""
    merged: DocBin | None = None
    for path in inputs:
        try:
            part = DocBin().from_disk(path)
            if merged is None:
                merged = part
            else:
                merged.merge(part)
        except (OSError, ValueError) as err:
            msg = "not a readable spaCy corpus file, or stored with other attributes"
            raise SystemExit(f"{path}: {msg} ({err})") from None
    if merged is None:
        raise SystemExit("no input corpus files given")
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
