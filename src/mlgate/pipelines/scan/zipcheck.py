"""Zip archives shaped as their writers write them, or a finding.

Python's `zipfile` (numpy) and miniz (PyTorch's reader) find members through the central
directory they locate from the end of the file, and miniz matches names case-insensitively. A
crafted archive can show them different members. The scanner accepts only what the writers
produce: one end record at the very end (no comment, no trailing data), a central directory that
ends where it starts, local headers that tile the file from byte 0 and agree with their central
entries, stored or deflated data, no encryption, no two names equal ignoring case.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator
from typing import IO

_EOCD = b"PK\x05\x06"
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_DESCRIPTOR_SIG = b"PK\x07\x08"
_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_ENCRYPTED = 0x1 | 0x40
_DESCRIPTOR = 0x8
_TAIL = 65557


def anomalies(raw: IO[bytes], size: int, archive: zipfile.ZipFile) -> list[str]:
    """Why the archive could be read differently by two readers (empty when it cannot)."""
    found = list(_end_record(raw, size, archive))
    found += _names(archive.infolist())
    found += _entries(archive.infolist())
    if not found:
        found += _tiling(raw, archive)
    return found


def _end_record(raw: IO[bytes], size: int, archive: zipfile.ZipFile) -> Iterator[str]:
    raw.seek(max(0, size - _TAIL))
    tail = raw.read()
    if tail.count(_EOCD) != 1:
        yield "the archive has more than one end-of-central-directory record"
    elif len(tail) - tail.rfind(_EOCD) != 22 or archive.comment:
        yield "the archive has a comment or trailing data after its end record"


def _names(infos: list[zipfile.ZipInfo]) -> Iterator[str]:
    seen: set[str] = set()
    for info in infos:
        folded = info.filename.casefold()
        if folded in seen:
            yield f"two members are named '{info.filename}' (ignoring case)"
        seen.add(folded)


def _entries(infos: list[zipfile.ZipInfo]) -> Iterator[str]:
    for info in infos:
        if info.flag_bits & _ENCRYPTED:
            yield f"member '{info.filename}' is encrypted"
        elif info.compress_type not in _METHODS:
            yield f"member '{info.filename}' uses compression method {info.compress_type}"


def _tiling(raw: IO[bytes], archive: zipfile.ZipFile) -> list[str]:
    """Local records follow one another from byte 0 to the central directory."""
    position = 0
    for info in sorted(archive.infolist(), key=lambda item: item.header_offset):
        if info.header_offset != position:
            return [f"member '{info.filename}' does not start where the previous one ends"]
        end = _local_end(raw, info)
        if isinstance(end, str):
            return [end]
        position = end
    if position != archive.start_dir:
        return ["bytes between the last member and the central directory"]
    return []


def _local_end(raw: IO[bytes], info: zipfile.ZipInfo) -> int | str:
    """Where the record of `info` ends, or why its local header disagrees with the directory."""
    raw.seek(info.header_offset)
    head = raw.read(_LOCAL.size)
    if len(head) != _LOCAL.size:
        return f"member '{info.filename}' has no local header"
    sig, _, flags, method, _, _, crc, csize, usize, name_len, extra_len = _LOCAL.unpack(head)
    name, extra = raw.read(name_len), raw.read(extra_len)
    expected = (b"PK\x03\x04", _raw_name(info), info.flag_bits, info.compress_type)
    if (sig, name, flags, method) != expected:
        return f"member '{info.filename}': local header and central directory disagree"
    sizes = _zip64_sizes(extra, usize, csize)
    data_end = info.header_offset + _LOCAL.size + name_len + extra_len + info.compress_size
    if flags & _DESCRIPTOR:
        return _descriptor_end(raw, info, data_end)
    if (crc, sizes) != (info.CRC, (info.file_size, info.compress_size)):
        return f"member '{info.filename}': local sizes or checksum disagree with the directory"
    return int(data_end)


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    return info.orig_filename.encode(encoding)


def _zip64_sizes(extra: bytes, usize: int, csize: int) -> tuple[int, int]:
    """(uncompressed, compressed) sizes, from the zip64 extra field when the header says so."""
    if 0xFFFFFFFF not in (usize, csize):
        return usize, csize
    position = 0
    while position + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, position)
        if kind == 1 and length >= 16:
            big_usize, big_csize = struct.unpack_from("<QQ", extra, position + 4)
            return big_usize, big_csize
        position += 4 + length
    return usize, csize


def _descriptor_end(raw: IO[bytes], info: zipfile.ZipInfo, data_end: int) -> int | str:
    """The end of the data descriptor after a member written without its sizes."""
    raw.seek(data_end)
    block = raw.read(24)
    start = 4 if block.startswith(_DESCRIPTOR_SIG) else 0
    for width in ("<III", "<IQQ"):
        fields = struct.unpack_from(width, block.ljust(24, b"\x00"), start)
        if fields == (info.CRC, info.compress_size, info.file_size):
            return int(data_end + start + struct.calcsize(width))
    return f"member '{info.filename}': its data descriptor disagrees with the directory"
