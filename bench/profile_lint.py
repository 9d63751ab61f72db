"""Profile `mlgate lint` in one process over the benchmark corpus, with cProfile.

    bench/.venv-mlgate/bin/python bench/profile_lint.py [--top N] [--corpus DIR] [LINT_ARG ...]

Run ``python bench/lint_speed.py --corpus-only`` first to unpack the corpus and build the venv.
Prints where the time goes: by source file (own time summed per module, so each rule module and
the engine get one line), then the top functions by own time and by cumulative time. The report
of the lint run itself goes to /dev/null. Extra arguments go to ``mlgate lint`` (default
``--exit-zero .``).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import sys
from collections.abc import Sequence
from pathlib import Path

from mlgate.cli import main as mlgate_main

CORPUS = "scikit-learn-1.9.1"


def by_file(stats: pstats.Stats, top: int) -> list[str]:
    """Own time summed per source file, largest first, as printable lines."""
    totals: dict[str, float] = {}
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, _name), (_calls, _prim, own, _cum, _callers) in raw.items():
        totals[filename] = totals.get(filename, 0.0) + own
    total = sum(totals.values())
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)[:top]
    return [f"{own:8.2f} s {100 * own / total:5.1f}%  {name}" for name, own in ranked]


def profile(corpus: Path, lint_args: Sequence[str]) -> pstats.Stats:
    """Run `mlgate lint` under cProfile inside ``corpus``; its report goes to /dev/null."""
    profiler = cProfile.Profile()
    previous = Path.cwd()
    os.chdir(corpus)
    try:
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            code = profiler.runcall(mlgate_main, ["lint", *lint_args])
    finally:
        os.chdir(previous)
    print(f"mlgate lint {' '.join(lint_args)} exited {code}")
    return pstats.Stats(profiler, stream=sys.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    """Profile one run and print the time by file and the top functions."""
    parser = argparse.ArgumentParser(description="Profile mlgate lint over the corpus.")
    parser.add_argument("--top", type=int, default=25, help="lines per section")
    default = Path(__file__).resolve().parent / ".corpus" / "trees" / CORPUS
    parser.add_argument("--corpus", type=Path, default=default, help="folder to lint")
    args, lint_args = parser.parse_known_args(argv)
    stats = profile(args.corpus, lint_args or ["--exit-zero", "."])
    print("\nown time by file:\n" + "\n".join(by_file(stats, args.top)))
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
