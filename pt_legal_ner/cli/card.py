"""`card`: the packaged pipeline's model card (labels, test scores, training, limits)."""

from __future__ import annotations

import argparse
from pathlib import Path

import spacy.util

from pt_legal_ner.cli.common import MODEL, fail, report


def add_card(sub) -> None:
    card = sub.add_parser("card", help="print the model card (labels, test scores, training, limits)")
    card.add_argument("--model", default=MODEL)
    card.set_defaults(func=cmd_card)


def model_dir(model: str) -> Path:
    """The pipeline folder of an installed package name or a path."""
    if Path(model).is_dir():
        return Path(model)
    package = spacy.util.get_package_path(model)
    meta = spacy.util.get_model_meta(package)
    return package / f"{meta['lang']}_{meta['name']}-{meta['version']}"


def cmd_card(args: argparse.Namespace) -> int:
    folder = model_dir(args.model)
    card = folder / "README.md"
    if not card.exists():
        return fail(f"no model card in {folder}")
    print(card.read_text(encoding="utf-8"))
    report(f"\n(model card: {card}; plot: {folder / 'model_card.png'})")
    return 0
