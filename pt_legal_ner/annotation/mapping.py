"""The mapping file of ``pseudonymize --mapping``: placeholder -> original values, the only way
back to the originals, so it is only ever added to.

- Lines are ``{"output", "id", "entities"}``: batches written to other outputs (whose ids may
  repeat) share one mapping.
- A line already there (same output, id and entities) is not written again; one with other
  entities is added, and the last line of an output's document is its mapping.
- Each line is appended with one write() under an exclusive lock, then fsynced: two runs at
  once lose no line, and a line is on disk before its document's output record.
- Mode 0600; a file with any line no mapping has (an annotate output, an input) is refused.
"""

# no `from __future__ import annotations`: see annotate.py
import fcntl
import json
import os
from pathlib import Path
from typing import Any

from pt_legal_ner.io.atomic import fsync_dir
from pt_legal_ner.io.jsonl import append_whole, record_line

PRIVATE = 0o600


class Mapping:
    """The mapping file of one run, whose lines name ``output`` (see the module's docstring)."""

    def __init__(self, path: Path, output: Path) -> None:
        self.path = path
        self.output = str(output.resolve())
        path.parent.mkdir(parents=True, exist_ok=True)
        created = not path.exists()
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE)
        try:
            os.fchmod(self.fd, PRIVATE)  # also when the file was there with another mode
            self.lines = self._read()
        except BaseException:
            os.close(self.fd)
            raise
        if created:
            fsync_dir(path.parent)

    def _read(self) -> dict[tuple[str | None, Any], str]:
        """(output, id) -> the entities of its last line; ValueError for a line no mapping has."""
        fcntl.flock(self.fd, fcntl.LOCK_SH)  # not while another run appends
        try:
            data = self.path.read_bytes()
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        lines = {}
        for number, line in enumerate(data.splitlines(keepends=True), start=1):
            if not line.endswith(b"\n"):  # a torn last line: its document is redone and written again
                break
            try:
                record = json.loads(line)
                entities = record["entities"]
                if "text" in record or not all("placeholder" in e and "values" in e for e in entities):
                    raise ValueError("entities without placeholder and values: another command's output?")
                lines[(record.get("output"), record["id"])] = json.dumps(entities, sort_keys=True)
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(
                    f"{self.path} line {number} is not a mapping record ({err}); refusing to change it"
                ) from None
        return lines

    def write(self, doc_id: Any, entities: list[dict[str, Any]]) -> None:
        key, value = (self.output, doc_id), json.dumps(entities, sort_keys=True)
        if self.lines.get(key) == value:
            return
        data = record_line({"output": self.output, "id": doc_id, "entities": entities})
        fcntl.flock(self.fd, fcntl.LOCK_EX)  # another run appending to the same mapping waits
        try:
            append_whole(self.fd, data, durable=True)
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.lines[key] = value

    def close(self) -> None:
        os.close(self.fd)
