"""Package build, verify and extract time for a 100 MB model file, and pickle scan throughput.

Run: `python bench/package_build.py [--size-mb 100] [--repeat 3]`. Prints the median wall time
of the repeats for each step, and the median CPU time of this process (steady on a busy
machine). Not run in CI: timings belong here, never in tests.
"""

from __future__ import annotations

import argparse
import pickle
import pickletools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import joblib
import numpy as np

from mlgate.pipelines.config import ScanConfig
from mlgate.pipelines.package import BuildOptions, build_package, extract_package, read_package
from mlgate.pipelines.scan import build_policy, scan_file

PYPROJECT = """\
[project]
name = "bench"
version = "1.0"

[tool.mlgate.package]
models = ["models/*"]
code = ["serve.py"]
entrypoint = "serve:load"

[tool.mlgate.scan]
packs = ["numpy"]
"""


class Timing(NamedTuple):
    """Median wall and CPU seconds of a step."""

    wall: float
    cpu: float

    def show(self, megabytes: float) -> str:
        """`wall s (MB/s), cpu s`."""
        return f"{self.wall:.2f} s ({megabytes / self.wall:.0f} MB/s), cpu {self.cpu:.2f} s"


def median_seconds(step: Callable[[int], object], repeat: int) -> Timing:
    """Median wall and CPU time of `step(i)` over `repeat` runs."""
    walls, cpus = [], []
    for index in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        step(index)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    return Timing(statistics.median(walls), statistics.median(cpus))


def make_project(root: Path, size_mb: int) -> None:
    """A project whose model is `size_mb` MB of float64 weights saved with joblib."""
    (root / "models").mkdir(parents=True)
    weights = np.random.default_rng(0).standard_normal(size_mb * 1024 * 1024 // 8)
    joblib.dump({"weights": weights}, root / "models" / "model.joblib")
    (root / "serve.py").write_text("def load():\n    return len\n")
    (root / "pyproject.toml").write_text(PYPROJECT)


def bench_package(root: Path, repeat: int) -> None:
    options = BuildOptions(environ={"SOURCE_DATE_EPOCH": "1700000000"})
    size = (root / "models" / "model.joblib").stat().st_size / 1e6
    build = median_seconds(lambda _: build_package(root, options), repeat)
    package = build_package(root, options)
    verify = median_seconds(lambda _: read_package(package.path), repeat)
    dest = root / "extracted"
    extract = median_seconds(lambda i: extract_package(package.path, dest / str(i)), repeat)
    print(f"model file: {size:.1f} MB joblib, package {package.path.stat().st_size / 1e6:.1f} MB")
    print(f"build:   {build.show(size)}")
    print(f"verify:  {verify.show(size)}")
    print(f"extract: {extract.show(size)}")


def bench_scan(root: Path, repeat: int) -> None:
    policy = build_policy(ScanConfig(packs=("numpy",)))
    joblib_file = root / "models" / "model.joblib"
    size = joblib_file.stat().st_size / 1e6
    timing = median_seconds(lambda _: scan_file(joblib_file, policy), repeat)
    print(f"scan joblib {size:.0f} MB of array data: {timing.wall * 1000:.1f} ms")
    dense = root / "dense.pkl"
    rows = [{"id": i, "score": i / 7, "label": f"c{i % 10}"} for i in range(200_000)]
    dense.write_bytes(pickle.dumps(rows, protocol=4))
    opcodes = sum(1 for _ in pickletools.genops(dense.read_bytes()))
    timing = median_seconds(lambda _: scan_file(dense, policy), repeat)
    megabytes = dense.stat().st_size / 1e6
    print(
        f"scan opcode-dense pickle: {megabytes:.1f} MB, {opcodes / 1e6:.2f} M opcodes in "
        f"{timing.wall:.2f} s, cpu {timing.cpu:.2f} s ({opcodes / timing.cpu / 1e6:.2f} M "
        f"opcodes per CPU second)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_project(root, args.size_mb)
        bench_package(root, args.repeat)
        bench_scan(root, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
