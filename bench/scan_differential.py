"""A longer differential run of the scanner against the real loaders (not part of CI).

Run: `python bench/scan_differential.py [--batches 100] [--batch 200] [--seed 0]`. Draws the
same generated and mutated files as tests/pipelines/test_scan_differential.py (pickles in every
import spelling, joblib and npy files, patched, cut and spliced), scans them, loads them with
pickle, joblib and numpy in a recording subprocess, and prints every disagreement: a global a
loader resolved that the scanner did not report, or a refused global in a file that passed.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pipelines"))

from differential import disagreements, mutated


def run(batches: int, batch: int, seed: int) -> list[str]:
    """Every disagreement over `batches` batches of `batch` files."""
    found: list[str] = []

    @settings(
        max_examples=batches,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(files=st.lists(mutated(), min_size=batch, max_size=batch))
    def check(files: list[bytes]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            found.extend(disagreements(Path(folder), files))

    random.seed(seed)
    check()
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Print the disagreements and the case count; exit 1 when there is any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    found = run(args.batches, args.batch, args.seed)
    for line in found:
        print(line)
    files = args.batches * args.batch
    print(
        f"{files} files, {3 * files} loads, {len(found)} disagreements, "
        f"{time.perf_counter() - start:.0f} s"
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
