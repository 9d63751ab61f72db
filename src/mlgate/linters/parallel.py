"""Running a function over many items across processes, results in the items' order.

Items are cut into contiguous chunks (a few per process, so a slow chunk does not leave the
other processes idle) and each chunk is one task; the results come back chunk by chunk in
order, so the output never depends on scheduling. Small inputs run in this process: starting
workers costs more than checking a few dozen files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Below this many items everything runs in the calling process.
MIN_PARALLEL = 64
_CHUNKS_PER_JOB = 4


def default_jobs() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux: the machine's count is the best guess
        return os.cpu_count() or 1


def map_chunks(work: Callable[[Sequence[T]], list[R]], items: Sequence[T], jobs: int) -> list[R]:
    """`work` over `items` in chunks, across up to `jobs` processes; results in item order.

    `work` must be picklable (a module-level function or a `functools.partial` of one).
    """
    if jobs <= 1 or len(items) < MIN_PARALLEL:
        return work(items)
    chunks = split(items, jobs * _CHUNKS_PER_JOB)
    with ProcessPoolExecutor(max_workers=min(jobs, len(chunks))) as pool:
        return [result for chunk in pool.map(work, chunks) for result in chunk]


def split(items: Sequence[T], parts: int) -> list[Sequence[T]]:
    """`items` cut into at most `parts` contiguous, nearly equal, non-empty slices."""
    size, extra = divmod(len(items), parts)
    slices: list[Sequence[T]] = []
    start = 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        if end > start:
            slices.append(items[start:end])
        start = end
    return slices
