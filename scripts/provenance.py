"""What every metrics file states beside its figures: the hardware and the commit."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def hardware(gpu_id: int) -> str:
    if gpu_id >= 0:
        import torch

        return f"GPU {torch.cuda.get_device_name(gpu_id)}"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU {cpu}, {os.cpu_count()} cores"


# the variables that make torch, oneDNN and MKL run the kernels of an older CPU
ISA_CAPS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")


def isa_caps() -> str:
    """The instruction-set caps this process runs under (set to measure an AVX2-only CPU's kernels on
    a newer one: its code paths, not its caches or clocks); "" when none."""
    return ", ".join(f"{name}={os.environ[name]}" for name in ISA_CAPS if name in os.environ)


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        # "+dirty": code differs from the commit; results (metrics/) and prose (*.md) do not count
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!metrics", ":!*.md"],
            capture_output=True,
            text=True,
        )
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def run_facts(module: str, started: float | None = None, gpu_id: int = -1) -> dict:
    """command, commit, hardware (and wall_time_s since the ``time.time()`` ``started``) of this run."""
    facts = {
        "command": " ".join(["python", "-m", module, *sys.argv[1:]]),
        "commit": git_commit(),
        "hardware": hardware(gpu_id),
    }
    if started is not None:
        facts["wall_time_s"] = round(time.time() - started, 1)
    return facts
