"""Command line of the installed pipeline.

python -m pt_legal_ner annotate INPUT -o OUT.jsonl [--html DIR]
python -m pt_legal_ner card
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import sys
from pathlib import Path

import spacy
import spacy.util
from tqdm import tqdm

import pt_legal_ner  # noqa: F401  (registers the components when run from a checkout)
from pt_legal_ner.annotate import MAX_CHUNK_CHARS, annotate
from pt_legal_ner.documents import open_documents

MODEL = "pt_legal_ner"


def model_dir(model: str) -> Path:
    """The pipeline folder of an installed package name or a path."""
    if Path(model).is_dir():
        return Path(model)
    package = spacy.util.get_package_path(model)
    meta = spacy.util.get_model_meta(package)
    return package / f"{meta['lang']}_{meta['name']}-{meta['version']}"


def return_freed_memory_to_the_os() -> None:
    """Serve blocks of 1 MiB and more from mmap, so that freeing them gives them back.

    glibc otherwise keeps them in its heap, which the transformer's tensors of varying sizes
    fragment, so the peak grows with the document: 300 pages peaked at 1,641 MiB against
    1,227 MiB with this, which cost 1.31 times the time (metrics/benchmark_annotate.txt).
    A MALLOC_MMAP_THRESHOLD_ set by the user wins, PT_LEGAL_NER_MALLOC=default keeps glibc's
    behaviour (the benchmark's baseline); a no-op off glibc.
    """
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or os.environ.get("PT_LEGAL_NER_MALLOC") == "default":
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_mmap_threshold = -3  # glibc's malloc.h
    libc.mallopt(m_mmap_threshold, 1024 * 1024)


def cmd_annotate(args: argparse.Namespace) -> int:
    # OUT and the pages may lie inside a folder INPUT: they are not documents
    own_outputs = [args.output] + ([args.html] if args.html else [])
    try:
        total, documents = open_documents(args.input, args.glob, own_outputs)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return_freed_memory_to_the_os()
    try:
        nlp = spacy.load(args.model, exclude=args.exclude)
    except OSError as err:
        print(f"error: cannot load the pipeline {args.model!r}: {err}", file=sys.stderr)
        return 2
    # a bar on a terminal only (tqdm's disable=None), so logs and pipes stay clean
    with tqdm(total=total, unit="doc", desc="annotate", disable=None, file=sys.stderr) as bar:
        try:
            summary = annotate(
                nlp,
                documents,
                args.output,
                html_dir=args.html,
                batch_size=args.batch_size,
                n_process=args.n_process,
                max_chars=args.max_chars,
                progress=bar,
            )
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    print(
        f"{args.output}: {summary.written} documents written ({summary.errors} with an error,"
        f" {summary.entities} entities), {summary.skipped} already there",
        file=sys.stderr,
    )
    return 0


def cmd_card(args: argparse.Namespace) -> int:
    folder = model_dir(args.model)
    card = folder / "README.md"
    if not card.exists():
        print(f"error: no model card in {folder}", file=sys.stderr)
        return 2
    print(card.read_text(encoding="utf-8"))
    print(f"\n(model card: {card}; plot: {folder / 'model_card.png'})", file=sys.stderr)
    return 0


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {number}")
    return number


def nonzero_int(value: str) -> int:
    number = int(value)
    if number == 0:
        raise argparse.ArgumentTypeError("must not be 0")
    return number


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m pt_legal_ner", description="Portuguese legal NER (LeNER-Br)")
    sub = root.add_subparsers(dest="command", required=True)
    ann = sub.add_parser(
        "annotate",
        help="annotate documents into JSONL (and displaCy pages)",
        description=(
            "INPUT: a text file, a folder (every file under it, hidden ones left out; --glob narrows it),"
            ' a .jsonl/.ndjson file with a "text" field (other fields are kept), or - for stdin.'
            " A re-run with the same INPUT and OUT skips the documents already in OUT."
        ),
    )
    ann.add_argument("input", metavar="INPUT")
    ann.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.jsonl")
    ann.add_argument("--html", type=Path, metavar="DIR", help="write one displaCy page per document here")
    ann.add_argument("--batch-size", type=positive_int, default=16, help="texts per nlp.pipe batch (default 16)")
    ann.add_argument(
        "--n-process", type=nonzero_int, default=1, help="processes for nlp.pipe; -1: all CPUs (default 1)"
    )
    ann.add_argument(
        "--max-chars",
        type=positive_int,
        default=MAX_CHUNK_CHARS,
        help=f"longest piece of a document the pipeline sees at once; bounds memory (default {MAX_CHUNK_CHARS:,})",
    )
    ann.add_argument("--glob", default="**/*", help="files of a folder INPUT to read (default **/*)")
    ann.add_argument("--model", default=MODEL, help=f"installed package or pipeline folder (default {MODEL})")
    ann.add_argument(
        "--exclude", action="append", default=[], metavar="COMPONENT", help="leave a component out, e.g. llm_fallback"
    )
    ann.set_defaults(func=cmd_annotate)
    card = sub.add_parser("card", help="print the model card (labels, test scores, training, limits)")
    card.add_argument("--model", default=MODEL)
    card.set_defaults(func=cmd_card)
    return root


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # the tokenizer warns that a document is longer than 512 pieces; the transformer reads it
    # in windows, so nothing is lost, and the warning would only alarm
    logging.getLogger("transformers.tokenization_utils_base").addFilter(
        lambda record: not record.getMessage().startswith("Token indices sequence length")
    )
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
