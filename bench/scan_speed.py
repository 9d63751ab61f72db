"""Model scanner throughput: MB/s and opcodes/s on three kinds of model file.

Run: `python bench/scan_speed.py [--repeat 3]`. Each file is written once, then scanned
`--repeat` times by `scan_file`; the median wall time gives MB/s (file bytes) and opcodes/s
(opcodes `pickletools` counts in the file's pickle). Not run in CI: timings belong here.

- `opcodes`: a plain pickle of 200,000 small records (opcode-bound);
- `forest`: a scikit-learn random forest saved with `joblib.dump` (arrays between opcodes);
- `forest-gz`: the same forest with `compress=3` (decompression-bound).
"""

from __future__ import annotations

import argparse
import io
import pickle
import pickletools
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier

from mlgate.pipelines.config import ScanConfig
from mlgate.pipelines.scan import build_policy, scan_file


def _opcodes(data: bytes) -> int:
    return sum(1 for _ in pickletools.genops(io.BytesIO(data)))


def corpus(folder: Path) -> list[tuple[str, Path, int]]:
    """(name, path, opcode count of its first pickle) for the three files."""
    records = [{"id": i, "name": f"r{i}", "score": i / 7, "tags": [i, -i]} for i in range(200_000)]
    plain = folder / "opcodes.pkl"
    plain.write_bytes(pickle.dumps(records, protocol=4))
    features = np.random.default_rng(0).normal(size=(2000, 20))
    labels = (features[:, 0] > 0).astype(int)
    forest = RandomForestClassifier(n_estimators=200, random_state=0).fit(features, labels)
    joblib.dump(forest, folder / "forest.joblib")
    joblib.dump(forest, folder / "forest.joblib.gz", compress=3)
    forest_opcodes = _opcodes(pickle.dumps(forest, protocol=4))
    return [
        ("opcodes", plain, _opcodes(plain.read_bytes())),
        ("forest", folder / "forest.joblib", forest_opcodes),
        ("forest-gz", folder / "forest.joblib.gz", forest_opcodes),
    ]


def measure(path: Path, repeat: int) -> float:
    """Median wall time of `repeat` scans of `path` with the numpy and sklearn packs."""
    policy = build_policy(ScanConfig(packs=("numpy", "sklearn")))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        report = scan_file(path, policy)
        times.append(time.perf_counter() - start)
    if report.findings:
        print(f"warning: {path.name}: {report.findings[0].describe()}", file=sys.stderr)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    """Print one row per file: size, opcodes, seconds, MB/s, opcodes/s."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        print("| file | MB | opcodes | seconds | MB/s | opcodes/s |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, path, opcodes in corpus(Path(temp)):
            size = path.stat().st_size / 1e6
            seconds = measure(path, args.repeat)
            rate = f"{size / seconds:.1f} | {opcodes / seconds:,.0f}"
            print(f"| {name} | {size:.1f} | {opcodes:,} | {seconds:.3f} | {rate} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
