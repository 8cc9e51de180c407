"""`export` and `import`: annotate's records to an annotation tool's tasks, reviewed tasks back as a corpus."""

from __future__ import annotations

import argparse
from pathlib import Path

import spacy

from pt_legal_ner.cli.common import comma_labels, fail, report
from pt_legal_ner.components.labels import LENER_LABELS


def add_review(sub) -> None:
    from pt_legal_ner.review.formats import FORMATS
    from pt_legal_ner.review.loop import ALIGNMENTS

    labels_help = f"comma-separated labels (default the trained ones: {','.join(LENER_LABELS)})"
    exp = sub.add_parser(
        "export",
        help="annotate's JSONL to an annotation tool's tasks, least confident first",
        description="IN: annotate's JSONL files (or a --ray output folder). OUT: Label Studio's JSON list (and"
        " OUT's stem + .label_config.xml, the project's labeling config), doccano's or Prodigy's JSONL.",
    )
    exp.add_argument("--format", choices=sorted(FORMATS), required=True)
    exp.add_argument("output", type=Path, metavar="OUT")
    exp.add_argument("input", type=Path, nargs="+", metavar="IN")
    exp.add_argument("--labels", type=comma_labels, default=list(LENER_LABELS), help=labels_help)
    exp.set_defaults(func=cmd_export)
    imp = sub.add_parser(
        "import",
        help="an annotation tool's export of reviewed tasks to a spaCy training corpus (.spacy)",
        description="CORRECTED: the tool's export (Label Studio JSON or JSON-MIN, doccano JSONL, Prodigy db-out"
        " JSONL). Every span is checked first; any problem names its file, record and span, and nothing is written.",
    )
    imp.add_argument("--format", choices=sorted(FORMATS), required=True)
    imp.add_argument("corrected", type=Path, nargs="+", metavar="CORRECTED")
    imp.add_argument("output", type=Path, metavar="OUT.spacy")
    imp.add_argument("--labels", type=comma_labels, default=list(LENER_LABELS), help=labels_help)
    imp.add_argument(
        "--include-unreviewed",
        action="store_true",
        help="also take tasks nobody reviewed (they hold the model's own predictions)",
    )
    imp.add_argument(
        "--alignment",
        choices=ALIGNMENTS,
        default="strict",
        help="a span that cuts a token: an error (strict, default), or shrunk/grown to whole tokens",
    )
    imp.set_defaults(func=cmd_import)


def cmd_export(args: argparse.Namespace) -> int:
    from pt_legal_ner.review.formats import FormatError
    from pt_legal_ner.review.loop import MAX_LISTED, export_tasks, read_records

    try:
        summary = export_tasks(read_records(args.input), args.output, args.format, args.labels, spacy.blank("pt"))
    except (OSError, FormatError) as err:
        return fail(err)
    note = f"; the project's labeling config: {summary.config}" if summary.config else ""
    report(
        f"{args.output}: {summary.tasks} tasks, least confident first ({summary.spans} spans;"
        f" {summary.errors} records with an error left out){note}"
    )
    for problem in summary.unreadable[:MAX_LISTED]:
        report(f"left out: {problem}")
    if len(summary.unreadable) > MAX_LISTED:
        report(f"... and {len(summary.unreadable) - MAX_LISTED} more lines left out")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from pt_legal_ner.review.formats import FormatError
    from pt_legal_ner.review.loop import import_corrections

    if args.output.suffix != ".spacy":
        return fail(f"OUT must be a .spacy file, got {args.output}")
    try:
        summary = import_corrections(
            args.corrected,
            args.output,
            args.format,
            args.labels,
            spacy.blank("pt"),
            include_unreviewed=args.include_unreviewed,
            alignment=args.alignment,
        )
    except (OSError, UnicodeDecodeError, FormatError) as err:
        return fail(err)
    report(
        f"{args.output}: {summary.docs} documents, {summary.spans} entities; left out: {summary.unreviewed}"
        f" not reviewed{' (--include-unreviewed takes them)' if summary.unreviewed else ''},"
        f" {summary.rejected} rejected or skipped"
    )
    return 0
