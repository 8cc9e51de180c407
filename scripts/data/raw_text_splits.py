"""Which LeNER-Br raw texts hold sentences of the train, dev and test splits.

The raw texts are the documents the CoNLL splits were cut from, so unlabeled text for
distillation must leave out every document that holds a test sentence (and, since every
choice is made on dev, every one that holds a dev sentence). A sentence is found in a
document when its tokens, joined with all whitespace removed, occur in the document's text
with all whitespace removed (CoNLL tokenization and the text's own spacing differ);
sentences shorter than ``min_chars`` so joined are not used (headings like "Relator" occur
everywhere). Writes the per-document counts, each document's split, and the documents that are safe to use.

Measured (metrics/raw_text_splits.json): the 70 texts are the 50 train, 10 dev and 10 test
documents of the splits, so they add no text beyond the splits' own documents; only the
train documents that share no sentence with dev or test are kept as "unlabeled" text.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import typer

from pt_legal_ner.io.atomic import write_text_atomic
from scripts.data.convert_conll import read_conll

SPLITS = ("train", "dev", "test")
KEY = 24  # characters of a sentence's start used to find candidate documents
WHITESPACE = re.compile(r"\s+")


def squeeze(text: str) -> str:
    return WHITESPACE.sub("", text)


def sentence_keys(conll: Path, min_chars: int) -> list[str]:
    return [s for s in (squeeze("".join(sentence.words)) for sentence in read_conll(conll)) if len(s) >= min_chars]


class Locator:
    """Finds the raw documents a sentence occurs in, whitespace aside."""

    def __init__(self, raw_dir: Path) -> None:
        self.docs = {
            p.name: squeeze(p.read_text(encoding="utf-8", errors="replace")) for p in sorted(raw_dir.glob("*.txt"))
        }
        self.starts: dict[str, set[str]] = defaultdict(set)
        for name, text in self.docs.items():
            for i in range(len(text) - KEY + 1):
                self.starts[text[i : i + KEY]].add(name)

    def documents_of(self, key: str) -> list[str]:
        return sorted(name for name in self.starts.get(key[:KEY], ()) if key in self.docs[name])


def source_documents(raw_dir: Path, conll: Path, min_chars: int = 40) -> list[tuple[str, list[int]]]:
    """The split's sentences grouped back into their source decisions: (document, sentence indices)
    in corpus order. The splits keep each document's sentences together and in order, so a
    sentence stays in its predecessor's document when found there (or too short, or not found);
    else it goes to the document, of those it is found in, most of the split's sentences come from."""
    locator = Locator(raw_dir)
    keys = [squeeze("".join(sentence.words)) for sentence in read_conll(conll)]
    found = [locator.documents_of(k) if len(k) >= min_chars else [] for k in keys]
    weight = defaultdict(int)
    for names in found:
        for name in names:
            weight[name] += 1
    groups: dict[str, list[int]] = {}
    current = None
    for i, names in enumerate(found):
        if names and current not in names:
            current = max(names, key=lambda n: (weight[n], n))
        groups.setdefault(current or "(before any found sentence)", []).append(i)
    return list(groups.items())


def find(raw_dir: Path, conll_dir: Path, min_chars: int = 40) -> dict:
    locator = Locator(raw_dir)
    docs = locator.docs
    counts = {name: dict.fromkeys(SPLITS, 0) for name in docs}
    unmatched = dict.fromkeys(SPLITS, 0)
    totals = {}
    for split in SPLITS:
        keys = sentence_keys(conll_dir / f"{split}.conll", min_chars)
        totals[split] = len(keys)
        for sentence in keys:
            found = locator.documents_of(sentence)
            for name in found:
                counts[name][split] += 1
            unmatched[split] += not found
    # LeNER-Br splits by document: a document's split is where most of its sentences went; a
    # few boilerplate sentences (citations, formulas) occur in documents of other splits too
    split_of = {name: max(SPLITS, key=c.get) if any(c.values()) else None for name, c in counts.items()}
    held_out = sorted(name for name, c in counts.items() if c["test"] or c["dev"] or split_of[name] in ("dev", "test"))
    return {
        "rule": f"a sentence of >= {min_chars} non-space characters occurs in the document, whitespace removed",
        "sentences_used": totals,
        "sentences_not_found": unmatched,
        "documents": {name: {**c, "split": split_of[name]} for name, c in counts.items()},
        "documents_per_split": {split: sum(v == split for v in split_of.values()) for split in (*SPLITS, None)},
        "held_out": held_out,
        "unlabeled_ok": sorted(set(docs) - set(held_out)),
    }


def main(
    raw_dir: Path = typer.Argument(..., exists=True, file_okay=False),
    conll_dir: Path = typer.Argument(..., exists=True, file_okay=False),
    output: Path = typer.Argument(...),
    min_chars: int = typer.Option(40),
) -> None:
    result = find(raw_dir, conll_dir, min_chars)
    write_text_atomic(output, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    typer.echo(
        f"{len(result['documents'])} documents: {len(result['held_out'])} hold dev or test sentences,"
        f" {len(result['unlabeled_ok'])} usable as unlabeled text; not found: {result['sentences_not_found']}"
        f" of {result['sentences_used']}"
    )


if __name__ == "__main__":
    typer.run(main)
