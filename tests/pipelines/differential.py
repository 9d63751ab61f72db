"""Differential testing of the scanner against the real loaders (shared by a test and a bench).

Hypothesis draws pickles from a small grammar (constants, containers, imports in every
spelling: GLOBAL, STACK_GLOBAL, through the memo, and calls of allowed and refused names), real
joblib and numpy files, and mutations of all of them (patched bytes, cut files, a gadget spliced
in anywhere). Each file is scanned, then loaded by the real loaders in one subprocess each
(`loader_probe.py`: `find_class` records every global and refuses what the policy refuses).

Two properties must hold for every file and loader:
1. every global the real loader resolved is one the scanner reported;
2. a file the scanner passes loads without a refused global.
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from hypothesis import strategies as st

from mlgate.pipelines.config import ScanConfig
from mlgate.pipelines.scan import FileReport, build_policy, scan_file

PROBE = Path(__file__).with_name("loader_probe.py")
LOADERS = ("pickle", "joblib", "numpy")
GLOBALS = [
    ("collections", "OrderedDict"),
    ("builtins", "set"),
    ("builtins", "str"),
    ("_codecs", "encode"),
    ("numpy", "dtype"),
    ("posix", "system"),
    ("builtins", "eval"),
    ("importlib", "import_module"),
    ("nosuchmodule", "Name"),
    ("__builtin__", "set"),
    ("copy_reg", "_reconstructor"),
]
GADGET = b"cposix\nsystem\n(S'echo owned'\ntR0"


def _text(value: str) -> bytes:
    data = value.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _global(spelling: int, module: str, name: str) -> bytes:
    if spelling == 0:
        return f"c{module}\n{name}\n".encode()
    if spelling == 1:
        return _text(module) + _text(name) + b"\x93"
    return _text(module) + b"p90\n" + b"0" + _text(name) + b"g90\n" + b"\x93"


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> bytes:
    """The opcodes of one value (pushes exactly one item)."""
    kinds = ["int", "str"] + (["list", "dict", "tuple", "call", "global"] if depth < 3 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "int":
        number = draw(st.integers(-(2**31), 2**31 - 1))
        return b"J" + struct.pack("<i", number)
    if kind == "str":
        return _text(draw(st.text(max_size=8)))
    items = draw(st.lists(trees(depth + 1), max_size=3))
    if kind == "list":
        return b"](" + b"".join(items) + b"e"
    if kind == "dict":
        pairs = b"".join(_text(str(index)) + item for index, item in enumerate(items))
        return b"}(" + pairs + b"u"
    if kind == "tuple":
        return b"(" + b"".join(items) + b"t"
    module, name = draw(st.sampled_from(GLOBALS))
    spelled = _global(draw(st.integers(0, 2)), module, name)
    return spelled + (b"(" + b"".join(items) + b"tR" if kind == "call" else b"")


@st.composite
def crafted(draw: st.DrawFn) -> bytes:
    header = draw(st.sampled_from([b"", b"\x80\x02", b"\x80\x04", b"\x80\x05"]))
    return header + draw(trees()) + b"."


def _joblib_bytes(values: list[int], compress: int) -> bytes:
    buffer = io.BytesIO()
    value = {"a": np.array(values, dtype=np.int64), "o": np.array([values, "x"], dtype=object)}
    joblib.dump(value, buffer, compress=compress)
    return buffer.getvalue()


def _npz_bytes(values: list[int]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, a=np.array(values, dtype=np.int64), o=np.array([values, "x"], dtype=object))
    return buffer.getvalue()


def _npy_bytes(values: list[int]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([values, {"k": 1}], dtype=object), allow_pickle=True)
    return buffer.getvalue()


@st.composite
def real_files(draw: st.DrawFn) -> bytes:
    values = draw(st.lists(st.integers(0, 255), max_size=6))
    kind = draw(st.sampled_from(["joblib", "joblib-z", "npy", "npz", "pickle"]))
    if kind == "npy":
        return _npy_bytes(values)
    if kind == "npz":
        return _npz_bytes(values)
    if kind == "pickle":
        return pickle.dumps({"v": values, "t": (1.5, None)}, protocol=draw(st.integers(0, 5)))
    return _joblib_bytes(values, 3 if kind == "joblib-z" else 0)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = draw(st.one_of(crafted(), real_files()))
    action = draw(st.sampled_from(["none", "patch", "cut", "splice", "splice"]))
    where = draw(st.integers(0, max(len(data) - 1, 0)))
    if action == "patch":
        patch = draw(st.binary(min_size=1, max_size=4))
        return data[:where] + patch + data[where + len(patch) :]
    if action == "cut":
        return data[:where]
    if action == "splice":
        return data[:where] + GADGET + data[where:]
    return data


def real_loads(kind: str, paths: Sequence[Path], packs: str = "numpy") -> list[dict[str, Any]]:
    """The probe's results for `paths` with the `kind` loader (one subprocess)."""
    command = [sys.executable, str(PROBE), kind, packs, *map(str, paths)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def disagreements(folder: Path, files: Sequence[bytes]) -> list[str]:
    """Every violation of the two properties over `files` (empty when the scanner agrees)."""
    paths = []
    for index, data in enumerate(files):
        paths.append(folder / f"case{index}")
        paths[-1].write_bytes(data)
    policy = build_policy(ScanConfig(packs=("numpy",)))
    reports = [scan_file(path, policy) for path in paths]
    problems: list[str] = []
    for kind in LOADERS:
        for report, result in zip(reports, real_loads(kind, paths), strict=True):
            problems += _violations(kind, report, result)
    return problems


def _violations(kind: str, report: FileReport, result: dict[str, Any]) -> list[str]:
    found = []
    for seen in result["globals"]:
        raw, mapped = seen
        empty = raw.startswith(".") or raw.endswith(".")  # GLOBAL at the end: import "" fails
        if not empty and raw not in report.globals and mapped not in report.globals:
            found.append(f"{report.path}: {kind} resolved {raw}, the scanner did not report it")
    if not report.findings and result["refused"]:
        found.append(f"{report.path}: passed, but {kind} resolved {result['refused']}")
    return found
