"""Peak memory of a process and everything it starts (the PDF/DOCX reader, Ray's raylets and
workers), sampled from /proc: getrusage only knows the largest single process, not their sum."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                # the parent pid is the 4th field after the command name, which may hold spaces
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss(root: int) -> tuple[int, int]:
    """(sum, largest) resident bytes of ``root`` and all its descendants now."""
    tree, stack, sizes = _children(), [root], []
    while stack:
        pid = stack.pop()
        sizes.append(_rss(pid))
        stack.extend(tree.get(pid, ()))
    return sum(sizes), max(sizes, default=0)


class TreePeak:
    """Samples a process tree every ``interval`` s in a thread; ``total`` and ``largest`` are the peaks."""

    def __init__(self, root: int, interval: float = 0.05) -> None:
        self.root, self.interval = root, interval
        self.total = self.largest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total, largest = tree_rss(self.root)
            self.total, self.largest = max(self.total, total), max(self.largest, largest)
            time.sleep(self.interval)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_measured(cmd: list[str], timeout: float, **kwargs) -> tuple[subprocess.CompletedProcess, float, TreePeak]:
    """Run ``cmd``; its result, wall seconds and memory peaks (the whole tree, sampled)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    with TreePeak(proc.pid) as peak:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    seconds = time.perf_counter() - start
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), seconds, peak
