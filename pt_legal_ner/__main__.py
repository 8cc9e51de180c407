"""Command line of the installed pipeline: dispatches to one module of ``cli/`` per command.

python -m pt_legal_ner annotate INPUT... -o OUT.jsonl [--html DIR]
python -m pt_legal_ner annotate INPUT... -o OUT_DIR --ray ADDRESS [--workers N] [--threads-per-worker T]
python -m pt_legal_ner pseudonymize INPUT... -o OUT.jsonl|OUT_DIR [--labels ...] [--style ...]
    [--mapping MAP.jsonl] [--html DIR]
python -m pt_legal_ner export --format labelstudio|doccano|prodigy OUT IN.jsonl...
python -m pt_legal_ner import --format labelstudio|doccano|prodigy CORRECTED... OUT.spacy
python -m pt_legal_ner card
"""

from __future__ import annotations

import argparse
import logging
import sys

import pt_legal_ner  # noqa: F401  (registers the components when run from a checkout)
from pt_legal_ner.annotation.process import quiet_tokenizer_length_warning
from pt_legal_ner.cli.annotate import add_annotate
from pt_legal_ner.cli.card import add_card
from pt_legal_ner.cli.pseudonymize import add_pseudonymize
from pt_legal_ner.cli.review import add_review


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m pt_legal_ner", description="Portuguese legal NER (LeNER-Br)")
    sub = root.add_subparsers(dest="command", required=True)
    for add in (add_annotate, add_pseudonymize, add_review, add_card):
        add(sub)
    return root


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pt_legal_ner").setLevel(logging.INFO)  # e.g. which precision the encoder runs in
    quiet_tokenizer_length_warning()
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
