"""Fetch the assets listed in project.yml, verifying their md5 checksums.

When the environment variable LENER_BR_DIR names a folder, each asset is copied from
``$LENER_BR_DIR/<file name>`` instead of being downloaded (offline machines, CI).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

import srsly
import typer

ENV_VAR = "LENER_BR_DIR"


class AssetError(RuntimeError):
    pass


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(dest: Path, url: str, checksum: str, local_dir: Path | None) -> str:
    """Put the asset at ``dest``; return where it came from. Nothing is left at dest on failure."""
    if dest.exists() and md5(dest) == checksum:
        return "present"
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if local_dir is not None:
            source = local_dir / dest.name
            if not source.is_file():
                raise AssetError(f"{ENV_VAR}={local_dir} has no file {dest.name}")
            shutil.copyfile(source, tmp)
        else:
            source = url
            with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out)
        actual = md5(tmp)
        if actual != checksum:
            raise AssetError(f"checksum mismatch for {source}: md5 {actual}, expected {checksum}")
        os.replace(tmp, dest)
        return str(source)
    finally:
        tmp.unlink(missing_ok=True)


def main(project_file: Path = typer.Argument(Path("project.yml"), exists=True)) -> None:
    local = os.environ.get(ENV_VAR)
    local_dir = Path(local) if local else None
    if local_dir is not None and not local_dir.is_dir():
        typer.echo(f"error: {ENV_VAR}={local} is not a folder", err=True)
        raise typer.Exit(1)
    root = project_file.parent
    for asset in srsly.read_yaml(project_file).get("assets", []):
        dest = root / asset["dest"]
        try:
            origin = fetch(dest, asset["url"], asset["checksum"], local_dir)
        except (AssetError, OSError) as err:
            typer.echo(f"error: {asset['dest']}: {err}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"{asset['dest']}: {origin}")


if __name__ == "__main__":
    typer.run(main)
