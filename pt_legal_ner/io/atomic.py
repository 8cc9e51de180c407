"""Write files so that a crash never leaves a half-written one behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def write_bytes_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)  # mkstemp makes it 0600; outputs are for others to read unless told
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    write_bytes_atomic(path, text.encode("utf-8"), mode)


def to_disk_atomic(obj, output: Path) -> None:
    """``obj.to_disk`` (a pipeline, a component) into ``<output>.partial``, then renamed: a crash
    part-way leaves no ``output`` that looks complete."""
    output = Path(output)
    partial = output.with_name(output.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    obj.to_disk(partial)
    shutil.rmtree(output, ignore_errors=True)
    partial.rename(output)
