"""What `annotate` reads: INPUT paths or URIs, listed once, cut into parts, read back as Documents.

One plan serves both runs: the single-machine command reads every part in order into one
JSONL file; a Ray run hands each part to a worker, which writes it as one output part.
A part is a run of at most ``part_size`` documents, described by slices of the inputs
(byte offsets for JSONL, row ranges for Parquet), so a worker reads only its own documents.

Ids, the resume key: a text file given as INPUT is named by its path as given; a file found
in a folder by its path relative to the folder; a JSONL line by ``<file>:<line number>`` and
a Parquet row by ``<file>:<row number>`` (1-based), so ids stay unique across input files.
Formats follow the extension: .jsonl/.ndjson, .parquet, anything else is one document: PDF or
DOCX by its content, else text (pt_legal_ner/documents.py).
URIs (``file://``, ``s3://``, ...) are read through pyarrow's filesystems.
"""

# no `from __future__ import annotations` here: string annotations break dataclasses under
# spacy.util.import_file, which `spacy package --code` runs on each module
import fnmatch
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from pt_legal_ner.documents import Document, document_from_bytes, read_jsonl, read_stdin

JSONL_SUFFIXES = (".jsonl", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".pq")
TEXT_COLUMN = "text"
# documents per part: a Ray task's unit of work, of retry and of output; ~6 min of one
# thread for 100 LeNER-Br-sized decisions (3,800 words each)
DEFAULT_PART_SIZE = 100
PYARROW_HINT = "pip install pyarrow (Ray installs it: pip install 'ray[data]>=2.60')"


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
    """One input file: its format, where it is, and the name its document ids start with."""

    kind: str
    location: str
    name: str


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
        return {
            "entries": [asdict(e) for e in self.entries],
            "parts": [[asdict(s) for s in part] for part in self.parts],
        }


def list_entries(inputs: Iterable[str], glob: str = "**/*", skip: Iterable[Path] = ()) -> list[Entry]:
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
        if glob in ("**/*", "*") or fnmatch.fnmatch(rel, glob):
            found.append(Entry(kind_of(rel), prefix + rel, rel))
    return sorted(found, key=lambda e: e.name)


def plan(inputs: Iterable[str], part_size: int, glob: str = "**/*", skip: Iterable[Path] = ()) -> Plan:
    """List the inputs and cut their documents into parts of at most ``part_size``."""
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
        elif entry.kind == "jsonl":
            for start, count, offset, line in _jsonl_cuts(entry, part_size, lambda: part_size - filled):
                add(number, start, count, offset, line)
        else:
            rows, start = _parquet_rows(entry), 0
            while start < rows:
                room = part_size - filled if filled < part_size else part_size
                count = min(room, rows - start)
                add(number, start, count)
                start += count
    parts = [part for part in parts if part]
    return Plan(entries, parts, sum(s.count for part in parts for s in part))


def _jsonl_cuts(entry: Entry, part_size: int, room) -> Iterator[tuple[int, int, int, int]]:
    """(start, count, byte offset, line number) of the runs of non-blank lines that fill the parts."""
    start = count = offset = first_line = 0
    position = 0
    limit = room() or part_size
    with open_binary(entry.location) as f:
        for number, raw in enumerate(f, start=1):
            if raw.strip():
                if count == 0:
                    offset, first_line = position, number
                count += 1
                if count == limit:
                    yield start, count, offset, first_line
                    start, count, limit = start + count, 0, part_size
            position += len(raw)
    if count:
        yield start, count, offset, first_line


def _parquet_rows(entry: Entry) -> int:
    parquet = _parquet_module(entry.location)
    with open_binary(entry.location) as f:
        meta = parquet.ParquetFile(f).metadata
        names = meta.schema.names
        if TEXT_COLUMN not in names:
            raise ValueError(f"{entry.location}: no {TEXT_COLUMN!r} column (columns: {', '.join(names)})")
        return meta.num_rows


def _parquet_module(location: str):
    try:
        import pyarrow.parquet
    except ImportError:
        raise ValueError(f"{location}: reading Parquet needs pyarrow; {PYARROW_HINT}") from None
    return pyarrow.parquet


def read_part(entries: list[Entry], part: list[Slice]) -> Iterator[Document]:
    for piece in part:
        yield from read_slice(entries[piece.entry], piece)


def read_plan(plan_: Plan) -> Iterator[Document]:
    for part in plan_.parts:
        yield from read_part(plan_.entries, part)


def read_slice(entry: Entry, piece: Slice) -> Iterator[Document]:
    if entry.kind == "text":
        yield _read_text(entry)
    elif entry.kind == "jsonl":
        yield from _read_jsonl_slice(entry, piece)
    else:
        yield from _read_parquet_slice(entry, piece)


def _read_text(entry: Entry) -> Document:
    try:
        with open_binary(entry.location) as f:
            data = f.read()
    except (OSError, ValueError) as err:
        return Document(entry.name, error=f"{entry.location}: {err}")
    return document_from_bytes(entry.name, data, entry.location)


def _read_jsonl_slice(entry: Entry, piece: Slice) -> Iterator[Document]:
    with open_binary(entry.location) as f:
        f.seek(piece.offset)
        done = 0
        for document in read_jsonl(f, entry.location, first_number=piece.line):
            document.id = f"{entry.name}:{document.id}"
            yield document
            done += 1
            if done == piece.count:
                return


def _read_parquet_slice(entry: Entry, piece: Slice) -> Iterator[Document]:
    parquet = _parquet_module(entry.location)
    with open_binary(entry.location) as f:
        table = _rows(parquet.ParquetFile(f), piece.start, piece.count)
    for i, row in enumerate(table.to_pylist()):
        number = piece.start + i + 1
        doc_id = f"{entry.name}:{number}"
        text = row.pop(TEXT_COLUMN)
        fields = json.loads(json.dumps(row, default=str))  # dates, decimals: as JSON writes them
        if not isinstance(text, str):
            problem = f"no {TEXT_COLUMN!r}" if text is None else f"{TEXT_COLUMN!r} is {type(text).__name__}"
            yield Document(doc_id, fields=fields, error=f"{entry.location} row {number}: {problem}")
        else:
            yield Document(doc_id, text=text, fields=fields)


def _rows(parquet_file, start: int, count: int):
    """Rows ``start .. start+count-1``, reading only the row groups that hold them."""
    meta = parquet_file.metadata
    groups, first_row, row = [], None, 0
    for group in range(meta.num_row_groups):
        n = meta.row_group(group).num_rows
        if row + n > start and row < start + count:
            groups.append(group)
            first_row = row if first_row is None else first_row
        row += n
    table = parquet_file.read_row_groups(groups)
    return table.slice(start - (first_row or 0), count)


def open_documents(
    inputs: list[str], glob: str = "**/*", skip: Iterable[Path] = ()
) -> tuple[int | None, Iterator[Document]]:
    """The documents of the INPUTs in order, and how many there are (None for stdin, "-")."""
    if list(inputs) == ["-"]:
        return None, read_stdin()
    if "-" in inputs:
        raise ValueError("stdin (-) cannot be combined with other inputs")
    whole = plan(inputs, DEFAULT_PART_SIZE, glob, skip)
    return whole.total, read_plan(whole)
