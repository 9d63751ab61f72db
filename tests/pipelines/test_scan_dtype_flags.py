"""joblib arrays: object-ness comes from the dtype's flags as numpy's `__setstate__` sets them.

`numpy.dtype('u1')` with BUILD state flags 1 has `hasobject`: joblib then unpickles the array
bytes that the type code says are raw data.
"""

from __future__ import annotations

import struct
from pathlib import Path

import joblib
import numpy as np
import pytest
from test_scan_bypasses import found, real_load, refused_system, scan, write

NESTED = b"\x80\x02cposix\nsystem\nq\x00X\n\x00\x00\x00echo ownedq\x01\x85q\x02Rq\x03."


def text(value: str) -> bytes:
    data = value.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def dtype(code: str, flags: int) -> bytes:
    head = b"cnumpy\ndtype\n(" + text(code) + b"\x89\x88tR(K\x03" + text("|")
    return head + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff" + b"J" + struct.pack("<i", flags) + b"tb"


def wrapper(count: int, code: str, flags: int) -> bytes:
    state = b"}(" + text("subclass") + b"cnumpy\nndarray\n" + text("shape") + b"K"
    state += bytes([count]) + b"\x85" + text("order") + text("C") + text("dtype")
    state += dtype(code, flags) + text("allow_mmap") + b"\x89"
    return b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81" + state + b"ub"


def test_a_plain_code_with_the_object_flag(tmp_path: Path) -> None:
    head = b"\x80\x02" + wrapper(len(NESTED), "u1", 1)
    path = write(tmp_path, "model.joblib", head + NESTED + b".")
    build = len(head) - 1
    message = (
        f"malformed pickle: joblib array at {build}: dtype 'u1' has flags numpy never writes for it"
    )
    plain = refused_system("model.joblib", len(head) + 2)  # what pickle.load reads there
    assert found(scan(path)) == [("model.joblib", build, None, message), plain]
    assert real_load("joblib", [path])[0]["refused"] == ["posix.system"]


@pytest.mark.parametrize(("code", "flags"), [("u1", 2), ("O8", 1), ("f8", -127), ("u1", 256)])
def test_flags_numpy_never_writes(tmp_path: Path, code: str, flags: int) -> None:
    head = b"\x80\x02" + wrapper(4, code, flags)
    path = write(tmp_path, "odd.joblib", head + b"\x00" * 4 + b".")
    message = f"joblib array at {len(head) - 1}: dtype {code!r} has flags numpy never writes for it"
    assert found(scan(path)) == [
        ("odd.joblib", len(head) - 1, None, f"malformed pickle: {message}")
    ]


@pytest.mark.parametrize(
    "dtype_spec",
    ["u1", "U3", "M8[s]", "O", [("a", "i4"), ("b", "f8")], [("a", "O"), ("b", "f8")], ("O", (2,))],
)
def test_dtypes_numpy_writes_pass(tmp_path: Path, dtype_spec: object) -> None:
    path = tmp_path / "ok.joblib"
    joblib.dump(np.zeros(3, dtype=dtype_spec), path)  # type: ignore[call-overload]
    assert scan(path).findings == ()
