"""Text arguments (INT, LONG, FLOAT, STRING, UNICODE, GET, PUT) read as the unpicklers read them.

A reader stricter than the loader made `I0x1` unreadable to the scanner, and the rest of the
stream (which the loader runs) was taken for data. Each file here is checked against the real
loaders (a probe in a subprocess that records and refuses every global), and a property test
compares the scanner with both CPython unpicklers on random arguments.
"""

from __future__ import annotations

import contextlib
import io
import pickle
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_scan_bypasses import found, real_load, refused_system, scan, write

from mlgate.pipelines.scan.formats import Limits, read_stream

INST = b"(S'echo owned'\niposix\nsystem\n."
STACK = b"Vposix\nVsystem\n\x93(S'echo owned'\ntR."


BOTH, C_ONLY, PY_ONLY = ("pickle", "joblib", "pandas", "numpy"), ("pickle", "numpy"), ("joblib",)


@pytest.mark.parametrize(
    ("head", "tail", "loaders"),
    [
        (b"I0x1\n0", INST, BOTH),  # INT in base 0 (both unpicklers)
        (b"L0x1\n0", STACK, BOTH),  # LONG in base 0, then STACK_GLOBAL without PROTO
        (b"I010\n0", INST, C_ONLY),  # octal: strtol in C only
        (b"I1\x00junk\n0", INST, C_ONLY),  # C reads numbers up to a NUL byte
        (b"F1.5\x00zz\n0", INST, C_ONLY),
        (b"F 1_0\n0", INST, PY_ONLY),  # Python's float() only
        (b"L1_0L\n0", STACK, BOTH),
    ],
)
def test_text_arguments_the_loaders_accept(
    tmp_path: Path, head: bytes, tail: bytes, loaders: tuple[str, ...]
) -> None:
    path = write(tmp_path, "model.dat", head + tail)
    offset = len(head) + 15  # INST or STACK_GLOBAL, after the argument lines
    assert found(scan(path)) == [refused_system("model.dat", offset)]
    for kind in loaders:
        assert real_load(kind, [path])[0]["refused"] == ["posix.system"], kind


def test_a_memo_key_with_a_nul_byte(tmp_path: Path) -> None:
    """`g0\\x00x` is GET 0 to the C unpickler."""
    data = b"Vposix\np0\x00x\n0Vsystem\np1\n0g0\x00x\ng1\n\x93(S'echo owned'\ntR."
    path = write(tmp_path, "memo.dat", data)
    assert found(scan(path)) == [refused_system("memo.dat", 33)]
    assert real_load("pickle", [path])[0]["refused"] == ["posix.system"]


def test_non_ascii_strings_make_an_uncheckable_import(tmp_path: Path) -> None:
    """Each loader decodes STRING with its own encoding: the name it imports is not known."""
    path = write(tmp_path, "enc.dat", b"S'\xc3\xa9'\nS'x'\n\x93.")
    message = "STACK_GLOBAL imports a name that is not a constant string: not checkable"
    assert found(scan(path)) == [("enc.dat", 11, None, message)]


class _Refused(Exception):
    pass


#: How the unpicklers give up on a bad argument (before reaching the import).
LOAD_ERRORS = (pickle.UnpicklingError, ValueError, EOFError, KeyError, IndexError, OverflowError)


def _resolved(data: bytes) -> list[tuple[str, str]]:
    """The globals either CPython unpickler resolves reading `data` (each is refused)."""
    seen: list[tuple[str, str]] = []

    def find_class(self: Any, module: str, name: str) -> Any:
        seen.append((module, name))
        raise _Refused

    for base in (pickle.Unpickler, pickle._Unpickler):
        probe = type("Probe", (base,), {"find_class": find_class})
        with contextlib.suppress(_Refused, *LOAD_ERRORS):  # refused, or the loader gave up
            probe(io.BytesIO(data)).load()
    return seen


ARGS = st.binary(max_size=12) | st.text(
    "0123456789abcdefxXlL_+-. \t'\"\\\x00eEinfa", max_size=12
).map(str.encode)
OPS = st.sampled_from([b"I", b"L", b"F", b"S", b"V", b"g", b"p"])


@settings(max_examples=600, deadline=None, derandomize=True)
@given(op=OPS, arg=ARGS)
def test_scanner_reports_what_a_text_argument_lets_run(op: bytes, arg: bytes) -> None:
    line = op + arg.replace(b"\n", b"") + b"\n"
    memo = b"Np0\n0" if op == b"g" else b"N" if op == b"p" else b""
    data = memo + line + b"0cposix\nsystem\n."
    if not _resolved(data):
        return
    kind, sections = read_stream(io.BytesIO(data), len(data), "x", Limits(1 << 20, 10_000))
    names = [(i.module, i.name) for section in sections for i in section.imports]
    assert names == [("posix", "system")], (data, kind, sections)


NAME_ARGS = ARGS | st.sampled_from([b"'os'", b"'o\\x73'", b'"os"', b"o\\u0073", b"'\\157s'"])
UNCHECKABLE = "STACK_GLOBAL imports a name that is not a constant string: not checkable"


@settings(max_examples=300, deadline=None, derandomize=True)
@given(op=st.sampled_from([b"S", b"V"]), arg=NAME_ARGS)
def test_scanner_reads_the_names_text_arguments_spell(op: bytes, arg: bytes) -> None:
    """A module name from STRING or UNICODE (quotes, escapes): what the loader imports."""
    data = op + arg.replace(b"\n", b"") + b"\nVsystem\n\x93."
    resolved = _resolved(data)
    if not resolved:
        return
    sections = read_stream(io.BytesIO(data), len(data), "x", Limits(1 << 20, 10_000))[1]
    names = {(i.module, i.name) for section in sections for i in section.imports}
    messages = [problem.message for section in sections for problem in section.problems]
    assert set(resolved) <= names or messages == [UNCHECKABLE], (data, sections)


@pytest.mark.parametrize("name", ["notes.txt", "model.dat"])
def test_a_line_longer_than_the_scanner_reads_is_a_finding(tmp_path: Path, name: str) -> None:
    """pickle.load reads a 2 MiB STRING line; the scanner stops at 1 MiB: never "data"."""
    data = b"S'" + b"a" * (2 << 20) + b"'\n0" + INST
    path = write(tmp_path, name, data)
    message = f"a line longer than {1 << 20} bytes at byte 1"
    assert found(scan(path)) == [(name, 0, None, message)]
    assert real_load("pickle", [path])[0]["refused"] == ["posix.system"]


class _Unseekable(io.RawIOBase):
    """Where joblib.dump writes without alignment padding (it cannot tell its position)."""

    def __init__(self) -> None:
        self.out = io.BytesIO()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self.out.write(data)


def test_joblib_array_bytes_pickle_load_reads_as_opcodes(tmp_path: Path) -> None:
    """joblib steps over the uint8 array; pickle.load reads `I0x1` and the INST in it."""
    evil = b"I0x1\n0(S'echo owned'\niposix\nsystem\n"
    stream = _Unseekable()
    joblib.dump({"weights": np.frombuffer(evil, dtype=np.uint8)}, stream)
    data = stream.out.getvalue()
    path = write(tmp_path, "model.joblib", data)
    offset = data.index(b"iposix")
    assert found(scan(path)) == [refused_system("model.joblib", offset)]
    assert real_load("pickle", [path])[0]["refused"] == ["posix.system"]
