"""Time `mlgate lint` on one generated 5 MB module with 40,000 findings, against its parse time.

    python bench/big_module.py [--repeat N] [--classes N] [--methods N]

Generated code (a protobuf module, a table of constants, a vendored file) is where a linter meets
its largest files and most findings at once; a per-finding step that is not O(log n) shows up
here long before it shows on ordinary code. The module has `--classes` classes of `--methods`
methods, each method with six parameters besides `self` (one MLG102 finding each). The floor is
reading and `ast.parse` of the file in this process; mlgate is a whole process
(`--no-cache --jobs 1`, start-up included). Prints the medians, their ratio and mlgate's peak
memory.
"""

from __future__ import annotations

import argparse
import ast
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

MLGATE = str(Path(sys.executable).with_name("mlgate"))
METHOD = (
    "    def method_{j}(self, alpha, beta, gamma, delta, epsilon, zeta):\n"
    "        return alpha + beta + gamma + delta + epsilon + zeta + {j}\n"
)


def module(classes: int, methods: int) -> str:
    """The generated source: `classes` classes of `methods` methods each."""
    parts = ['"""Generated: do not edit."""\n']
    for i in range(classes):
        parts.append(f"\n\nclass Generated{i}:\n")
        parts.extend(METHOD.format(j=j) for j in range(methods))
    return "".join(parts)


def parse_time(path: Path) -> float:
    """Seconds to read and parse `path` in this process."""
    start = time.perf_counter()
    ast.parse(path.read_bytes(), str(path))
    return time.perf_counter() - start


def lint_time(path: Path, output: Path) -> float:
    """Wall seconds of one whole `mlgate lint` process on `path`."""
    argv = [MLGATE, "lint", "--no-cache", "--jobs", "1", "--exit-zero", "--format", "json"]
    start = time.perf_counter()
    subprocess.run([*argv, "--output", str(output), path.name], cwd=path.parent, check=True)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the module, time both, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--classes", type=int, default=2000)
    parser.add_argument("--methods", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path, output = Path(folder, "generated.py"), Path(folder, "out.json")
        path.write_text(module(args.classes, args.methods), encoding="utf-8")
        (path.parent / "pyproject.toml").write_text("[tool.mlgate]\n", encoding="utf-8")
        parse = statistics.median(parse_time(path) for _ in range(args.repeat))
        lint = statistics.median(lint_time(path, output) for _ in range(args.repeat))
        found = len(json.loads(output.read_text(encoding="utf-8")))
        size = path.stat().st_size
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"module: {size / 1e6:.1f} MB, {found} findings")
    print(f"read + ast.parse: {parse:.2f} s; mlgate lint: {lint:.2f} s ({lint / parse:.1f}x)")
    print(f"mlgate peak memory: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
