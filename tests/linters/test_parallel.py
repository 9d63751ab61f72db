"""Chunked process-parallel map: order, chunking, the in-process path."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest

from mlgate.linters.parallel import MIN_PARALLEL, default_jobs, map_chunks, split


def _square_with_pid(items: Sequence[int]) -> list[tuple[int, int]]:
    return [(item * item, os.getpid()) for item in items]


def test_results_keep_item_order_across_processes() -> None:
    items = list(range(MIN_PARALLEL * 3))
    results = map_chunks(_square_with_pid, items, jobs=2)
    assert [value for value, _ in results] == [item * item for item in items]
    assert os.getpid() not in {pid for _, pid in results}


@pytest.mark.parametrize(("count", "jobs"), [(MIN_PARALLEL - 1, 2), (MIN_PARALLEL * 2, 1)])
def test_small_inputs_and_one_job_stay_in_process(count: int, jobs: int) -> None:
    results = map_chunks(_square_with_pid, list(range(count)), jobs)
    assert {pid for _, pid in results} == {os.getpid()}


def test_split_is_contiguous_and_balanced() -> None:
    assert split(list(range(10)), 4) == [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]
    assert split([1, 2], 5) == [[1], [2]]
    assert split([], 3) == []


def test_default_jobs() -> None:
    assert default_jobs() == len(os.sched_getaffinity(0))
