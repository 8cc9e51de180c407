"""What the commands share: the inputs and pipeline arguments, argument types, and one way of
reporting a summary or an error."""

from __future__ import annotations

import argparse
import os
import sys

import spacy.util

from pt_legal_ner.annotation.options import MODEL
from pt_legal_ner.annotation.records import DEFAULT_BATCH_SIZE, MAX_CHUNK_CHARS
from pt_legal_ner.io.inputs import ALL_FILES
from pt_legal_ner.io.limits import DEFAULT_LIMITS, parse_size, with_overrides
from pt_legal_ner.io.limits import NAMES as LIMIT_NAMES
from pt_legal_ner.io.ocr import DEFAULT_DPI, MODES, Ocr, missing

# the keyed style's secret, read by pseudonymize; taken out of the environment by every command
# before it starts another process (the PDF reader, Tesseract, workers, a local Ray cluster)
KEY_ENV = "PT_LEGAL_NER_KEY"


def take_key_from_environment() -> str | None:
    return os.environ.pop(KEY_ENV, None)


def report(message: str) -> None:
    """A command's summary line (stderr: stdout stays for data)."""
    print(message, file=sys.stderr)


def fail(error: object) -> int:
    """Say what is wrong and return the exit code of a refused command (2)."""
    print(f"error: {error}", file=sys.stderr)
    return 2


def import_user_code(args: argparse.Namespace) -> None:
    if args.code:
        spacy.util.import_file("annotate_code", args.code)


def byte_size(value: str) -> int:
    """'2GiB', '1500MiB', '512MB' or a number of bytes."""
    try:
        return parse_size(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {value!r} (e.g. 2GiB, 1500MiB)") from None


class LimitAction(argparse.Action):
    """--limit NAME=VALUE, repeatable: each one changes the Limits in ``dest``."""

    def __call__(self, parser, namespace, value, option_string=None) -> None:
        try:
            setattr(namespace, self.dest, with_overrides(getattr(namespace, self.dest), [value]))
        except ValueError as err:
            parser.error(str(err))


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


def unit_float(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {number}")
    return number


def positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {number}")
    return number


def comma_labels(value: str) -> list[str]:
    labels = list(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    if not labels:
        raise argparse.ArgumentTypeError(f"give comma-separated labels, got {value!r}")
    return labels


INPUT_HELP = (
    "INPUT: text, PDF (its text layer, scanned pages OCRed: --ocr; record: pages = each page's start offset)"
    " and DOCX files,"
    " folders (every file under them, hidden ones left out; --glob narrows it),"
    ' .jsonl/.ndjson files with a "text" field and .parquet files with a "text" column,'
    " URIs pyarrow reads (file://, s3://...), or - for stdin. Ids: a file's path"
    " (relative to its folder), <file>:<line> for JSONL, <file>:<row> for Parquet."
    " A re-run with the same INPUT and OUT skips the documents already in OUT."
)


def add_reading_args(command: argparse.ArgumentParser) -> None:
    """What annotate and pseudonymize share: the inputs, the pipeline and its batching."""
    command.add_argument("input", metavar="INPUT", nargs="+")
    command.add_argument(
        "--batch-size",
        type=positive_int,
        default=DEFAULT_BATCH_SIZE,
        help=f"texts per nlp.pipe batch (default {DEFAULT_BATCH_SIZE})",
    )
    command.add_argument(
        "--n-process", type=nonzero_int, default=1, help="processes for nlp.pipe; -1: all CPUs (default 1)"
    )
    command.add_argument(
        "--max-chars",
        type=positive_int,
        default=MAX_CHUNK_CHARS,
        help=f"longest piece of a document the pipeline sees at once; bounds memory (default {MAX_CHUNK_CHARS:,})",
    )
    command.add_argument("--glob", default=ALL_FILES, help=f"files of a folder INPUT to read (default {ALL_FILES})")
    command.add_argument(
        "--ocr",
        choices=MODES,
        default="auto",
        help="OCR of PDF pages with Tesseract (apt-get install tesseract-ocr tesseract-ocr-por): auto (default) reads"
        " the pages without a usable text layer where Tesseract is installed, always reads every page, never none."
        " Records name the OCRed pages (ocr_pages) and each OCR word's confidence (ocr_words)",
    )
    command.add_argument(
        "--ocr-workers",
        type=positive_int,
        metavar="N",
        help="pages OCRed at once (default: the CPUs this process may use; with --ray, --threads-per-worker)",
    )
    command.add_argument(
        "--ocr-dpi",
        type=positive_int,
        default=DEFAULT_DPI,
        help=f"resolution pages are OCRed at (default {DEFAULT_DPI})",
    )
    command.add_argument("--model", default=MODEL, help=f"installed package or pipeline folder (default {MODEL})")
    command.add_argument(
        "--exclude", action="append", default=[], metavar="COMPONENT", help="leave a component out, e.g. llm_fallback"
    )
    command.add_argument(
        "--code", metavar="FILE", help="Python file to import first (custom components), also in Ray actors"
    )
    defaults = ", ".join(f"{name}={getattr(DEFAULT_LIMITS, name):,}" for name in LIMIT_NAMES)
    command.add_argument(
        "--limit",
        action=LimitAction,
        default=DEFAULT_LIMITS,
        metavar="NAME=VALUE",
        help="raise or lower a limit on one document (repeatable; sizes take KiB/MiB/GiB). A document over one"
        f" gets an error line naming it. Defaults: {defaults}",
    )


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def ocr_settings(args: argparse.Namespace, workers: int) -> Ocr:
    """--ocr, --ocr-workers (default ``workers``) and --ocr-dpi; raises ValueError for --ocr always
    without Tesseract (with --ocr auto, each scan's error line says what to install)."""
    unable = missing() if args.ocr == "always" else None
    if unable:
        raise ValueError(f"--ocr always: {unable}")
    return Ocr(args.ocr, args.ocr_workers or workers, args.ocr_dpi)
