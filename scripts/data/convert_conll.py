"""Convert a LeNER-Br CoNLL file (``TOKEN TAG`` lines, IOB2, blank line between sentences)
to a spaCy DocBin, keeping the sentence boundaries and grouping sentences into documents."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import spacy
import typer
from spacy.tokens import Doc, DocBin, Span
from spacy.vocab import Vocab

from pt_legal_ner.components.iob import IobError, iob_to_spans
from pt_legal_ner.components.labels import LENER_LABELS
from pt_legal_ner.io.atomic import write_bytes_atomic


class ConllError(ValueError):
    """Malformed input, located by file and 1-based line number."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line = path, line


@dataclass
class Sentence:
    words: list[str]
    tags: list[str]
    lines: list[int]


def read_conll(path: Path) -> Iterator[Sentence]:
    words: list[str] = []
    tags: list[str] = []
    lines: list[int] = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if words:
                    yield Sentence(words, tags, lines)
                words, tags, lines = [], [], []
                continue
            parts = line.split()
            if len(parts) != 2:
                raise ConllError(path, number, f"expected 'TOKEN TAG', got {line!r}")
            words.append(parts[0])
            tags.append(parts[1])
            lines.append(number)
    if words:
        yield Sentence(words, tags, lines)


def sentence_doc(vocab: Vocab, sentence: Sentence, path: Path, labels: Sequence[str]) -> Doc:
    try:
        spans = iob_to_spans(sentence.tags, labels)
    except IobError as err:
        raise ConllError(path, sentence.lines[err.position], str(err)) from None
    doc = Doc(vocab, words=sentence.words, sent_starts=[True] + [False] * (len(sentence.words) - 1))
    doc.ents = [Span(doc, start, end, label=label) for start, end, label in spans]
    return doc


def convert(input_path: Path, output_path: Path, n_sents: int = 10, labels: Sequence[str] = LENER_LABELS) -> DocBin:
    """Read ``input_path`` whole (every error surfaces first), then write ``output_path`` atomically."""
    if n_sents < 1:
        raise ValueError("n_sents must be at least 1")
    vocab = spacy.blank("pt").vocab
    sentences = [sentence_doc(vocab, s, input_path, labels) for s in read_conll(input_path)]
    if not sentences:
        raise ConllError(input_path, 1, "no sentences found")
    db = DocBin(store_user_data=False)
    for i in range(0, len(sentences), n_sents):
        db.add(Doc.from_docs(sentences[i : i + n_sents]))
    write_bytes_atomic(output_path, db.to_bytes())
    return db


def main(
    input_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CoNLL file"),
    output_path: Path = typer.Argument(..., help="Output .spacy file"),
    n_sents: int = typer.Option(10, help="Sentences per document"),
) -> None:
    try:
        db = convert(input_path, output_path, n_sents)
    except ConllError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    docs = list(db.get_docs(spacy.blank("pt").vocab))
    n_tokens = sum(len(d) for d in docs)
    n_ents = sum(len(d.ents) for d in docs)
    typer.echo(f"{input_path} -> {output_path}: {len(docs)} docs, {n_tokens} tokens, {n_ents} entities")


if __name__ == "__main__":
    typer.run(main)
