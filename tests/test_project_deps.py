"""project.yml is honest about what its steps run: every scripts module a step's commands run
or import (packages included) is in the step's deps, so changing it reruns the step."""

import ast
import re
import subprocess
from pathlib import Path

import srsly

from tests.conftest import ROOT


def module_file(module: str) -> Path:
    path = Path(*module.split("."))
    return path.with_suffix(".py") if (ROOT / path.with_suffix(".py")).exists() else path / "__init__.py"


def scripts_run_by(module: str, seen: set[str]) -> set[str]:
    """``module``, its packages and the scripts modules it imports, transitively."""
    if module in seen:
        return seen
    parts = module.split(".")
    seen.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    for node in ast.walk(ast.parse((ROOT / module_file(module)).read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "scripts":
            scripts_run_by(node.module, seen)
            for alias in node.names:  # from scripts.training import checkpoint
                name = f"{node.module}.{alias.name}"
                if (ROOT / module_file(name)).exists():
                    scripts_run_by(name, seen)
    return seen


def test_every_step_lists_the_scripts_it_runs_in_its_deps():
    missing = {}
    for command in srsly.read_yaml(ROOT / "project.yml")["commands"]:
        run: set[str] = set()
        for line in command.get("script", []):
            for module in re.findall(r"-m (scripts[\w.]*)", line):
                scripts_run_by(module, run)
        absent = sorted(str(module_file(m)) for m in run if str(module_file(m)) not in command.get("deps", []))
        if absent:
            missing[command["name"]] = absent
    assert not missing


def test_the_scripts_steps_depend_on_are_not_git_ignored():
    """A clean clone must have them: an ignore pattern such as `training/` once hid scripts/training/."""
    deps = {d for c in srsly.read_yaml(ROOT / "project.yml")["commands"] for d in c.get("deps", [])}
    scripts = sorted(d for d in deps if d.startswith("scripts/"))
    ignored = subprocess.run(["git", "check-ignore", *scripts], cwd=ROOT, capture_output=True, text=True).stdout
    assert ignored.split() == []
