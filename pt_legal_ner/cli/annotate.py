"""`annotate`: documents into JSONL records (and displaCy pages), on this machine or a Ray cluster."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import spacy
from tqdm import tqdm

from pt_legal_ner.annotation.on_ray import DEFAULT_MEMORY_PER_WORKER
from pt_legal_ner.annotation.process import return_freed_memory_to_the_os
from pt_legal_ner.annotation.records import annotate, entity_dicts
from pt_legal_ner.cli.common import (
    INPUT_HELP,
    add_reading_args,
    byte_size,
    fail,
    import_user_code,
    ocr_settings,
    positive_int,
    report,
    usable_cpus,
)
from pt_legal_ner.io.inputs import DEFAULT_PART_SIZE, open_documents


def add_annotate(sub) -> None:
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
        ocr = ocr_settings(args, usable_cpus())
        total, documents = open_documents(args.input, args.glob, own_outputs, args.limit, ocr)
    except (FileNotFoundError, ValueError) as err:
        return fail(err)
    return_freed_memory_to_the_os()
    try:
        nlp = spacy.load(args.model, exclude=args.exclude)
    except OSError as err:
        return fail(f"cannot load the pipeline {args.model!r}: {err}")
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
            return fail(err)
    # pseudonymize's writer counts what it masked; annotate's summary counts entities
    found = writer.summary() if hasattr(writer, "summary") else f"{summary.entities} entities"
    report(
        f"{args.output}: {summary.written} documents written ({summary.errors} with an error,"
        f" {found}), {summary.skipped} already there"
    )
    return 0


def cmd_annotate(args: argparse.Namespace) -> int:
    if args.ray:
        import_user_code(args)
        return cmd_annotate_ray(args)
    own_outputs = [args.output] + ([args.html] if args.html else [])
    return run_locally(args, own_outputs, lambda: args.output, html_dir=args.html)


def cmd_annotate_ray(args: argparse.Namespace) -> int:
    from pt_legal_ner.annotation.on_ray import annotate_on_ray

    if args.html or args.n_process != 1 or args.input == ["-"]:
        return fail("--ray takes files, folders or URIs, without --html or --n-process")
    try:
        ocr = ocr_settings(args, args.threads_per_worker)
    except ValueError as err:
        return fail(err)
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
                ocr=ocr,
                progress=bar,
            )
        except (FileNotFoundError, ValueError) as err:
            return fail(err)
        except Exception as err:  # a Ray failure: what is published stays, the re-run does the rest
            report(
                f"error: the Ray run failed ({type(err).__name__}: {err}); the parts already in {args.output}"
                " are complete: run the same command again to do the rest"
            )
            return 1
    seconds = time.perf_counter() - started
    report(
        f"{args.output}: {result['parts']} parts ({result['parts_done_now']} written now) on"
        f" {len(result['nodes'])} nodes; {result['written']} documents written ({result['errors']} with an error,"
        f" {result['entities']} entities), {result['skipped']} already there;"
        f" {result['words']:,} words in {seconds:.1f} s ({result['words'] / seconds:,.0f} words/s)"
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
