"""Command line of the installed pipeline.

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
import time
from pathlib import Path

import spacy
import spacy.util
from tqdm import tqdm

import pt_legal_ner  # noqa: F401  (registers the components when run from a checkout)
from pt_legal_ner.annotate import DEFAULT_BATCH_SIZE, MAX_CHUNK_CHARS, JsonlAppender, annotate, entity_dicts
from pt_legal_ner.atomic import write_text_atomic
from pt_legal_ner.inputs import ALL_FILES, DEFAULT_PART_SIZE, JSONL_SUFFIXES, open_documents
from pt_legal_ner.labels import LENER_LABELS
from pt_legal_ner.limits import DEFAULT_LIMITS, parse_size, with_overrides
from pt_legal_ner.limits import NAMES as LIMIT_NAMES
from pt_legal_ner.process_setup import quiet_tokenizer_length_warning, return_freed_memory_to_the_os
from pt_legal_ner.ray_annotate import DEFAULT_MEMORY_PER_WORKER

MODEL = "pt_legal_ner"


def model_dir(model: str) -> Path:
    """The pipeline folder of an installed package name or a path."""
    if Path(model).is_dir():
        return Path(model)
    package = spacy.util.get_package_path(model)
    meta = spacy.util.get_model_meta(package)
    return package / f"{meta['lang']}_{meta['name']}-{meta['version']}"


def import_user_code(args: argparse.Namespace) -> None:
    if args.code:
        spacy.util.import_file("annotate_code", args.code)


def run_locally(
    args: argparse.Namespace, own_outputs: list[Path], make_writer, html_dir: Path | None = None, prepare=None
) -> int:
    """Read INPUT, load the pipeline, annotate into ``make_writer()``: annotate and pseudonymize.

    ``prepare(nlp)`` may adapt the pipeline and returns what goes into a record's entities
    (``annotate``'s ``spans_of``).
    """
    import_user_code(args)
    # OUT and the pages may lie inside a folder INPUT: they are not documents
    try:
        total, documents = open_documents(args.input, args.glob, own_outputs, args.limit)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return_freed_memory_to_the_os()
    try:
        nlp = spacy.load(args.model, exclude=args.exclude)
    except OSError as err:
        print(f"error: cannot load the pipeline {args.model!r}: {err}", file=sys.stderr)
        return 2
    spans_of = prepare(nlp) if prepare is not None else entity_dicts
    # a bar on a terminal only (tqdm's disable=None), so logs and pipes stay clean
    with tqdm(total=total, unit="doc", desc=args.command, disable=None, file=sys.stderr) as bar:
        try:
            writer = make_writer()
            summary = annotate(
                nlp,
                documents,
                writer,
                html_dir=html_dir,
                batch_size=args.batch_size,
                n_process=args.n_process,
                max_chars=args.max_chars,
                progress=bar,
                spans_of=spans_of,
            )
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    # pseudonymize's writer counts what it masked; annotate's summary counts entities
    found = f"{writer.replaced} spans masked" if hasattr(writer, "replaced") else f"{summary.entities} entities"
    print(
        f"{args.output}: {summary.written} documents written ({summary.errors} with an error,"
        f" {found}), {summary.skipped} already there",
        file=sys.stderr,
    )
    return 0


def cmd_annotate(args: argparse.Namespace) -> int:
    if args.ray:
        import_user_code(args)
        return cmd_annotate_ray(args)
    own_outputs = [args.output] + ([args.html] if args.html else [])
    return run_locally(args, own_outputs, lambda: args.output, html_dir=args.html)


def cmd_pseudonymize(args: argparse.Namespace) -> int:
    from pt_legal_ner.pseudonymize import (
        FolderWriter,
        PseudonymizingWriter,
        masked_spans,
        weigh_person,
        with_legal_ids,
    )

    to_folder = args.output.suffix.lower() not in JSONL_SUFFIXES
    if args.mapping is not None and args.mapping.resolve() == args.output.resolve():
        print("error: --mapping must not be the output", file=sys.stderr)
        return 2
    own_outputs = [p for p in (args.output, args.mapping, args.html) if p is not None]

    def make_writer() -> PseudonymizingWriter:
        out = FolderWriter(args.output) if to_folder else JsonlAppender(args.output)
        return PseudonymizingWriter(
            out,
            labels=args.labels,
            style=args.style,
            propagate=args.propagate,
            mapping=args.mapping,
            review_dir=args.html,
            review_below=args.review_below,
        )

    def prepare(nlp):
        weigh_person(nlp, args.person_weight)
        return masked_spans(with_legal_ids(nlp))

    return run_locally(args, own_outputs, make_writer, prepare=prepare)


def cmd_annotate_ray(args: argparse.Namespace) -> int:
    from pt_legal_ner.ray_annotate import annotate_on_ray

    if args.html or args.n_process != 1 or args.input == ["-"]:
        print("error: --ray takes files, folders or URIs, without --html or --n-process", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with WordsBar(desc="annotate") as bar:
        try:
            result = annotate_on_ray(
                args.input,
                str(args.output),
                address=args.ray,
                workers=args.workers,
                threads_per_worker=args.threads_per_worker,
                memory_per_worker=args.memory_per_worker,
                part_size=args.part_size,
                compress=args.compress,
                model=args.model,
                exclude=args.exclude,
                code=args.code,
                batch_size=args.batch_size,
                max_chars=args.max_chars,
                glob=args.glob,
                limits=args.limit,
                progress=bar,
            )
        except (FileNotFoundError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        except Exception as err:  # a Ray failure: what is published stays, the re-run does the rest
            print(
                f"error: the Ray run failed ({type(err).__name__}: {err}); the parts already in {args.output}"
                " are complete: run the same command again to do the rest",
                file=sys.stderr,
            )
            return 1
    seconds = time.perf_counter() - started
    print(
        f"{args.output}: {result['parts']} parts ({result['parts_done_now']} written now) on"
        f" {len(result['nodes'])} nodes; {result['written']} documents written ({result['errors']} with an error,"
        f" {result['entities']} entities), {result['skipped']} already there;"
        f" {result['words']:,} words in {seconds:.1f} s ({result['words'] / seconds:,.0f} words/s)",
        file=sys.stderr,
    )
    return 0


class WordsBar(tqdm):
    """tqdm over documents that also shows words/s (the Ray driver adds the words of each part)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(total=None, unit="doc", disable=None, file=sys.stderr, **kwargs)
        self.words = 0

    def add_words(self, words: int) -> None:
        self.words += words
        elapsed = self.format_dict["elapsed"] or 1e-9
        self.set_postfix_str(f"{self.words / elapsed:,.0f} words/s", refresh=False)


def cmd_export(args: argparse.Namespace) -> int:
    from pt_legal_ner.review import MAX_LISTED, export_tasks, read_records
    from pt_legal_ner.review_formats import FormatError, LabelStudio

    try:
        summary = export_tasks(read_records(args.input), args.output, args.format, args.labels, spacy.blank("pt"))
    except (OSError, FormatError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    note = ""
    if args.format == LabelStudio.name:
        config = args.output.with_name(args.output.stem + ".label_config.xml")
        write_text_atomic(config, LabelStudio.config(args.labels))
        note = f"; the project's labeling config: {config}"
    print(
        f"{args.output}: {summary.tasks} tasks, least confident first ({summary.spans} spans;"
        f" {summary.errors} records with an error left out){note}",
        file=sys.stderr,
    )
    for problem in summary.unreadable[:MAX_LISTED]:
        print(f"left out: {problem}", file=sys.stderr)
    if len(summary.unreadable) > MAX_LISTED:
        print(f"... and {len(summary.unreadable) - MAX_LISTED} more lines left out", file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from pt_legal_ner.review import import_corrections
    from pt_legal_ner.review_formats import FormatError

    if args.output.suffix != ".spacy":
        print(f"error: OUT must be a .spacy file, got {args.output}", file=sys.stderr)
        return 2
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
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        f"{args.output}: {summary.docs} documents, {summary.spans} entities; left out: {summary.unreviewed}"
        f" not reviewed{' (--include-unreviewed takes them)' if summary.unreviewed else ''},"
        f" {summary.rejected} rejected or skipped",
        file=sys.stderr,
    )
    return 0


def comma_labels(value: str) -> list[str]:
    labels = list(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    if not labels:
        raise argparse.ArgumentTypeError(f"give comma-separated labels, got {value!r}")
    return labels


def add_review(sub) -> None:
    from pt_legal_ner.review import ALIGNMENTS
    from pt_legal_ner.review_formats import FORMATS

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


def cmd_card(args: argparse.Namespace) -> int:
    folder = model_dir(args.model)
    card = folder / "README.md"
    if not card.exists():
        print(f"error: no model card in {folder}", file=sys.stderr)
        return 2
    print(card.read_text(encoding="utf-8"))
    print(f"\n(model card: {card}; plot: {folder / 'model_card.png'})", file=sys.stderr)
    return 0


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


INPUT_HELP = (
    "INPUT: text, PDF (its text layer; record: pages = each page's start offset) and DOCX files,"
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


def label_list(value: str) -> list[str]:
    from pt_legal_ner.pseudonymize import DEFAULT_LABELS

    labels = comma_labels(value)
    known = set(DEFAULT_LABELS) | set(LENER_LABELS)
    unknown = sorted(set(labels) - known)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown labels {unknown}; known: {', '.join(sorted(known))}")
    return labels


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


def add_pseudonymize(sub) -> None:
    from pt_legal_ner.pseudonymize import DEFAULT_LABELS, DEFAULT_PERSON_WEIGHT, DEFAULT_REVIEW_BELOW
    from pt_legal_ner.pseudonyms import STYLES

    pse = sub.add_parser(
        "pseudonymize",
        help="replace names and identifiers by placeholders (LGPD), with a mapping file and review pages",
        description=INPUT_HELP
        + " OUT: a .jsonl file (id, text, replacements, error), or else a folder with one .txt per document"
        " and .pseudonymize.jsonl (the same records without the text). Input fields other than the text are"
        " not copied: they may hold personal data.",
    )
    add_reading_args(pse)
    pse.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.jsonl|OUT_DIR")
    pse.add_argument(
        "--labels",
        type=label_list,
        default=list(DEFAULT_LABELS),
        help=f"comma-separated labels to mask (default {','.join(DEFAULT_LABELS)})",
    )
    pse.add_argument(
        "--style",
        choices=STYLES,
        default="placeholder",
        help="[PESSOA_1] (default); initials of names (J. S.; identifiers keep placeholders); or mask (***)",
    )
    pse.add_argument(
        "--mapping", type=Path, metavar="MAP.jsonl", help="write placeholder -> original values here (mode 0600)"
    )
    pse.add_argument(
        "--html", type=Path, metavar="DIR", help="write a review page per document here (original text; mode 0600)"
    )
    pse.add_argument(
        "--review-below",
        type=unit_float,
        default=DEFAULT_REVIEW_BELOW,
        help=f"flag masked spans whose confidence is below this on the review pages (default {DEFAULT_REVIEW_BELOW})",
    )
    pse.add_argument(
        "--person-weight",
        type=positive_float,
        default=DEFAULT_PERSON_WEIGHT,
        help="PESSOA's probabilities are multiplied by this before decoding: above 1 masks more names at some"
        f" cost in precision (default {DEFAULT_PERSON_WEIGHT}; 1 = as trained)",
    )
    pse.add_argument(
        "--propagate",
        action="store_true",
        help="also mask every other occurrence of a masked person's full name (off by default: on LeNER-Br it"
        " spread the model's false names and caught no missed one, metrics/pseudonymize.md)",
    )
    pse.set_defaults(func=cmd_pseudonymize)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m pt_legal_ner", description="Portuguese legal NER (LeNER-Br)")
    sub = root.add_subparsers(dest="command", required=True)
    ann = sub.add_parser(
        "annotate",
        help="annotate documents into JSONL (and displaCy pages)",
        description=INPUT_HELP + " Other fields of JSONL and Parquet records are kept."
        " With --ray, OUT is a folder of JSONL parts written by Ray actors (see the README).",
    )
    add_reading_args(ann)
    ann.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.jsonl|OUT_DIR")
    ann.add_argument("--html", type=Path, metavar="DIR", help="write one displaCy page per document here")
    ray = ann.add_argument_group("Ray cluster (pip install 'ray[data]>=2.60')")
    ray.add_argument("--ray", metavar="ADDRESS", help="local (start Ray here), auto, HOST:PORT or ray://HOST:10001")
    ray.add_argument(
        "--workers", type=positive_int, default=2, help="actors, each loading the pipeline once (default 2)"
    )
    ray.add_argument(
        "--threads-per-worker", type=positive_int, default=1, help="CPUs (torch threads) per actor (default 1)"
    )
    ray.add_argument(
        "--memory-per-worker",
        type=byte_size,
        default=DEFAULT_MEMORY_PER_WORKER,
        help=f"memory reserved per actor (default {DEFAULT_MEMORY_PER_WORKER / 1024**3:g}GiB)",
    )
    ray.add_argument(
        "--part-size",
        type=positive_int,
        default=DEFAULT_PART_SIZE,
        help=f"documents per output part: the unit of work and of retry (default {DEFAULT_PART_SIZE})",
    )
    ray.add_argument("--compress", action="store_true", help="write gzip parts (part-NNNNN.jsonl.gz)")
    ann.set_defaults(func=cmd_annotate)
    add_pseudonymize(sub)
    add_review(sub)
    card = sub.add_parser("card", help="print the model card (labels, test scores, training, limits)")
    card.add_argument("--model", default=MODEL)
    card.set_defaults(func=cmd_card)
    return root


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    quiet_tokenizer_length_warning()
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
