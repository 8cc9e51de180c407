"""Outside tools a benchmark compares with, each pinned in a venv of its own (under .venvs/)."""

import subprocess
import venv
from pathlib import Path

import typer


def pinned_python(folder: Path, pin: str) -> Path:
    """The Python of the venv in ``folder``, made and given ``pin`` ("package==version") on first use."""
    python = folder / "bin" / "python"
    package, version = pin.split("==")
    probe = [str(python), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"]
    if python.exists() and subprocess.run(probe, capture_output=True, text=True).stdout.strip() == version:
        return python
    typer.echo(f"installing {pin} into {folder}", err=True)
    venv.create(folder, with_pip=True, clear=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", pin], check=True)
    return python
