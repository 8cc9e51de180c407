"""Which files a run reads: INPUT paths, folders and URIs listed once, in order, with their ids.

Ids, the resume key: a text file given as INPUT is named by its path as given; a file found in a
folder by its path relative to the folder (a name that is not UTF-8 with its bytes escaped). A
folder's hidden files, the run's own outputs and the key, and links leading out of the folder
are left out, each named with the reason. Two files whose ids would meet are refused.
"""

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

JSONL_SUFFIXES = (".jsonl", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".pq")
PYARROW_HINT = "pip install pyarrow (Ray installs it: pip install 'ray[data]>=2.60')"
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


# paths that are not inputs: path -> why (the key, the mapping), or a plain list of the run's outputs
Skip = Mapping[Path, str] | Iterable[Path]


def readable(name: str) -> str:
    """``name`` as valid UTF-8 text: bytes of a name that is not UTF-8 (Python keeps them as lone
    surrogates) written as ``\\xNN`` escapes, so the name can be an id in a JSON record."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def list_entries(
    inputs: Iterable[str], glob: str = ALL_FILES, skip: Skip = (), skipped: list[str] | None = None
) -> list[Entry]:
    """The files of every INPUT, in order; raises FileNotFoundError naming a missing one and
    ValueError when two inputs would give the same ids. Files of a folder left out (the paths of
    ``skip``, links out of the folder) are added to ``skipped`` with the reason."""
    reasons = _reasons(skip)
    entries: list[Entry] = []
    for source in inputs:
        if is_uri(source):
            entries.extend(_uri_entries(source, glob))
            continue
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"input not found: {readable(source)}")
        if path.is_dir():
            for file in _folder_files(path, glob, reasons, skipped if skipped is not None else []):
                entries.append(Entry(kind_of(file.name), str(file), readable(file.relative_to(path).as_posix())))
        else:
            reason = reasons.get(path.resolve())
            if reason is not None:
                raise ValueError(f"{readable(source)} is {reason}: it cannot be an input")
            entries.append(Entry(kind_of(path.name), source, readable(source)))
    _check_unique_ids(entries)
    return entries


def _reasons(skip: Skip) -> dict[Path, str]:
    """Resolved path -> why it is not an input (a plain list: the run's own outputs)."""
    items = skip.items() if isinstance(skip, Mapping) else ((path, "an output of this run") for path in skip)
    return {Path(path).resolve(): reason for path, reason in items}


def _check_unique_ids(entries: list[Entry]) -> None:
    """Two files with one name, or a file named like a line of a JSONL file beside it
    (``x.jsonl:3``), would give two documents one id: one would be skipped as done."""
    seen: dict[str, str] = {}
    for entry in entries:
        if entry.name in seen:
            raise ValueError(
                f"two inputs give the same document ids {entry.name!r} ({readable(seen[entry.name])} and"
                f" {readable(entry.location)}); annotate them in separate runs"
            )
        seen[entry.name] = entry.location
    multi = {e.name for e in entries if e.kind in ("jsonl", "parquet")}
    for entry in entries:
        name, _, number = entry.name.rpartition(":")
        if number.isdigit() and name in multi and entry.kind not in ("jsonl", "parquet"):
            raise ValueError(
                f"the file {readable(entry.location)} is named like document {entry.name!r} of {name}: their ids"
                " would be the same; rename it or annotate them in separate runs"
            )


def _folder_files(folder: Path, glob: str, reasons: dict[Path, str], skipped: list[str]) -> list[Path]:
    """Files under `folder` matching `glob`, sorted; hidden files and folders left out, and so are
    the paths in `reasons` (the run's own outputs, the key) and links that lead out of the folder
    (each named in `skipped`)."""
    root = folder.resolve()
    kept = []
    for path in sorted(folder.glob(glob)):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        real = path.resolve()
        why = next((reason for s, reason in reasons.items() if s == real or s in real.parents), None)
        if why is None and root not in real.parents:
            why = "a link out of the folder"
        if why is None:
            kept.append(path)
        else:
            skipped.append(f"{readable(str(path))} ({why})")
    return kept


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
