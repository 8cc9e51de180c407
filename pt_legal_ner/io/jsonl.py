"""JSONL outputs: one record per line, appended whole, read back to resume.

- ``record_line`` always gives valid UTF-8: a lone surrogate (JSON text may carry one, and so does
  a file name that is not UTF-8) is written as a JSON escape instead of stopping the run.
- ``JsonlAppender`` appends each record with one write() to an O_APPEND file, rolls a failed
  write back, and holds an exclusive lock on the file while it is open: a second run into the
  same OUT is refused instead of interleaving with the first.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pt_legal_ner.io.atomic import fsync_dir

logger = logging.getLogger("pt_legal_ner")


class OutputInUse(ValueError):
    """Another process holds the output open for writing."""


def record_line(record: dict[str, Any]) -> bytes:
    """One record as a JSONL line of valid UTF-8."""
    try:
        return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: JSON's \\udXXX escape keeps it, in ASCII
        return (json.dumps(record) + "\n").encode("ascii")


def append_whole(fd: int, data: bytes, durable: bool = False) -> None:
    """Append ``data`` to the O_APPEND file ``fd`` whole, or not at all (a failed write is cut
    off again); ``durable``: fsynced before returning."""
    size = os.fstat(fd).st_size
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
    except BaseException:
        os.ftruncate(fd, size)
        raise


def read_done_ids(
    path: Path,
    kind: str = "annotation",
    required: Iterable[str] = (),
    each: Callable[[dict[str, Any]], Any] | None = None,
) -> set[str | int]:
    """Ids of the complete lines of an earlier run; an incomplete last line is cut off.

    Raises ValueError naming the line if the file holds something other than ``kind`` records
    (each with an ``id`` and the keys in ``required``). ``each`` sees every record read.
    """
    done: set[str | int] = set()
    if not path.exists():
        return done
    required = tuple(required)
    kept = 0
    with path.open("rb+") as f:
        for number, line in enumerate(f, start=1):
            if not line.endswith(b"\n"):
                logger.warning("%s: dropped an incomplete last line (line %d); its document is redone", path, number)
                f.truncate(kept)
                break
            try:
                record = json.loads(line)
                done.add(record["id"])
                missing = [key for key in required if key not in record]
                if missing:
                    raise KeyError(f"no {', '.join(map(repr, missing))}: another command's output?")
                if each is not None:
                    each(record)
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(
                    f"{path} line {number} is not {'an' if kind[0] in 'aeiou' else 'a'} {kind} record ({err});"
                    " refusing to append to it"
                ) from None
            kept += len(line)
    return done


def lock_exclusively(fd: int, path: Path) -> None:
    """Hold an exclusive lock on ``fd`` until it is closed; OutputInUse if another process has one."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutputInUse(f"{path} is being written by another run; wait for it or choose another output") from None


class JsonlAppender:
    """Append-only JSONL output: one write() per record, a failed write is rolled back."""

    def __init__(
        self,
        path: Path,
        kind: str = "annotation",
        required: Iterable[str] = (),
        each: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        created = not path.exists()
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        lock_exclusively(self.fd, path)  # before reading: another run may be appending
        try:
            self.done = read_done_ids(path, kind, required, each)
        except BaseException:
            os.close(self.fd)
            raise
        if created:
            fsync_dir(path.parent)

    def write(self, record: dict[str, Any]) -> None:
        append_whole(self.fd, record_line(record))
        self.done.add(record["id"])

    def close(self) -> None:
        os.fsync(self.fd)
        os.close(self.fd)


class RecordWriter(Protocol):
    """Where records go: ``done`` holds the ids already there (skipped), ``write`` adds one."""

    done: set

    def write(self, record: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


@dataclass
class Summary:
    written: int = 0
    skipped: int = 0
    errors: int = 0
    entities: int = 0
    words: int = 0

    def add(self, other: Summary) -> None:
        for name in ("written", "skipped", "errors", "entities", "words"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
