"""Time mlgate's team-scale features on the pinned benchmark corpus.

    python bench/scale_speed.py [--repeat N] [--corpus DIR]

Uses the corpus of ``bench/lint_speed.py`` (scikit-learn's sources, a git repository of its
own; built on first use) unless ``--corpus`` names another git work tree. Everything runs on a
scratch copy, so the corpus stays untouched: cold runs (no cache, and cache being written),
warm runs (every result cached), ``--jobs 1`` against ``--jobs 2``, ``--changed-since HEAD``
after a one-file change (beside the time of the git commands it runs), and ``--fix`` on a tree
with nothing left to fix against a plain lint. Each row is the median wall time of ``--repeat``
whole-process runs of the ``mlgate`` next to this Python.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
MLGATE = str(Path(sys.executable).with_name("mlgate"))
LINT = (MLGATE, "lint", "--exit-zero", "--format", "json", "--output", "/dev/null")
ADDED = "\n\ndef added_by_the_benchmark(x):\n    global STATE\n    STATE = x\n"


Sample = tuple[float, float]


def timed(argv: Sequence[str], cwd: Path, before: Callable[[], None] = lambda: None) -> Sample:
    """(wall, CPU) seconds of one run of `argv` in `cwd`, after `before()` (not timed).

    CPU is user + system time of the process and its children: on a shared machine it moves
    far less than wall time.
    """
    before()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime


def median(repeat: int, argv: Sequence[str], cwd: Path, before: Callable[[], None]) -> Sample:
    """The medians of `repeat` timed runs."""
    samples = [timed(argv, cwd, before) for _ in range(repeat)]
    return statistics.median(w for w, _ in samples), statistics.median(c for _, c in samples)


def corpus(option: Path | None) -> Path:
    """The corpus work tree: `--corpus`, or the one `bench/lint_speed.py` builds."""
    if option is not None:
        return option
    sys.path.insert(0, str(BENCH))
    import lint_speed  # noqa: PLC0415 - the sibling script, found through sys.path

    return Path(lint_speed.unpack(lint_speed.archives()[:1], BENCH / ".corpus"))


def keep() -> None:
    """Nothing to prepare before a run."""


def rows(tree: Path, repeat: int) -> Iterator[tuple[str, Sample]]:
    """Every measurement on the scratch copy `tree`, as (what, seconds)."""
    cache = tree / ".mlgate_cache"

    def drop_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    cases = (
        ("lint --no-cache --jobs 1", ("--no-cache", "--jobs", "1"), keep),
        ("lint --no-cache --jobs 2", ("--no-cache", "--jobs", "2"), keep),
        ("cold: lint --jobs 1, writing the cache", ("--jobs", "1"), drop_cache),
        ("cold: lint --jobs 2, writing the cache", ("--jobs", "2"), drop_cache),
    )
    for what, extra, before in cases:
        yield what, median(repeat, (*LINT, *extra), tree, before)
    timed((*LINT,), tree)
    yield "warm: lint (every result cached)", median(repeat, LINT, tree, keep)
    yield from changed_rows(tree, repeat)
    yield from fix_rows(tree, repeat)


def changed_rows(tree: Path, repeat: int) -> list[tuple[str, Sample]]:
    """`--changed-since HEAD` after appending a function to one file, and git's own time."""
    changed = max(tree.rglob("*.py"), key=lambda path: path.stat().st_size)
    changed.write_text(changed.read_text(encoding="utf-8") + ADDED, encoding="utf-8")
    git = (("git", "merge-base", "HEAD", "HEAD"), ("git", "diff", "-U0", "-M", "HEAD", "--"))
    commands = (*git, ("git", "ls-files", "-o", "--exclude-standard"))
    runs = [[timed(argv, tree) for argv in commands] for _ in range(repeat)]
    git_time = (
        statistics.median(sum(w for w, _ in run) for run in runs),
        statistics.median(sum(c for _, c in run) for run in runs),
    )
    cold = (*LINT, "--no-cache", "--changed-since", "HEAD")
    return [
        ("--changed-since HEAD, one file changed, no cache", median(repeat, cold, tree, keep)),
        ("  of which the git commands it runs", git_time),
    ]


def fix_rows(tree: Path, repeat: int) -> list[tuple[str, Sample]]:
    """`--fix` once (not timed), then `--fix` with nothing left to fix against a plain lint."""
    subprocess.run(("git", "checkout", "-q", "--", "."), cwd=tree, check=True)
    subprocess.run((*LINT, "--fix", "--no-cache"), cwd=tree, check=True, stderr=subprocess.DEVNULL)
    fix = (*LINT, "--fix", "--no-cache", "--jobs", "1")
    plain = (*LINT, "--no-cache", "--jobs", "1")
    return [
        ("--fix on a tree with nothing left to fix", median(repeat, fix, tree, keep)),
        ("  the same lint without --fix", median(repeat, plain, tree, keep)),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Copy the corpus, time every row, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (median)")
    parser.add_argument("--corpus", type=Path, help="a git work tree to use instead")
    args = parser.parse_args(argv)
    source = corpus(args.corpus)
    files = sum(1 for _ in source.rglob("*.py"))
    lines = sum(len(p.read_bytes().splitlines()) for p in source.rglob("*.py"))
    print(f"corpus: {source.name}, {files} files, {lines} lines; median of {args.repeat} runs")
    print("| run | wall s | CPU s |\n| --- | ---: | ---: |", flush=True)
    with tempfile.TemporaryDirectory(prefix="mlgate-scale-") as scratch:
        tree = Path(scratch) / "corpus"
        shutil.copytree(source, tree, symlinks=True)
        for what, (wall, cpu) in rows(tree, args.repeat):
            print(f"| {what} | {wall:.2f} | {cpu:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
