"""Write files so that a crash never leaves a half-written one behind, and a finished one survives
a power cut: each file is written under a temporary name, fsynced, renamed, and its folder fsynced."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

# the temporary file's name keeps this much of the final name: a name near the file system's
# 255 bytes must still leave room for the prefix and the random part
TEMP_NAME_CHARS = 60


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder
        pass
    finally:
        os.close(fd)


def _temporary(path: Path, mode: int) -> tuple[int, str]:
    """A new hidden file beside ``path`` (never an existing file: mkstemp opens with O_EXCL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:TEMP_NAME_CHARS]}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, mode)  # mkstemp makes it 0600; outputs are for others to read unless told
    return fd, tmp


def _written(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_bytes_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """``path`` holds ``data`` whole, or is as it was (replacing a file that is there)."""
    path = Path(path)
    fd, tmp = _temporary(path, mode)
    try:
        _written(fd, data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def write_text_atomic(path: Path, text: str, mode: int = 0o644, errors: str = "strict") -> None:
    """``errors="replace"``: a lone surrogate (JSON can carry one) becomes "?", one character for one."""
    write_bytes_atomic(path, text.encode("utf-8", errors), mode)


def create_bytes_atomic(path: Path, data: bytes, mode: int = 0o644) -> bool:
    """Like ``write_bytes_atomic``, but never replaces a file: False (nothing written) if ``path`` exists."""
    path = Path(path)
    fd, tmp = _temporary(path, mode)
    try:
        _written(fd, data)
        os.link(tmp, path)  # fails if the name is taken, where a rename would replace
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    fsync_dir(path.parent)
    return True


def to_disk_atomic(obj, output: Path) -> None:
    """``obj.to_disk`` (a pipeline, a component) into ``<output>.partial``, then renamed: a crash
    part-way leaves no ``output`` that looks complete."""
    output = Path(output)
    partial = output.with_name(output.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    obj.to_disk(partial)
    shutil.rmtree(output, ignore_errors=True)
    partial.rename(output)
