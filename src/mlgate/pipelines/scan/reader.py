"""Read pickle opcodes one by one, as `pickletools.genops` does, from a bounded `Source`.

The difference: an argument longer than `SMALL` bytes (strings, bytes, bytearrays) is stepped
over and stands for a `Blob` (its offset and length), never held in memory. The scanner needs
the text of short strings only (module and attribute names, dict keys, dtype codes).
"""

from __future__ import annotations

import pickletools
import struct
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from mlgate.pipelines.scan import textargs
from mlgate.pipelines.scan.source import Source

SMALL = 1 << 20
_OPCODES = MappingProxyType({op.code.encode("latin-1"): op for op in pickletools.opcodes})


class Blob(NamedTuple):
    """A long string or bytes argument: where it starts and how long it is."""

    offset: int
    length: int


def _sized(source: Source, size_format: str, decode: Callable[[bytes], object]) -> object:
    """A length-prefixed argument, or a `Blob` when it is longer than `SMALL`."""
    width = struct.calcsize(size_format)
    head = source.read(width)
    if len(head) != width:
        raise ValueError("not enough data in a length field")
    (length,) = struct.unpack(size_format, head)
    if length < 0:
        raise ValueError(f"negative length {length}")
    if length > SMALL:
        start = source.tell()
        source.skip(length)
        return Blob(start, length)
    data = source.read(length)
    if len(data) != length:
        raise ValueError("not enough data for a string")
    return decode(data)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def _latin1(data: bytes) -> str:
    return data.decode("latin-1")


def _bytes4(source: Source) -> object:
    return _sized(source, "<I", bytes)


def _bytes8(source: Source) -> object:
    return _sized(source, "<Q", bytes)


def _string4(source: Source) -> object:
    return _sized(source, "<i", _latin1)


def _unicode4(source: Source) -> object:
    return _sized(source, "<I", _text)


def _unicode8(source: Source) -> object:
    return _sized(source, "<Q", _text)


def _pair(source: Source) -> tuple[str, str]:
    """GLOBAL's and INST's two lines as the unpicklers read them: each line without its last
    byte, even when the data ends before the newline (then they import the cut name)."""
    lines = (source.readline(), source.readline())
    try:
        module, name = (line[:-1].decode("utf-8") for line in lines)
    except UnicodeDecodeError as err:
        raise ValueError(f"an import name is not UTF-8: {err}") from err
    return module, name


_READERS: Mapping[str, Callable[[Source], object]] = MappingProxyType(
    {
        "GLOBAL": _pair,
        "INST": _pair,
        "INT": textargs.read_int,
        "LONG": textargs.read_long,
        "FLOAT": textargs.read_float,
        "STRING": textargs.read_string,
        "UNICODE": textargs.read_unicode,
        "GET": textargs.read_memo_key,
        "PUT": textargs.read_memo_key,
        "PERSID": textargs.read_persid,
        "BINBYTES": _bytes4,
        "BINBYTES8": _bytes8,
        "BYTEARRAY8": _bytes8,
        "BINSTRING": _string4,
        "BINUNICODE": _unicode4,
        "BINUNICODE8": _unicode8,
    }
)


def read_ops(source: Source) -> Iterator[tuple[str, Any, int]]:
    """(opcode name, argument, offset) for every opcode up to and including STOP."""
    read, opcodes, readers = source.read, _OPCODES, _READERS
    while True:
        offset = source.consumed
        code = read(1)
        opcode = opcodes.get(code)
        if opcode is None:
            raise ValueError(
                f"at position {offset}, opcode {code!r} unknown" if code else "not enough data"
            )
        reader = readers.get(opcode.name)
        if reader is None and opcode.arg is not None:
            reader = opcode.arg.reader  # type: ignore[assignment]
        yield opcode.name, reader(source) if reader else None, offset
        if code == b".":
            return
