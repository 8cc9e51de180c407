"""Outputs never touch inputs: checked before a run writes anything.

An output that is an input (``pseudonymize a.txt -o .`` would write ``a.txt`` over itself), a
folder of outputs that holds an input (its files could take an input's name), an output inside
another output's folder (a mapping inside OUT is published with it), and an output over the key
file are refused, each with the two paths named. Paths are compared as the file system sees
them: resolved links, and the same file under two names (hard links).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class Refused(ValueError):
    """A run that would destroy or publish what it must not; nothing has been written."""


@dataclass(frozen=True)
class Output:
    what: str  # how the user named it: "OUT", "--mapping", "--html"
    path: Path
    folder: bool  # a folder the run writes files into (else one file)


def _identity(path: Path) -> tuple[int, int] | None:
    """The file's (device, inode), None where it does not exist yet."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


class _Paths:
    """Paths resolved once, and their files' identities (hard links share one)."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.resolved = {path.resolve(): path for path in paths}
        self.ids = {ident: path for real, path in self.resolved.items() if (ident := _identity(real)) is not None}

    def same(self, path: Path) -> Path | None:
        """The path of these that is ``path``'s file, if any."""
        real = path.resolve()
        if real in self.resolved:
            return self.resolved[real]
        ident = _identity(real)
        return self.ids.get(ident) if ident is not None else None

    def inside(self, folder: Path) -> Path | None:
        """A path of these under ``folder``, if any."""
        real = folder.resolve()
        return next((path for resolved, path in self.resolved.items() if real in resolved.parents), None)


def check_outputs(outputs: Iterable[Output], inputs: Iterable[Path], secrets: dict[str, Path] | None = None) -> None:
    """Raise Refused if an output is, holds or would replace an input, another output or a secret.

    ``inputs``: every input file the run will read, and the folders given as INPUT;
    ``secrets``: files that must never be written or published, by how the user named them.
    Each input is resolved once, however many outputs there are.
    """
    outputs = list(outputs)
    read = _Paths(inputs)
    for number, out in enumerate(outputs):
        if (path := read.same(out.path)) is not None:
            raise Refused(f"{out.what} {out.path} is the input {path}: it would be written over")
        if out.folder and (path := read.inside(out.path)) is not None:
            raise Refused(
                f"{out.what} {out.path} holds the input {path}: its files could replace it; write to a"
                " folder that holds no input"
            )
        for other in outputs[number + 1 :]:
            if _Paths([other.path]).same(out.path) is not None:
                raise Refused(f"{out.what} and {other.what} are the same path {out.path}")
            for outer, inner in ((out, other), (other, out)):
                if outer.folder and _Paths([inner.path]).inside(outer.path) is not None:
                    raise Refused(
                        f"{inner.what} {inner.path} is inside {outer.what} {outer.path}: it would be published"
                        f" with it (or replaced by one of its files); keep it apart"
                    )
        for what, secret in (secrets or {}).items():
            kept = _Paths([secret])
            if kept.same(out.path) is not None or (out.folder and kept.inside(out.path) is not None):
                raise Refused(f"{out.what} {out.path} would write over or publish {what} {secret}")
