"""`annotate`: documents into JSONL records (and displaCy pages), on this machine or a Ray cluster."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from tqdm import tqdm

from pt_legal_ner.annotation.options import DEFAULT_MEMORY_PER_WORKER, RayOptions, RunOptions
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
    take_key_from_environment,
    usable_cpus,
)
from pt_legal_ner.io.guard import Output, check_outputs
from pt_legal_ner.io.inputs import DEFAULT_PART_SIZE, is_uri, open_inputs
from pt_legal_ner.io.jsonl import JsonlAppender
from pt_legal_ner.io.ocr import Ocr
from pt_legal_ner.io.run_settings import check_settings, record_settings, settings_path


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


@dataclass(frozen=True)
class LocalRun:
    """What annotate and pseudonymize hand to ``run_locally``: their outputs, the files that must
    stay unread and unwritten, the settings a resume must match, and how to make the writer."""

    command: str
    outputs: list[Output]
    make_writer: Callable[[], Any]
    settings: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Path] = field(default_factory=dict)
    out_folder: bool = False
    # the file that holds OUT's records (OUT itself, or a folder's manifest)
    records_file: Path | None = None
    html_dir: Path | None = None
    # adapts the pipeline and returns what goes into a record's entities (annotate's ``spans_of``)
    prepare: Callable[[Language], Any] | None = None


def run_locally(args: argparse.Namespace, run: LocalRun) -> int:
    """Check the outputs against the inputs, load the pipeline, check or record the settings,
    annotate into ``run.make_writer()``. Nothing is written before every check has passed."""
    import_user_code(args)
    sidecar = settings_path(args.output, run.out_folder)
    outputs = run.outputs + ([] if run.out_folder else [Output("its settings file", sidecar, False)])
    # outputs, the key and the settings may lie inside a folder INPUT: they are not documents
    skip = {o.path: f"{o.what} of this run" for o in outputs} | {p: w for w, p in run.secrets.items()}
    try:
        options = run_options(args, ocr_settings(args, usable_cpus()))
        inputs = open_inputs(args.input, options.glob, skip, options.limits, options.ocr)
        roots = [Path(i) for i in args.input if i != "-" and not is_uri(i)]
        check_outputs(outputs, [*inputs.files, *roots], run.secrets)
    except (FileNotFoundError, ValueError) as err:
        return fail(err)
    for line in inputs.skipped:
        report(f"left out of the inputs: {line}")
    return_freed_memory_to_the_os()
    try:
        nlp = spacy.load(options.model, exclude=list(options.exclude))
    except OSError as err:
        return fail(f"cannot load the pipeline {options.model!r}: {err}")
    spans_of = run.prepare(nlp) if run.prepare is not None else entity_dicts
    settings = {"command": run.command, "model": model_identity(nlp), **options.records_settings(), **run.settings}
    had_records = has_records(run.records_file or args.output)
    try:
        check_settings(args.output, run.out_folder, settings, had_records)
        writer = run.make_writer()
    except ValueError as err:  # settings of another run, an output in use or not ours
        return fail(err)
    if not had_records:
        record_settings(args.output, run.out_folder, settings)
    # a bar on a terminal only (tqdm's disable=None), so logs and pipes stay clean
    with tqdm(total=inputs.total, unit="doc", desc=args.command, disable=None, file=sys.stderr) as bar:
        try:
            summary = annotate(
                nlp,
                inputs.documents,
                writer,
                html_dir=run.html_dir,
                batch_size=options.batch_size,
                n_process=options.n_process,
                max_chars=options.max_chars,
                progress=bar,
                spans_of=spans_of,
            )
        except ValueError as err:  # an input that changed under the run: what is written is whole
            return fail(f"{err} (the {bar.n} documents before it are in {args.output})")
    # pseudonymize's writer counts what it masked; annotate's summary counts entities
    found = writer.summary() if hasattr(writer, "summary") else f"{summary.entities} entities"
    report(
        f"{args.output}: {summary.written} documents written ({summary.errors} with an error,"
        f" {found}), {summary.skipped} already there"
    )
    return 0


def model_identity(nlp: Language) -> dict[str, str]:
    return {key: nlp.meta.get(key) for key in ("lang", "name", "version")}


def run_options(args: argparse.Namespace, ocr: Ocr) -> RunOptions:
    """The run's settings, built once from the command line (``ocr``: ocr_settings's, checked)."""
    return RunOptions(
        model=args.model,
        exclude=tuple(args.exclude),
        code=args.code,
        batch_size=args.batch_size,
        n_process=args.n_process,
        max_chars=args.max_chars,
        glob=args.glob,
        limits=args.limit,
        ocr=ocr,
    )


def has_records(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def cmd_annotate(args: argparse.Namespace) -> int:
    take_key_from_environment()  # annotate never needs it; no process it starts gets it
    if args.ray:
        import_user_code(args)
        return cmd_annotate_ray(args)
    outputs = [Output("-o", args.output, False)] + ([Output("--html", args.html, True)] if args.html else [])
    writer = lambda: JsonlAppender(args.output, "annotation", ("entities",))  # noqa: E731
    return run_locally(args, LocalRun("annotate", outputs, writer, html_dir=args.html))


def cmd_annotate_ray(args: argparse.Namespace) -> int:
    from pt_legal_ner.annotation.on_ray import annotate_on_ray

    if args.html or args.n_process != 1 or args.input == ["-"]:
        return fail("--ray takes files, folders or URIs, without --html or --n-process")
    try:
        ocr = ocr_settings(args, args.threads_per_worker)
    except ValueError as err:
        return fail(err)
    cluster = RayOptions(
        args.ray, args.workers, args.threads_per_worker, args.memory_per_worker, args.part_size, args.compress
    )
    started = time.perf_counter()
    with WordsBar(desc="annotate") as bar:
        try:
            result = annotate_on_ray(args.input, str(args.output), run_options(args, ocr), cluster, progress=bar)
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
