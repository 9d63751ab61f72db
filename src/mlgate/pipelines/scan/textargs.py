"""The text arguments of protocol 0 opcodes, read as CPython's unpicklers read them.

`pickletools` reads them more strictly than the loaders do (`I0x1` is an int to `pickle.load`,
an error to `pickletools`): a stricter reader lets a stream the loader runs look unreadable.
The rules here follow `Modules/_pickle.c` and `Lib/pickle.py`; where the two differ, a line
either of them accepts is accepted. The C unpickler reads numbers as C strings: they end at the
first NUL byte (`I1\\x00junk` is 1), and `INT` goes through `strtol(s, &end, 0)` first
(`I010` is 8 to C, an error to Python). A line the loaders both refuse raises ValueError: the
loader stops there too, and nothing after it runs.
"""

from __future__ import annotations

import codecs
import re

from mlgate.pipelines.scan.source import Source
from mlgate.pipelines.scan.values import UNKNOWN

_C_SPACE = b" \t\n\v\f\r"
_STRTOL = re.compile(rb"[+-]?(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))")
_C_FLOAT = re.compile(
    rb"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)", re.I
)
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1


def _line(source: Source) -> bytes:
    """One whole line, newline included: a line cut by the end of the data is the end too."""
    line = source.readline()
    if not line.endswith(b"\n"):
        raise ValueError("not enough data: no newline at the end of an argument")
    return line


def _c_string(line: bytes) -> bytes:
    """The line as a C function sees it: up to the first NUL byte."""
    return line.split(b"\0", 1)[0]


def _int_or_none(text: bytes, base: int) -> int | None:
    """`int(text, base)` (what PyLong_FromString accepts), or None."""
    try:
        return int(text, base)
    except ValueError:
        return None


def _strtol(text: bytes) -> int | None:
    """`strtol(text, &end, 0)` when `end` stops at a newline or the end and nothing overflows."""
    stripped = text.lstrip(_C_SPACE)
    if not stripped:
        return 0 if text == b"" else None  # no digits: `end` is the start of the text
    match = _STRTOL.match(stripped)
    if match is None:
        return None
    rest = stripped[match.end() :]
    if rest not in (b"", b"\n"):
        return None
    digits = match.group(0)
    value = int(digits, 16 if match.group(1) else 8 if match.group(2) else 10)
    return value if _LONG_MIN <= value <= _LONG_MAX else None


def _decimal(line: bytes, base: int, c_text: bytes) -> int:
    """An integer as the C unpickler (`c_text`) or the Python one (`line`) reads it."""
    for value in (_int_or_none(c_text, base), _int_or_none(line, base)):
        if value is not None:
            return value
    raise ValueError(f"could not convert {line!r} to int")


def read_int(source: Source) -> int | bool:
    """INT: `00`/`01` are booleans; otherwise base 0 (strtol in C, `int(s, 0)` in Python)."""
    line = _line(source)
    if line in (b"00\n", b"01\n"):
        return line == b"01\n"
    if len(line) < 2:
        raise ValueError("an INT argument is empty")
    value = _strtol(_c_string(line))
    return value if value is not None else _decimal(line, 0, _c_string(line))


def read_long(source: Source) -> int:
    """LONG: an optional `L` before the newline is dropped, then base 0."""
    line = _line(source)
    if len(line) < 2:
        raise ValueError("a LONG argument is empty")
    text = line[:-2] if line[-2:-1] == b"L" else line[:-1]
    return _decimal(text, 0, _c_string(text))


def read_memo_key(source: Source) -> int:
    """GET and PUT: base 10 (`int(s)` in Python, PyLong_FromString(s, 10) in C)."""
    line = _line(source)
    if len(line) < 2:
        raise ValueError("a memo key is empty")
    return _decimal(line[:-1], 10, _c_string(line))


def read_float(source: Source) -> float:
    """FLOAT: Python's `float(s)`, or C's PyOS_string_to_double ending at a newline or NUL."""
    line = _line(source)
    try:
        return float(line[:-1])
    except ValueError:
        pass  # not a Python float: the C reading may still accept it
    text = _c_string(line)
    match = _C_FLOAT.match(text)
    if match is None or text[match.end() :] not in (b"", b"\n") or len(line) < 2:
        raise ValueError(f"could not convert {line!r} to float")
    return float(match.group(0))


def read_string(source: Source) -> object:
    """STRING: quoted alike at both ends, escapes decoded; non-ASCII text is UNKNOWN (each
    loader decodes it with its own encoding: ASCII, latin-1, UTF-8 or none)."""
    data = _line(source)[:-1]
    if len(data) < 2 or data[0] != data[-1] or data[:1] not in (b"'", b'"'):
        raise ValueError("the STRING opcode argument must be quoted")
    decoded: bytes = codecs.escape_decode(data[1:-1])[0]
    return decoded.decode("ascii") if decoded.isascii() else UNKNOWN


def read_unicode(source: Source) -> str:
    """UNICODE: raw-unicode-escape, as both unpicklers decode it."""
    return str(_line(source)[:-1], "raw-unicode-escape")


def read_persid(source: Source) -> bytes:
    """PERSID: the loaders decode ASCII; the value is never used."""
    return _line(source)[:-1]
