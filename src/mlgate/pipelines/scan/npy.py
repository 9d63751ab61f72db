"""numpy's `.npy` header, read as `numpy.lib.format` reads it.

numpy unpickles the array data whenever the dtype `hasobject`, and `numpy.dtype` accepts many
spellings of one (`O`, `|O`, `O8`, `object`, `object_`, `T`, `O,i4`, `(2,)O`...). Rather than
list those, the scanner lists what numpy *writes* for plain data (`dtype.str` of a bool, int,
uint, float, complex, bytes, str, void or datetime type, or a list of such fields) and reads the
data of any other header as a pickle: an unknown spelling is scanned, never trusted.
"""

from __future__ import annotations

import ast
import re
import struct

from mlgate.pipelines.scan.source import Source

MAGIC = b"\x93NUMPY"
#: numpy's header encodings by format version.
_VERSIONS = {(1, 0): ("<H", "latin1"), (2, 0): ("<I", "latin1"), (3, 0): ("<I", "utf8")}
_PLAIN = re.compile(
    r"[<>|=]?(b1|\?|[iu][1248]|f(2|4|8|10|12|16)|c(8|16|20|24|32)|[SUV]\d+"
    r"|[mM]8(\[\d*[a-zA-Z]+\])?)\Z"
)
_MAX_HEADER = 1 << 20


class NpyHeaderError(ValueError):
    """The header is not one numpy would read."""


def read_header(source: Source) -> object:
    """The `descr` of a header; leaves `source` at the first byte of the data."""
    magic = source.read(8)
    if len(magic) != 8 or magic[:6] != MAGIC or (magic[6], magic[7]) not in _VERSIONS:
        raise NpyHeaderError("not a numpy header of version 1.0, 2.0 or 3.0")
    size_format, encoding = _VERSIONS[magic[6], magic[7]]
    raw_length = source.read(struct.calcsize(size_format))
    if len(raw_length) != struct.calcsize(size_format):
        raise NpyHeaderError("the header length is cut short")
    (length,) = struct.unpack(size_format, raw_length)
    if length > _MAX_HEADER:
        raise NpyHeaderError("header longer than 1 MiB")
    text = source.read(length)
    try:
        header = ast.literal_eval(text.decode(encoding))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError) as err:
        raise NpyHeaderError(f"the header is not a Python literal: {err}") from err
    if not isinstance(header, dict) or "descr" not in header:
        raise NpyHeaderError("the header is not a dict with a descr")
    return header["descr"]


def is_plain(descr: object) -> bool:
    """Whether `descr` is a dtype numpy writes for data that holds no Python object."""
    pending = [descr]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not _PLAIN.match(item):
                return False
        elif isinstance(item, list) and item:
            pending += [_field_descr(field) for field in item]
        else:
            return False
    return True


def _field_descr(field: object) -> object:
    """The dtype part of a structured field `(name, descr[, shape])` (None when malformed)."""
    if not isinstance(field, tuple) or len(field) not in (2, 3):
        return None
    name, descr = field[0], field[1]
    if not isinstance(name, str | tuple) or isinstance(descr, tuple):
        return None
    return descr
