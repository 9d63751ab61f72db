"""Model file formats: find the pickle streams inside a file and run the opcode machine on them.

- raw pickles: one stream after another until the end of the file; joblib array data between
  opcodes is stepped over (see `joblib_arrays`); a legacy PyTorch file (its first pickle is the
  torch magic number) holds five pickles followed by raw tensor bytes;
- gzip, bz2, xz and zlib compressed pickles (joblib's `compress=`): decompressed in memory,
  at most `max-bytes`;
- zip archives (PyTorch checkpoints, `.npz`): every `*.pkl` and `*.npy` member;
- `.npy`: an object array's data is a pickle; any other dtype is plain bytes and holds no code.
Other formats (safetensors, ONNX, JSON...) hold no pickle and are reported by their suffix.
"""

from __future__ import annotations

import ast
import bz2
import gzip
import io
import lzma
import struct
import zipfile
import zlib
from pathlib import Path
from typing import IO, NamedTuple

from mlgate.pipelines.scan.opcodes import WRAPPER, Budget, Import, Problem, at_end, scan_stream

PICKLE_SUFFIXES = frozenset(
    {".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt", ".bin", ".sav", ".dill", ".p"}
)
MODEL_SUFFIXES = PICKLE_SUFFIXES | {".npy", ".npz"}
TORCH_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_TORCH_STREAMS = 5
_NPY_MAGIC = b"\x93NUMPY"
_COMPRESSED: dict[bytes, str] = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ\x00": "xz",
}


class Limits(NamedTuple):
    """How much the scanner reads: bytes of pickle data and opcodes per file."""

    max_bytes: int
    max_opcodes: int


class Section(NamedTuple):
    """The imports and problems of one part of a file (`member` names a zip member)."""

    member: str | None
    imports: list[Import]
    problems: list[Problem]


def read_sections(path: Path, limits: Limits) -> tuple[str, list[Section]]:
    """(format name, sections) of the file at `path`."""
    with path.open("rb") as stream:
        head = stream.read(8)
        stream.seek(0)
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            return _zip(stream, limits)
        if head.startswith(_NPY_MAGIC):
            return "npy", [_npy(stream, None, Budget(limits.max_opcodes))]
        codec = _codec(head, path.suffix.lower())
        if codec:
            return _compressed(stream, codec, path.suffix.lower(), limits)
        if path.suffix.lower() in PICKLE_SUFFIXES or head.startswith(b"\x80"):
            return _pickle_file(stream, path.suffix.lower(), limits, _size(stream))
    return path.suffix.lower().lstrip(".") or "data", []


def _size(stream: IO[bytes]) -> int:
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    return size


def _too_large(size: int, limits: Limits, member: str | None) -> Section | None:
    if size <= limits.max_bytes:
        return None
    message = f"{size} bytes of pickle data is over max-bytes ({limits.max_bytes}): not read"
    return Section(member, [], [Problem(0, message)])


def _pickle_file(
    stream: IO[bytes], suffix: str, limits: Limits, size: int
) -> tuple[str, list[Section]]:
    large = _too_large(size, limits, None)
    if large:
        return _pickle_format(suffix, []), [large]
    section, legacy = _pickles(stream, None, Budget(limits.max_opcodes), joblib=True)
    return "pytorch-legacy" if legacy else _pickle_format(suffix, section.imports), [section]


def _pickle_format(suffix: str, imports: list[Import]) -> str:
    joblib = suffix == ".joblib" or any((i.module, i.name) == WRAPPER for i in imports)
    return "joblib" if joblib else "pickle"


def _pickles(
    stream: IO[bytes], member: str | None, budget: Budget, joblib: bool = False
) -> tuple[Section, bool]:
    """Every pickle stream until the end of the data (or the raw tensors of legacy torch).

    `joblib` is for whole files, which `joblib.load` may read; members of zip archives and
    `.npy` data are read by plain unpicklers.
    """
    section = Section(member, [], [])
    count, legacy = 0, False
    while not _unreadable(section) and not at_end(stream):
        result = scan_stream(stream, budget, joblib)
        section.imports.extend(result.imports)
        section.problems.extend(result.problems)
        count += 1
        legacy = legacy or (count == 1 and result.value == TORCH_MAGIC)
        if legacy and count == _LEGACY_TORCH_STREAMS:
            break
    if count == 0:
        section.problems.append(Problem(0, "empty file: no pickle to read"))
    return section, legacy


def _unreadable(section: Section) -> bool:
    """Whether reading stopped on a stream that could not be read to its end."""
    return any(problem.kind != "unsafe" for problem in section.problems)


def _codec(head: bytes, suffix: str) -> str | None:
    for magic, codec in _COMPRESSED.items():
        if head.startswith(magic):
            return codec
    zlib_header = len(head) > 1 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0
    return "zlib" if zlib_header and suffix in PICKLE_SUFFIXES else None


def _compressed(
    stream: IO[bytes], codec: str, suffix: str, limits: Limits
) -> tuple[str, list[Section]]:
    try:
        data = _decompress(stream, codec, limits.max_bytes + 1)
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as err:
        return codec, [Section(None, [], [Problem(0, f"cannot decompress ({codec}): {err}")])]
    large = _too_large(len(data), limits, None)
    if large:
        return codec, [large]
    kind, sections = _pickle_file(io.BytesIO(data), suffix, limits, len(data))
    return f"{kind}+{codec}", sections


def _decompress(stream: IO[bytes], codec: str, limit: int) -> bytes:
    if codec == "zlib":
        return zlib.decompressobj().decompress(stream.read(), limit)
    if codec == "gzip":
        with gzip.GzipFile(fileobj=stream) as unpacked:
            return unpacked.read(limit)
    if codec == "bz2":
        with bz2.BZ2File(stream) as unpacked_bz2:
            return unpacked_bz2.read(limit)
    with lzma.LZMAFile(stream) as unpacked_xz:
        return unpacked_xz.read(limit)


def _zip(stream: IO[bytes], limits: Limits) -> tuple[str, list[Section]]:
    try:
        with zipfile.ZipFile(stream) as archive:
            return _zip_kind(archive), _zip_sections(archive, limits)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
        return "zip", [Section(None, [], [Problem(0, f"not a readable zip archive: {err}")])]


def _zip_kind(archive: zipfile.ZipFile) -> str:
    names = archive.namelist()
    if any(name == "data.pkl" or name.endswith("/data.pkl") for name in names):
        return "pytorch"
    return "npz" if any(name.endswith(".npy") for name in names) else "zip"


def _zip_sections(archive: zipfile.ZipFile, limits: Limits) -> list[Section]:
    sections = []
    budget = Budget(limits.max_opcodes)
    for info in archive.infolist():
        if not info.filename.endswith((".pkl", ".npy")):
            continue
        large = _too_large(info.file_size, limits, info.filename)
        if large:
            sections.append(large)
            continue
        data = io.BytesIO(archive.read(info))
        if info.filename.endswith(".npy"):
            sections.append(_npy(data, info.filename, budget))
        else:
            sections.append(_pickles(data, info.filename, budget)[0])
    return sections


def _npy(stream: IO[bytes], member: str | None, budget: Budget) -> Section:
    """A `.npy` array: only an object dtype stores a pickle (right after the header)."""
    try:
        descr = _npy_descr(stream)
    except (ValueError, SyntaxError, struct.error, MemoryError) as err:
        return Section(member, [], [Problem(0, f"unreadable .npy header: {err}")])
    if not _has_object(descr):
        return Section(member, [], [])
    return _pickles(stream, member, budget)[0]


def _npy_descr(stream: IO[bytes]) -> object:
    """The `descr` of a .npy header; leaves the stream at the start of the data."""
    major = stream.read(8)[6]
    size_format = "<H" if major == 1 else "<I"
    (length,) = struct.unpack(size_format, stream.read(struct.calcsize(size_format)))
    if length > 1024 * 1024:
        raise ValueError("header longer than 1 MiB")
    header = ast.literal_eval(stream.read(length).decode("latin-1"))
    if not isinstance(header, dict) or "descr" not in header:
        raise ValueError("header has no 'descr'")
    return header["descr"]


def _has_object(descr: object) -> bool:
    """Whether a numpy array description contains an object (pickled) field."""
    if isinstance(descr, str):
        return descr.lstrip("<>|=").startswith("O")
    if isinstance(descr, list):
        return any(
            isinstance(field, tuple) and len(field) > 1 and _has_object(field[1]) for field in descr
        )
    return True
