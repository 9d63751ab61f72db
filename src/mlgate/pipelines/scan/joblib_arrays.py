"""The size of the raw array bytes joblib writes between the opcodes of its pickles.

`joblib.dump` replaces every numpy array by a `NumpyArrayWrapper` (subclass, shape, order,
dtype, allow_mmap, numpy_array_alignment_bytes) and writes the array data right after the
wrapper's BUILD opcode: for an object dtype, a nested pickle; otherwise one padding-length byte
and that many 0xff bytes (when the wrapper has an alignment), then `prod(shape) * itemsize`
raw bytes. joblib's loader reads exactly that much, so the scanner steps over exactly that much.

Those bytes are data to `joblib.load` but opcodes to `pickle.load`: a file holding wrappers is
checked as joblib reads it, and must be loaded with `joblib.load` (it cannot be loaded with
`pickle.load` anyway, unless it was crafted to be).
The dtype is read from its pickled form `numpy.dtype(kind, align, copy)` + BUILD state
`(version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])`.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from mlgate.pipelines.scan.values import Global, Obj

_FIXED = re.compile(r"[biufcmMO](\d+)\Z")
_FLEXIBLE = re.compile(r"[SUV]\d*\Z")
#: The flags numpy writes in a dtype's state for its type code (others: 0). numpy's
#: `__setstate__` takes the flags as they are, and `hasobject` is their lowest bit: a `u1`
#: with flags 1 makes joblib unpickle the array bytes.
_CODE_FLAGS = {"O": 63, "U": 8}
_HASOBJECT = 0x01


class ArrayLayout(NamedTuple):
    """How the array data follows the wrapper in the file."""

    nested_pickle: bool
    alignment: int | None = None
    nbytes: int = 0


def array_layout(state: object) -> ArrayLayout | str:
    """The layout for a wrapper's BUILD state, or why it cannot be known."""
    fields = _wrapper_fields(state)
    if isinstance(fields, str):
        return fields
    dtype, shape, alignment = fields
    item = _dtype(dtype, 0)
    if isinstance(item, str):
        return item
    itemsize, has_object = item
    if has_object:
        return ArrayLayout(nested_pickle=True)
    return ArrayLayout(False, alignment, math.prod(shape) * itemsize)


def _wrapper_fields(state: object) -> tuple[Obj, tuple[int, ...], int | None] | str:
    """(dtype, shape, alignment) of a wrapper state, or why they cannot be read.

    joblib pads whenever the attribute exists (`getattr(..., None) is not None`), even for 0.
    """
    if not isinstance(state, dict):
        return "the wrapper state is not a dict"
    dtype, shape = state.get("dtype"), state.get("shape")
    alignment = state.get("numpy_array_alignment_bytes")
    if not isinstance(dtype, Obj):
        return "the wrapper has no readable dtype"
    if not isinstance(shape, tuple) or not all(_size(item) for item in shape):
        return "the wrapper shape is not a tuple of integers"
    if alignment is not None and (not _size(alignment) or alignment > 255):
        return "the wrapper alignment is not a small integer"
    return dtype, shape, alignment


def _size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _dtype(dtype: object, depth: int) -> tuple[int, bool] | str:
    """(itemsize, has_object) of a pickled numpy dtype, or why it cannot be read."""
    if depth > 32 or not isinstance(dtype, Obj) or dtype.cls != Global("numpy", "dtype"):
        return "a dtype is not a plain numpy.dtype"
    args, state = dtype.args, dtype.state
    if not isinstance(args, tuple) or not args or not isinstance(args[0], str):
        return "a dtype has no type code"
    item = _item(args[0], state, depth)
    if isinstance(item, str) or _flags_as_written(args[0], state, item[1]):
        return item
    return f"dtype {args[0]!r} has flags numpy never writes for it"


def _item(code: str, state: object, depth: int) -> tuple[int, bool] | str:
    """(itemsize, has_object) from the type code, and the state for S, U and V."""
    fixed = _FIXED.match(code)
    if fixed:
        return int(fixed.group(1)), code[0] == "O"
    if not _FLEXIBLE.match(code) or not isinstance(state, tuple) or len(state) < 8:
        return f"dtype {code!r} is not understood"
    if not _size(state[5]):
        return f"dtype {code!r} has no valid item size"
    return _flexible(state, depth)


def _flags_as_written(code: str, state: object, has_object: bool) -> bool:
    """Whether the state's flags are what numpy writes for the code (a state that is not a
    tuple of 8 or more is refused by numpy itself)."""
    if not isinstance(state, tuple) or len(state) < 8:
        return True
    flags = state[7]
    if not isinstance(flags, int) or isinstance(flags, bool) or not -128 <= flags <= 255:
        return False
    flags += 128 if flags < 0 else 0  # numpy's reading of flags pickled as a signed char
    if code[0] == "V":
        return bool(flags & _HASOBJECT) == has_object
    return flags == _CODE_FLAGS.get(code[0], 0)


def _flexible(state: tuple[object, ...], depth: int) -> tuple[int, bool] | str:
    """Item size and object-ness of an S, U or V dtype (fields and subarrays checked)."""
    parts: list[object] = []
    if isinstance(state[2], tuple) and state[2]:
        parts.append(state[2][0])
    if isinstance(state[4], dict):
        parts += [field[0] for field in state[4].values() if isinstance(field, tuple) and field]
    has_object = False
    for part in parts:
        inner = _dtype(part, depth + 1)
        if isinstance(inner, str):
            return inner
        has_object = has_object or inner[1]
    return state[5], has_object  # type: ignore[return-value]
