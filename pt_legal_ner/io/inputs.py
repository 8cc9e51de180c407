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

import fnmatch
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath
from typing import IO, Any

from pt_legal_ner.io.documents import Document, bounded_lines, document_from_bytes, read_jsonl, read_stdin
from pt_legal_ner.io.limits import DEFAULT_LIMITS, LimitExceeded, Limits
from pt_legal_ner.io.ocr import DEFAULT_OCR, Ocr
from pt_legal_ner.io.parquet import PYARROW_HINT, parquet_rows, read_parquet_rows

JSONL_SUFFIXES = (".jsonl", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".pq")
# documents per part: a Ray task's unit of work, of retry and of output; ~6 min of one
# thread for 100 LeNER-Br-sized decisions (3,800 words each)
DEFAULT_PART_SIZE = 100
# every file under a folder INPUT (hidden ones aside)
ALL_FILES = "**/*"


def is_uri(location: str) -> bool:
    return "://" in location


def _pyarrow_fs(location: str):
    try:
        from pyarrow import fs
    except ImportError:
        raise ValueError(f"{location}: reading URIs needs pyarrow; {PYARROW_HINT}") from None
    try:
        return fs.FileSystem.from_uri(location)
    except Exception as err:  # pyarrow raises ArrowInvalid / OSError for unknown schemes
        raise ValueError(f"{location}: cannot open this URI ({err})") from None


def open_binary(location: str) -> IO[bytes]:
    if not is_uri(location):
        return open(location, "rb")  # noqa: SIM115  (the caller closes it)
    filesystem, path = _pyarrow_fs(location)
    return filesystem.open_input_file(path)


def kind_of(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    return "jsonl" if suffix in JSONL_SUFFIXES else "parquet" if suffix in PARQUET_SUFFIXES else "text"


@dataclass(frozen=True)
class Entry:
    """One input file: its format, where it is, and the name its document ids start with.

    A file that cannot be planned (damaged Parquet, no text column, unreadable) is one
    document of kind "error" whose record says why."""

    kind: str
    location: str
    name: str
    error: str | None = None


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

    def describe(self) -> dict[str, Any]:
        """A JSON-able description: two runs with the same description write the same parts."""
        # an entry's error only when it has one, so that plans written before it existed still match
        entries = [{k: v for k, v in asdict(e).items() if k != "error" or v is not None} for e in self.entries]
        return {"entries": entries, "parts": [[asdict(s) for s in part] for part in self.parts]}


def list_entries(inputs: Iterable[str], glob: str = ALL_FILES, skip: Iterable[Path] = ()) -> list[Entry]:
    """The files of every INPUT, in order; raises FileNotFoundError naming a missing one and
    ValueError when two inputs would give the same ids."""
    entries: list[Entry] = []
    for source in inputs:
        if is_uri(source):
            entries.extend(_uri_entries(source, glob))
            continue
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"input not found: {source}")
        if path.is_dir():
            for file in _folder_files(path, glob, skip):
                entries.append(Entry(kind_of(file.name), str(file), file.relative_to(path).as_posix()))
        else:
            entries.append(Entry(kind_of(path.name), source, source))
    seen: dict[str, str] = {}
    for entry in entries:
        if entry.name in seen:
            raise ValueError(
                f"two inputs give the same document ids {entry.name!r} ({seen[entry.name]} and {entry.location});"
                " annotate them in separate runs"
            )
        seen[entry.name] = entry.location
    return entries


def _folder_files(folder: Path, glob: str, skip: Iterable[Path]) -> list[Path]:
    """Files under `folder` matching `glob`, sorted; hidden files and folders, and the paths in
    `skip` (the run's own outputs, when they lie inside the folder), left out."""
    skipped = [s.resolve() for s in skip]
    return sorted(
        p
        for p in folder.glob(glob)
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and not any(s == p.resolve() or s in p.resolve().parents for s in skipped)
    )


def _uri_entries(uri: str, glob: str) -> list[Entry]:
    from pyarrow import fs

    filesystem, root = _pyarrow_fs(uri)
    info = filesystem.get_file_info(root)
    if info.type == fs.FileType.NotFound:
        raise FileNotFoundError(f"input not found: {uri}")
    if info.type != fs.FileType.Directory:
        return [Entry(kind_of(root), uri, uri)]
    prefix = uri.rstrip("/") + "/"
    found = []
    for item in filesystem.get_file_info(fs.FileSelector(root, recursive=True)):
        rel = PurePosixPath(item.path).relative_to(PurePosixPath(root)).as_posix()
        if item.type != fs.FileType.File or any(part.startswith(".") for part in rel.split("/")):
            continue
        if glob in (ALL_FILES, "*") or fnmatch.fnmatch(rel, glob):
            found.append(Entry(kind_of(rel), prefix + rel, rel))
    return sorted(found, key=lambda e: e.name)


def plan(
    inputs: Iterable[str],
    part_size: int,
    glob: str = ALL_FILES,
    skip: Iterable[Path] = (),
    limits: Limits = DEFAULT_LIMITS,
) -> Plan:
    """List the inputs and cut their documents into parts of at most ``part_size``.

    A JSONL line over ``limits.max_bytes`` counts as a document (its record says why it is not read)."""
    entries = list_entries(inputs, glob, skip)
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
    return Plan(entries, parts, sum(s.count for part in parts for s in part))


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
    """The slice's documents (a PDF's pages OCRed as ``ocr`` says); a failure of the file itself
    (gone, unreadable since the plan) ends the slice with one error document instead of ending the run."""
    if entry.kind == "error":
        yield Document(entry.name, error=f"{entry.location}: {entry.error}")
        return
    readers = {"text": _read_text, "jsonl": _read_jsonl_slice, "parquet": _read_parquet_slice}
    done = 0
    try:
        for document in readers[entry.kind](entry, piece, limits, ocr):
            done += 1
            yield document
    except Exception as err:
        first = entry.name if entry.kind == "text" else f"{entry.name}:{piece.start + done + 1}"
        yield Document(first, error=f"{entry.location}: cannot be read ({type(err).__name__}: {err})")


def _read_text(entry: Entry, piece: Slice, limits: Limits, ocr: Ocr) -> Iterator[Document]:
    try:
        with open_binary(entry.location) as f:
            size = _size(f)
            if size is not None and size > limits.max_bytes:
                error = LimitExceeded("bytes", size, "max_bytes", limits)
                yield Document(entry.name, error=f"{entry.location}: {error}")
                return
            data = f.read(limits.max_bytes + 1)  # a stream of unknown size: read no further
    except (OSError, ValueError) as err:
        yield Document(entry.name, error=f"{entry.location}: {err}")
        return
    yield document_from_bytes(entry.name, data, entry.location, limits, ocr)


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
        for document in read_jsonl(lines, entry.location, first_number=piece.line, limits=limits):
            document.id = f"{entry.name}:{document.id}"
            yield document
            done += 1
            if done == piece.count:
                return


def _read_parquet_slice(entry: Entry, piece: Slice, limits: Limits, ocr: Ocr) -> Iterator[Document]:
    yield from read_parquet_rows(entry.location, entry.name, piece.start, piece.count, open_binary, limits)


def open_documents(
    inputs: list[str],
    glob: str = ALL_FILES,
    skip: Iterable[Path] = (),
    limits: Limits = DEFAULT_LIMITS,
    ocr: Ocr = DEFAULT_OCR,
) -> tuple[int | None, Iterator[Document]]:
    """The documents of the INPUTs in order, and how many there are (None for stdin, "-")."""
    if list(inputs) == ["-"]:
        return None, read_stdin(limits, ocr)
    if "-" in inputs:
        raise ValueError("stdin (-) cannot be combined with other inputs")
    whole = plan(inputs, DEFAULT_PART_SIZE, glob, skip, limits)
    return whole.total, read_plan(whole, limits, ocr)
