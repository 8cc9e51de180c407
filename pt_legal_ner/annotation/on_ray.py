"""`annotate --ray`: the same records as the single-machine command, written as parts by Ray actors.

The driver plans the parts (pt_legal_ner/io/inputs.py), skips those already in OUT_DIR and
hands the rest, one part per task, to a Ray Data actor pool. Each actor loads the pipeline
once, reads its part's documents itself, annotates them with the single-machine code
(pt_legal_ner/annotation/records.py) and publishes the part whole (pt_legal_ner/io/parts.py). Only the
part numbers and their summaries travel through Ray; documents go disk to disk.

Faults: Ray restarts a dead actor and retries its task (its temporary file is abandoned,
never published); a lost node's tasks run elsewhere; a killed driver leaves complete parts,
and the same command run again does the rest. A document that fails is an error record.

OCR (--ocr): each actor reads its own PDFs, so scanned pages are OCRed on the node that reads
them, with ``--threads-per-worker`` Tesseracts at once (the CPUs Ray gave the actor). Where the
driver has Tesseract, an actor on a node without it refuses to start, so that no scan gets
another answer there.
"""

import json
import os
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pt_legal_ner.annotation.options import DEFAULT_MEMORY_PER_WORKER, RayOptions, RunOptions  # noqa: F401
from pt_legal_ner.annotation.records import Progress, Summary
from pt_legal_ner.io.inputs import Entry, Slice, plan
from pt_legal_ner.io.ocr import missing
from pt_legal_ner.io.parts import OutputDir

RAY_HINT = "pip install 'ray[data]>=2.60'"
# environment the actors need from the driver's: the LLM fallback's Ollama address
PASSED_ENV = ("OLLAMA_HOST",)
# what a worker reports per part (epoch times, so the driver can tell start-up from steady state)
PART_ROW = ("part", "node", "written", "errors", "entities", "words", "started", "finished")


class PartAnnotator:
    """A Ray actor: loads the pipeline once, then annotates whole parts into OUT_DIR."""

    def __init__(self, options: dict, threads: int, out: str, compress: bool, require_ocr: bool) -> None:
        import spacy
        import torch

        self.options = RunOptions.from_dict(options)
        self.ocr = self.options.ocr
        unable = None if self.ocr.mode == "never" else missing(self.ocr.language)
        if unable and require_ocr:  # a node without it would answer scans unlike the others
            raise RuntimeError(f"--ocr {self.ocr.mode}, but this node cannot OCR: {unable}; or run with --ocr never")

        torch.set_num_threads(threads)
        if self.options.code:
            spacy.util.import_file("annotate_code", self.options.code)
        import pt_legal_ner  # noqa: F401  (registers the components)
        from pt_legal_ner.annotation.process import quiet_tokenizer_length_warning, return_freed_memory_to_the_os

        quiet_tokenizer_length_warning()
        return_freed_memory_to_the_os()
        self.nlp = spacy.load(self.options.model, exclude=list(self.options.exclude))
        self.out = OutputDir(out, compress)

    def __call__(self, batch: dict) -> dict:
        rows: dict[str, list] = {k: [] for k in PART_ROW}
        for number, spec in zip(batch["part"], batch["spec"], strict=True):
            row = self.annotate_part(int(number), json.loads(spec))
            for key, value in row.items():
                rows[key].append(value)
        return rows

    def annotate_part(self, number: int, spec: list) -> dict[str, Any]:
        import ray

        from pt_legal_ner.annotation.records import annotate
        from pt_legal_ner.io.inputs import read_slice

        started = time.time()
        summary = Summary()
        if not self.out.has(number):  # a retry of a part another attempt finished
            documents = (
                doc
                for entry, piece in spec
                for doc in read_slice(Entry(**entry), Slice(**piece), self.options.limits, self.ocr)
            )
            writer = self.out.open_part(number)
            try:
                summary = annotate(
                    self.nlp, documents, writer, batch_size=self.options.batch_size, max_chars=self.options.max_chars
                )
            except BaseException:
                writer.discard()
                raise
            writer.publish()
        return {
            "part": number,
            "node": ray.get_runtime_context().get_node_id(),
            **{k: getattr(summary, k) for k in ("written", "errors", "entities", "words")},
            "started": started,
            "finished": time.time(),
        }


def check_model(model: str) -> None:
    """Fail here, not in every actor: the pipeline must be a folder or an installed package."""
    import spacy.util

    if not (Path(model).is_dir() or spacy.util.is_package(model)):
        raise ValueError(f"cannot load the pipeline {model!r}: no such folder or installed package")


def part_specs(work, numbers: list[int]) -> list[dict[str, Any]]:
    """One row per part to do: its number and the (entry, slice) pairs a worker reads."""
    return [
        {
            "part": number,
            "spec": json.dumps([[asdict(work.entries[s.entry]), asdict(s)] for s in work.parts[number]]),
        }
        for number in numbers
    ]


def annotate_on_ray(
    inputs: list[str],
    out: str,
    options: RunOptions = RunOptions(),
    cluster: RayOptions = RayOptions(),
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Annotate INPUTs into parts in ``out`` on the Ray cluster at ``cluster.address`` ("local": start one here)."""
    try:
        import ray
    except ImportError:
        raise ValueError(f"--ray needs Ray, which is not installed: {RAY_HINT}") from None
    check_model(options.model)
    ocr = options.ocr
    output = OutputDir(out, cluster.compress)
    work = plan(inputs, cluster.part_size, options.glob, skip=[output.path], limits=options.limits)
    # what changes the records (not how many pages are OCRed at once): a resume must keep them
    reading = {"ocr": ocr.mode, "ocr_dpi": ocr.dpi, "ocr_language": ocr.language}
    settings = {"part_size": cluster.part_size, "compress": cluster.compress, "max_chars": options.max_chars, **reading}
    output.check_plan({"settings": settings, **work.describe()})
    output.clean_temporary()  # left by killed attempts of an earlier run; none is running now
    todo = [n for n in range(len(work.parts)) if not output.has(n)]
    pending = set(todo)
    done_docs = sum(s.count for n, part in enumerate(work.parts) if n not in pending for s in part)
    summary = Summary(skipped=done_docs)
    if progress is not None:
        if hasattr(progress, "total"):  # tqdm: the total is known once the plan is
            progress.total = work.total
        progress.update(done_docs)
    nodes: Counter = Counter()
    started = time.time()
    spans: list[tuple[float, float]] = []
    if todo:
        runtime_env = {"env_vars": {k: os.environ[k] for k in PASSED_ENV if k in os.environ}}
        address, workers, threads = cluster.address, cluster.workers, cluster.threads_per_worker
        init = {"address": None if address == "local" else address, "runtime_env": runtime_env}
        if address == "local":
            init |= {"num_cpus": max(os.cpu_count() or 1, workers * threads), "include_dashboard": False}
        ray.init(**init, logging_level="WARNING", configure_logging=True, log_to_driver=True)
        try:
            context = ray.data.DataContext.get_current()
            context.enable_progress_bars = False
            context.max_errored_blocks = 0  # a failed part fails the run (re-run it), never vanishes
            context.execution_options.preserve_order = False
            code = str(Path(options.code).resolve()) if options.code else None  # actors run elsewhere
            actors = min(workers, len(todo))  # an actor without a part would only load the model
            dataset = ray.data.from_items(part_specs(work, todo), override_num_blocks=len(todo))
            results = dataset.map_batches(
                PartAnnotator,
                fn_constructor_kwargs={
                    "options": {**options.to_dict(), "code": code},
                    "threads": threads,
                    "out": str(output.path.resolve()),
                    "compress": cluster.compress,
                    # Tesseract is here: each node must have it, so that a scan gets one answer
                    "require_ocr": ocr.mode != "never" and missing(ocr.language) is None,
                },
                batch_size=1,
                batch_format="numpy",
                # all asked for at once, but the work starts with the first: a pool that cannot fit
                # on the cluster (more workers than free CPUs) runs smaller instead of waiting forever
                compute=ray.data.ActorPoolStrategy(
                    min_size=1, max_size=actors, initial_size=actors, max_tasks_in_flight_per_actor=1
                ),
                num_cpus=threads,
                memory=cluster.memory_per_worker or None,
            )
            for row in results.iter_rows():
                spans.append((float(row["started"]), float(row["finished"])))
                part = Summary(**{k: int(row[k]) for k in ("written", "errors", "entities", "words")})
                summary.add(part)
                nodes[str(row["node"])] += 1
                if progress is not None:
                    progress.update(sum(s.count for s in work.parts[int(row["part"])]))
                    if hasattr(progress, "add_words"):
                        progress.add_words(part.words)
        finally:
            ray.shutdown()
    unwritten = [n for n in range(len(work.parts)) if not output.has(n)]
    if unwritten:
        raise RuntimeError(
            f"{len(unwritten)} parts were not written (first: {unwritten[0]}); run the same command again"
        )
    result = {
        "parts": len(work.parts),
        "parts_done_now": len(todo),
        "documents": work.total,
        **asdict(summary),
        "nodes": dict(nodes),
        "seconds": round(time.time() - started, 2),
        # start-up (Ray, actors, pipeline loads) apart from the work: first part begun, last part done
        "startup_s": round(min(s for s, _ in spans) - started, 2) if spans else None,
        "work_s": round(max(f for _, f in spans) - min(s for s, _ in spans), 2) if spans else None,
        "python": sys.version.split()[0],
    }
    output.finish(result)
    return result
