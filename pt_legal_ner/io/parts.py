"""The output folder of a partitioned run: one JSONL part per input part, each published whole.

- A part is written under ``OUT/.tmp/`` and then linked to ``OUT/part-NNNNN.jsonl[.gz]``
  with a link that fails if the name exists: a reader never sees half a part, and a second
  attempt at the same part (a retried task, a worker thought dead) never rewrites it.
- ``OUT/_plan.json`` records which documents each part holds. A re-run with the same
  arguments finds the same plan and skips the parts that exist; a different plan is refused,
  since its parts would not line up with the ones on disk.
- ``OUT/_SUCCESS`` is written last, with the run's summary: its presence means every part is there.

OUT is a local folder or a ``file://`` URI; on a cluster, a folder every node mounts at the
same path (NFS and the like). Object-store outputs (``s3://``) are not written yet.
"""

import gzip
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import IO, Any

from pt_legal_ner.io.atomic import fsync_dir, write_text_atomic
from pt_legal_ner.io.jsonl import record_line

PLAN_FILE = "_plan.json"
SUCCESS_FILE = "_SUCCESS"
TMP_DIR = ".tmp"


def local_path(location: str) -> Path | None:
    """The local path of ``location`` (a path or a file:// URI), None for other URIs."""
    if location.startswith("file://"):
        return Path(location[len("file://") :])
    return None if "://" in location else Path(location)


def part_name(number: int, compress: bool) -> str:
    return f"part-{number:05d}.jsonl" + (".gz" if compress else "")


class OutputDir:
    """A local output folder of parts."""

    def __init__(self, location: str, compress: bool) -> None:
        self.location = location
        self.compress = compress
        path = local_path(location)
        if path is None:
            raise ValueError(
                f"{location}: the output of --ray must be a folder (or file:// URI) every node can write;"
                " object stores are not supported as outputs yet"
            )
        self.path = path

    def check_plan(self, description: dict[str, Any]) -> None:
        """Record the plan on the first run; refuse a folder holding another plan's parts."""
        self.path.mkdir(parents=True, exist_ok=True)
        plan_file = self.path / PLAN_FILE
        text = json.dumps(description, sort_keys=True)
        if plan_file.exists():
            if plan_file.read_text(encoding="utf-8") != text:
                raise ValueError(
                    f"{self.path} holds the parts of another run (other inputs or settings: {plan_file});"
                    " use another output folder, or delete this one to start over"
                )
            return
        if any(self.path.glob("part-*")):
            raise ValueError(f"{self.path} holds parts but no {PLAN_FILE}: use an empty output folder")
        write_text_atomic(plan_file, text)

    def has(self, number: int) -> bool:
        return (self.path / part_name(number, self.compress)).exists()

    def part_path(self, number: int) -> Path:
        return self.path / part_name(number, self.compress)

    def open_part(self, number: int) -> "PartWriter":
        return PartWriter(self, number)

    def clean_temporary(self) -> None:
        """Remove what killed attempts left in .tmp/ (call when no attempt is running)."""
        shutil.rmtree(self.path / TMP_DIR, ignore_errors=True)
        (self.path / SUCCESS_FILE).unlink(missing_ok=True)

    def finish(self, summary: dict[str, Any]) -> None:
        shutil.rmtree(self.path / TMP_DIR, ignore_errors=True)
        write_text_atomic(self.path / SUCCESS_FILE, json.dumps(summary, indent=2) + "\n")


class PartWriter:
    """Records of one part into a temporary file; ``publish`` makes the part appear whole."""

    def __init__(self, out: OutputDir, number: int) -> None:
        self.out = out
        self.number = number
        self.done: set = set()
        tmp_dir = out.path / TMP_DIR
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self.tmp = tmp_dir / f"{part_name(number, out.compress)}.{uuid.uuid4().hex}"
        raw = open(self.tmp, "wb")  # noqa: SIM115  (closed in close())
        self.stream: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if out.compress else raw
        self._raw = raw

    def write(self, record: dict[str, Any]) -> None:
        self.stream.write(record_line(record))
        self.done.add(record["id"])

    def close(self) -> None:
        if self.stream is not self._raw:
            self.stream.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()

    def publish(self) -> bool:
        """Link the finished file to its part name; False if another attempt published it first."""
        try:
            os.link(self.tmp, self.out.part_path(self.number))
            fsync_dir(self.out.path)
            return True
        except FileExistsError:
            return False
        finally:
            self.tmp.unlink(missing_ok=True)

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


def part_files(folder: Path) -> list[Path]:
    """The published parts of an output folder, in order (never the temporary files in .tmp/)."""
    return sorted(folder.glob("part-*.jsonl*"))


def open_jsonl(path: Path) -> IO[bytes]:
    """A JSONL file or a gzip part, for reading lines."""
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115


def read_part(path: Path) -> list[dict[str, Any]]:
    with open_jsonl(path) as f:
        return [json.loads(line) for line in f]
