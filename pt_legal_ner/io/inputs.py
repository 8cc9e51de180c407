"""What `annotate` reads: INPUT paths or URIs, listed once, cut into parts, read back as Documents.

One plan serves both runs: the single-machine command reads every part in order into one
JSONL file; a Ray run hands each part to a worker, which writes it as one output part.
A part is a run of at most ``part_size`` documents, described by slices of the inputs
(byte offsets for JSONL, row ranges for Parquet), so a worker reads only its own documents.

Ids, the resume key: a text file given as INPUT is named by its path as given; a file found
in a folder by its path relative to the folder; a JSONL line by ``<file>:<line number>`` and
a Parquet row by ``<file>:<row number>`` (1-based), so ids stay unique across input files.
Formats follow the extension: .jsonl/.ndjson, .parquet, anything else is one document: PDF or
DOCX by its content, else text (pt_legal_ner/io/documents.py).
URIs (``file://``, ``s3://``, ...) are read through pyarrow's filesystems.
"""

import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any, NamedTuple

from pt_legal_ner.io.documents import Document, bounded_lines, document_from_bytes, read_jsonl, read_stdin
from pt_legal_ner.io.limits import DEFAULT_LIMITS, LimitExceeded, Limits
from pt_legal_ner.io.listing import (  # noqa: F401  (the names callers import from here)
    ALL_FILES,
    JSONL_SUFFIXES,
    PARQUET_SUFFIXES,
    Entry,
    Skip,
    is_uri,
    kind_of,
    list_entries,
    open_binary,
    readable,
)
from pt_legal_ner.io.ocr import DEFAULT_OCR, Ocr
from pt_legal_ner.io.parquet import parquet_rows, read_parquet_rows
from pt_legal_ner.io.parts import local_path

# documents per part: a Ray task's unit of work, of retry and of output; ~6 min of one
# thread for 100 LeNER-Br-sized decisions (3,800 words each)
DEFAULT_PART_SIZE = 100


@dataclass(frozen=True)
class Slice:
    """Documents ``start .. start+count-1`` of entry number ``entry`` (JSONL: from byte ``offset``, line ``line``)."""

    entry: int
    start: int
    count: int
    offset: int = 0
    line: int = 1


@dataclass
class Plan:
    entries: list[Entry]
    parts: list[list[Slice]]
    total: int
    # files of folder INPUTs left out, each with the reason (outputs, the key, links out of the folder)
    skipped: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """A JSON-able description: two runs with the same description write the same parts."""
        # an entry's error only when it has one, so that plans written before it existed still match
        entries = [{k: v for k, v in asdict(e).items() if k != "error" or v is not None} for e in self.entries]
        return {"entries": entries, "parts": [[asdict(s) for s in part] for part in self.parts]}


class InputChanged(ValueError):
    """A JSONL or Parquet file read differently than when the run was planned: the run stops
    rather than give its documents ids that could be another document's."""


def plan(
    inputs: Iterable[str],
    part_size: int,
    glob: str = ALL_FILES,
    skip: Skip = (),
    limits: Limits = DEFAULT_LIMITS,
) -> Plan:
    """List the inputs and cut their documents into parts of at most ``part_size``.

    A JSONL line over ``limits.max_bytes`` counts as a document (its record says why it is not read)."""
    skipped: list[str] = []
    entries = list_entries(inputs, glob, skip, skipped)
    parts: list[list[Slice]] = [[]]
    filled = 0

    def add(entry: int, start: int, count: int, offset: int = 0, line: int = 1) -> None:
        nonlocal filled
        if filled == part_size:
            parts.append([])
            filled = 0
        parts[-1].append(Slice(entry, start, count, offset, line))
        filled += count

    for number, entry in enumerate(entries):
        if entry.kind == "text":
            add(number, 0, 1)
            continue
        try:
            if entry.kind == "jsonl":
                cuts = list(_jsonl_cuts(entry, part_size, lambda: part_size - filled, limits))
            else:
                rows = parquet_rows(entry.location, open_binary)
        except Exception as err:  # the file's own error line, not the run's end
            reason = str(err) if isinstance(err, ValueError) else f"cannot be read ({type(err).__name__}: {err})"
            entries[number] = replace(entry, kind="error", error=reason)
            add(number, 0, 1)
            continue
        if entry.kind == "jsonl":
            for start, count, offset, line in cuts:
                add(number, start, count, offset, line)
            continue
        start = 0
        while start < rows:
            room = part_size - filled if filled < part_size else part_size
            count = min(room, rows - start)
            add(number, start, count)
            start += count
    parts = [part for part in parts if part]
    return Plan(entries, parts, sum(s.count for part in parts for s in part), skipped)


def _jsonl_cuts(entry: Entry, part_size: int, room, limits: Limits) -> Iterator[tuple[int, int, int, int]]:
    """(start, count, byte offset, line number) of the runs of non-blank lines that fill the parts."""
    start = count = offset = first_line = 0
    position = 0
    limit = room() or part_size
    with open_binary(entry.location) as f:
        for number, (raw, size) in enumerate(bounded_lines(f, limits.max_bytes), start=1):
            if raw is None or raw.strip():
                if count == 0:
                    offset, first_line = position, number
                count += 1
                if count == limit:
                    yield start, count, offset, first_line
                    start, count, limit = start + count, 0, part_size
            position += size
    if count:
        yield start, count, offset, first_line


def read_part(
    entries: list[Entry], part: list[Slice], limits: Limits = DEFAULT_LIMITS, ocr: Ocr = DEFAULT_OCR
) -> Iterator[Document]:
    for piece in part:
        yield from read_slice(entries[piece.entry], piece, limits, ocr)


def read_plan(plan_: Plan, limits: Limits = DEFAULT_LIMITS, ocr: Ocr = DEFAULT_OCR) -> Iterator[Document]:
    for part in plan_.parts:
        yield from read_part(plan_.entries, part, limits, ocr)


def read_slice(
    entry: Entry, piece: Slice, limits: Limits = DEFAULT_LIMITS, ocr: Ocr = DEFAULT_OCR
) -> Iterator[Document]:
    """The slice's documents (a PDF's pages OCRed as ``ocr`` says). A text file that fails (gone,
    unreadable since the plan) is one error document; a JSONL or Parquet file that fails part-way,
    or holds fewer documents than planned, raises InputChanged: its unread documents have no
    known ids, and an error record under a guessed one could hide a real document on resume."""
    if entry.kind == "error":
        yield Document(entry.name, error=f"{readable(entry.location)}: {entry.error}")
        return
    if entry.kind == "text":
        try:
            yield from _read_text(entry, piece, limits, ocr)
        except Exception as err:
            yield Document(
                entry.name, error=f"{readable(entry.location)}: cannot be read ({type(err).__name__}: {err})"
            )
        return
    reader = _read_jsonl_slice if entry.kind == "jsonl" else _read_parquet_slice
    done = 0
    try:
        for document in reader(entry, piece, limits, ocr):
            done += 1
            yield document
    except Exception as err:
        raise InputChanged(
            f"{readable(entry.location)} could not be read past document {piece.start + done} ({type(err).__name__}:"
            f" {err}); it may have changed since the run began: run the same command again"
        ) from err
    if done != piece.count:
        raise InputChanged(
            f"{readable(entry.location)} holds fewer documents than when the run began ({piece.start + done} of"
            f" {piece.start + piece.count}): run the same command again"
        )


def _read_text(entry: Entry, piece: Slice, limits: Limits, ocr: Ocr) -> Iterator[Document]:
    try:
        with open_binary(entry.location) as f:
            size = _size(f)
            if size is not None and size > limits.max_bytes:
                error = LimitExceeded("bytes", size, "max_bytes", limits)
                yield Document(entry.name, error=f"{readable(entry.location)}: {error}")
                return
            data = f.read(limits.max_bytes + 1)  # a stream of unknown size: read no further
    except (OSError, ValueError) as err:
        yield Document(entry.name, error=f"{readable(entry.location)}: {err}")
        return
    yield document_from_bytes(entry.name, data, readable(entry.location), limits, ocr)


def _size(f: IO[bytes]) -> int | None:
    """The size of an open file (local or pyarrow), None when it cannot be known before reading."""
    try:
        return f.size() if hasattr(f, "size") else os.fstat(f.fileno()).st_size
    except (OSError, ValueError, AttributeError):
        return None


def _read_jsonl_slice(entry: Entry, piece: Slice, limits: Limits, ocr: Ocr) -> Iterator[Document]:
    with open_binary(entry.location) as f:
        f.seek(piece.offset)
        done = 0
        lines = bounded_lines(f, limits.max_bytes)
        for document in read_jsonl(lines, readable(entry.location), first_number=piece.line, limits=limits):
            document.id = f"{entry.name}:{document.id}"
            yield document
            done += 1
            if done == piece.count:
                return


def _read_parquet_slice(entry: Entry, piece: Slice, limits: Limits, ocr: Ocr) -> Iterator[Document]:
    yield from read_parquet_rows(entry.location, entry.name, piece.start, piece.count, open_binary, limits)


class Inputs(NamedTuple):
    total: int | None  # None for stdin
    documents: Iterator[Document]
    skipped: list[str]  # files of folder INPUTs left out, with the reason
    files: list[Path]  # the local files read


def open_inputs(
    inputs: list[str],
    glob: str = ALL_FILES,
    skip: Skip = (),
    limits: Limits = DEFAULT_LIMITS,
    ocr: Ocr = DEFAULT_OCR,
) -> Inputs:
    """The documents of the INPUTs in order, how many there are, and which files were left out."""
    if list(inputs) == ["-"]:
        return Inputs(None, read_stdin(limits, ocr), [], [])
    if "-" in inputs:
        raise ValueError("stdin (-) cannot be combined with other inputs")
    whole = plan(inputs, DEFAULT_PART_SIZE, glob, skip, limits)
    files = [path for e in whole.entries if (path := local_path(e.location)) is not None]
    return Inputs(whole.total, read_plan(whole, limits, ocr), whole.skipped, files)


def open_documents(
    inputs: list[str],
    glob: str = ALL_FILES,
    skip: Skip = (),
    limits: Limits = DEFAULT_LIMITS,
    ocr: Ocr = DEFAULT_OCR,
) -> tuple[int | None, Iterator[Document]]:
    """The documents of the INPUTs in order, and how many there are (None for stdin, "-")."""
    total, documents, _, _ = open_inputs(inputs, glob, skip, limits, ocr)
    return total, documents
