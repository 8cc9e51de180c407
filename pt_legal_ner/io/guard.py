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


def _same(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return False


def _inside(path: Path, folder: Path) -> bool:
    return folder.resolve() in path.resolve().parents


def check_outputs(outputs: Iterable[Output], inputs: Iterable[Path], secrets: dict[str, Path] | None = None) -> None:
    """Raise Refused if an output is, holds or would replace an input, another output or a secret.

    ``inputs``: every input file the run will read, and the folders given as INPUT;
    ``secrets``: files that must never be written or published, by how the user named them.
    """
    outputs = list(outputs)
    inputs = list(inputs)
    for number, out in enumerate(outputs):
        for path in inputs:
            if _same(out.path, path):
                raise Refused(f"{out.what} {out.path} is the input {path}: it would be written over")
            if out.folder and _inside(path, out.path):
                raise Refused(
                    f"{out.what} {out.path} holds the input {path}: its files could replace it; write to a"
                    " folder that holds no input"
                )
        for other in outputs[number + 1 :]:
            if _same(out.path, other.path):
                raise Refused(f"{out.what} and {other.what} are the same path {out.path}")
            for outer, inner in ((out, other), (other, out)):
                if outer.folder and _inside(inner.path, outer.path):
                    raise Refused(
                        f"{inner.what} {inner.path} is inside {outer.what} {outer.path}: it would be published"
                        f" with it (or replaced by one of its files); keep it apart"
                    )
        for what, secret in (secrets or {}).items():
            if _same(out.path, secret) or (out.folder and _inside(secret, out.path)):
                raise Refused(f"{out.what} {out.path} would write over or publish {what} {secret}")
