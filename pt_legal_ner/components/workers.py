"""The encoder's windows shared out among single-threaded workers.

A matrix kernel given several threads may split its sums among them (oneDNN's bf16 products did
for some shapes: 3, 4, 6, 8 or 12 threads gave other bits than 1), so a result could depend on how
many threads the process has: a different answer under `annotate --ray` than on one machine. Here
each worker computes its windows with one thread, and the process's threads become workers: as
fast on 2 cores as one call with 2 threads (measured), and every window is computed by the same
single-threaded kernels whatever the thread count.
"""

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

_pool: ThreadPoolExecutor | None = None
_size = 0


def pool(size: int) -> ThreadPoolExecutor:
    global _pool, _size
    if _pool is None or _size < size:
        _pool, _size = ThreadPoolExecutor(size, thread_name_prefix="pt_legal_ner-encoder"), size
    return _pool


def _forget_pool() -> None:
    """A forked child has none of its parent's threads: it starts its own pool."""
    global _pool, _size
    _pool, _size = None, 0


os.register_at_fork(after_in_child=_forget_pool)


def share(lengths: np.ndarray, workers: int) -> list[np.ndarray]:
    """Row indices in at most ``workers`` groups of about equal pieces (longest rows first, each to
    the lightest group)."""
    groups: list[list[int]] = [[] for _ in range(max(1, min(workers, len(lengths))))]
    load = [0] * len(groups)
    for row in np.argsort(-lengths, kind="stable"):
        lightest = load.index(min(load))
        groups[lightest].append(int(row))
        load[lightest] += int(lengths[row])
    return [np.array(sorted(group)) for group in groups if group]


def padded(states: Iterable[tuple[int, np.ndarray]], shape: tuple[int, int]) -> np.ndarray:
    """The (batch, pieces, width) array of each ``(row, states)``'s hidden states, zero past its length."""
    hidden = None
    for row, state in states:
        if hidden is None:
            hidden = np.zeros((*shape, state.shape[-1]), dtype=np.float32)
        hidden[row, : len(state)] = state
    return hidden


def run(encode: Callable[[np.ndarray], list[np.ndarray]], lengths: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``encode(rows)`` (each row's hidden states, its own pieces only) for groups of rows, one
    single-threaded worker each, as many workers as torch has threads; the hidden states of all
    rows (batch, pieces, width), zero past each row's length."""
    threads = torch.get_num_threads()
    groups = share(lengths, threads)

    def work(rows: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        torch.set_num_threads(1)
        return rows, encode(rows)

    try:
        if len(groups) == 1:
            results = [work(groups[0])]
        else:
            results = list(pool(threads).map(work, groups))
    finally:
        torch.set_num_threads(threads)
    return padded(((row, state) for rows, states in results for row, state in zip(rows, states, strict=True)), shape)


def run_each(encode_one: Callable[[int, int], np.ndarray], lengths: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``encode_one(row, length)`` (shape (1, length, width)) for each row alone, a call of its own,
    in workers as ``run``."""
    return run(lambda rows: [encode_one(int(row), int(lengths[row]))[0] for row in rows], lengths, shape)
