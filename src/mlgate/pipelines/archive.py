"""Reproducible tar.gz writing and defensive reading for model packages.

Writing: members in the given order, every header normalised (mtime from the caller, uid/gid 0,
no user or group names, mode 0644 or 0755), gzip header with mtime 0 and no file name, so the
same inputs give the same bytes. The file appears at its final path only when complete.

Reading: every member must be a regular file with a normalised relative path (no absolute path,
no `..`, no duplicates); links, devices and folders are refused before anything is written.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import posixpath
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, NamedTuple

from mlgate.errors import PackageError

CHUNK = 1024 * 1024
#: Deflate level when the payload compresses; 0 (stored blocks) when it does not.
COMPRESS_LEVEL = 6
#: Compression must save at least this share of the payload, estimated on samples, to be used.
MIN_SAVING = 0.1
_SAMPLE = 64 * 1024
#: Members kept in memory (the manifest) larger than this are not kept.
KEEP_LIMIT = 16 * 1024 * 1024
#: Packages are meant to be shared (CI artifacts, reviewers): readable by all, like a wheel.
PACKAGE_MODE = 0o644


class Member(NamedTuple):
    """One file to write: archive name, source (path or bytes) and whether it is executable."""

    name: str
    source: Path | bytes
    executable: bool = False


class ReadMember(NamedTuple):
    """A regular file seen while reading: its name, size, sha256 and (for small ones) bytes."""

    name: str
    size: int
    sha256: str
    data: bytes | None


#: Called for each member before it is read; returns a stream to copy the bytes to, or None.
Sink = Callable[[str, int], IO[bytes] | None]


def write_archive(target: Path, members: Sequence[Member], mtime: int) -> None:
    """Write a reproducible tar.gz to `target` atomically (temp file + os.replace).

    Trained weights are mostly high-entropy floats that deflate shrinks by a few percent at
    20 MB/s of CPU; when samples of the members say compression would save under `MIN_SAVING`,
    the gzip stream uses stored blocks instead (the bytes still depend only on the inputs).
    """
    try:
        _write_atomically(target, members, mtime)
    except OSError as err:
        raise PackageError(f"cannot write {target}: {err.strerror or err}") from err


def _write_atomically(target: Path, members: Sequence[Member], mtime: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(handle, PACKAGE_MODE)
        with os.fdopen(handle, "wb") as raw:
            _write_tar(raw, members, mtime, compress_level(members))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)  # the half-written archive must not stay behind
        raise


def compress_level(members: Sequence[Member]) -> int:
    """`COMPRESS_LEVEL`, or 0 when deflate would save under `MIN_SAVING` of the payload."""
    total = saved = 0.0
    for member in members:
        sample, size = _sample(member)
        if sample:
            total += size
            saved += size * (1 - len(zlib.compress(sample, 1)) / len(sample))
    return COMPRESS_LEVEL if total and saved / total >= MIN_SAVING else 0


def _sample(member: Member) -> tuple[bytes, int]:
    """The first bytes of a member and its size."""
    if isinstance(member.source, bytes):
        return member.source[:_SAMPLE], len(member.source)
    with member.source.open("rb") as stream:
        return stream.read(_SAMPLE), member.source.stat().st_size


def _write_tar(raw: IO[bytes], members: Iterable[Member], mtime: int, level: int) -> None:
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=level) as packed,
        tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for member in members:
            _add(tar, member, mtime)


def _add(tar: tarfile.TarFile, member: Member, mtime: int) -> None:
    info = tarfile.TarInfo(member.name)
    info.mtime = mtime
    info.mode = 0o755 if member.executable else 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if isinstance(member.source, bytes):
        info.size = len(member.source)
        tar.addfile(info, _BytesReader(member.source))
        return
    expected = member.source.stat().st_size
    info.size = expected
    with member.source.open("rb") as stream:
        tar.addfile(info, stream)
        if stream.tell() != expected or stream.read(1):
            raise PackageError(f"{member.name} changed while the package was being written")


class _BytesReader:
    """The minimal reader `tarfile.addfile` needs, over bytes."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._offset + size
        chunk = self._data[self._offset : end].tobytes()
        self._offset += len(chunk)
        return chunk


def read_archive(path: Path, sink: Sink, keep: Callable[[str], bool]) -> list[ReadMember]:
    """Check and hash every member of `path`; bytes of members `keep` accepts are returned."""
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            return list(_read_members(tar, sink, keep))
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, OSError) as err:
        raise PackageError(f"{path}: not a readable package archive ({err})") from err


def _admit_all(info: tarfile.TarInfo) -> None:
    """Every safe member may be read."""


def _read_members(
    tar: tarfile.TarFile,
    sink: Sink,
    keep: Callable[[str], bool],
    admit: Callable[[tarfile.TarInfo], None] = _admit_all,
) -> Iterator[ReadMember]:
    seen: set[str] = set()
    for info in tar:
        problem = unsafe_member(info) or ("appears twice" if info.name in seen else None)
        if problem:
            raise PackageError(f"unsafe member '{info.name}': {problem}; nothing was extracted")
        admit(info)
        seen.add(info.name)
        stream = tar.extractfile(info)
        if stream is None:  # pragma: no cover - regular files always have a stream
            raise PackageError(f"member '{info.name}' cannot be read")
        wanted = keep(info.name) and info.size <= KEEP_LIMIT
        yield _copy(info, stream, sink(info.name, info.mode), wanted)


#: Given the first member's bytes (the manifest), the size of every other member it admits.
Plan = Callable[[bytes], Mapping[str, int]]


#: Room for one member's headers (tar and pax) and padding, beyond the size the manifest gives.
HEADER_ROOM = 64 * 1024


class _Bounded:
    """The uncompressed tar stream, refusing to be read past `limit` bytes: the manifest and,
    once it is read, what the manifest accounts for. A crafted header (a member or a pax
    header declaring gigabytes) fails here instead of being inflated."""

    def __init__(self, raw: gzip.GzipFile, limit: int) -> None:
        self.raw = raw
        self.limit = limit

    def read(self, size: int = -1) -> bytes:
        if size < 0 or self.raw.tell() + size > self.limit:
            raise PackageError(
                f"the archive holds more than its manifest accounts for ({self.limit} bytes); "
                "refusing it"
            )
        return self.raw.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()


def read_planned(path: Path, first: str, plan: Plan, sink: Sink) -> list[ReadMember]:
    """Read `path` once, `first` member first; every later member must be one `plan` admits,
    with the size it gives, checked from its header before a byte of it reaches `sink`; the
    uncompressed stream may not be longer than those sizes and their headers."""
    try:
        with gzip.open(path, "rb") as raw:
            bounded = _Bounded(raw, KEEP_LIMIT + HEADER_ROOM)
            # reading needs only read/seek/tell; typeshed's protocol also asks for write/close
            with tarfile.open(fileobj=bounded, mode="r:") as tar:  # type: ignore[call-overload]
                return _planned(tar, bounded, first, (plan, sink))
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, OSError) as err:
        raise PackageError(f"{path}: not a readable package archive ({err})") from err


def _planned(
    tar: tarfile.TarFile, bounded: _Bounded, first: str, how: tuple[Plan, Sink]
) -> list[ReadMember]:
    plan, sink = how
    plans: list[Mapping[str, int]] = []

    def admit(info: tarfile.TarInfo) -> None:
        if not plans and (info.name != first or info.size > KEEP_LIMIT):
            raise PackageError(f"the archive must start with {first} (at most {KEEP_LIMIT} bytes)")
        if plans:
            _check_planned(info, plans[0])

    def writes(name: str, mode: int) -> IO[bytes] | None:
        return sink(name, mode) if plans else None

    members = _read_members(tar, writes, lambda name: not plans, admit)
    head = next(members, None)
    if head is None or head.data is None:
        raise PackageError(f"the archive must start with {first} (at most {KEEP_LIMIT} bytes)")
    plans.append(plan(head.data))
    bounded.limit = bounded.tell() + sum(size + HEADER_ROOM for size in plans[0].values())
    bounded.limit += 2 * HEADER_ROOM  # the end-of-archive blocks
    return [head, *members]


def _check_planned(info: tarfile.TarInfo, sizes: Mapping[str, int]) -> None:
    if info.name not in sizes:
        raise PackageError(f"{info.name} is in the archive but not in the manifest; refusing it")
    if info.size != sizes[info.name]:
        declared = f"{info.size} bytes, the manifest {sizes[info.name]}"
        raise PackageError(f"{info.name} declares {declared}; refused before extracting it")


def _copy(
    info: tarfile.TarInfo, stream: IO[bytes], out: IO[bytes] | None, keep: bool
) -> ReadMember:
    hasher = hashlib.sha256()
    kept = bytearray()
    size = 0
    while chunk := stream.read(CHUNK):
        hasher.update(chunk)
        size += len(chunk)
        if out is not None:
            out.write(chunk)
        if keep:
            kept += chunk
    if out is not None:
        out.close()
    return ReadMember(info.name, size, hasher.hexdigest(), bytes(kept) if keep else None)


def unsafe_member(info: tarfile.TarInfo) -> str | None:
    """Why a tar member may not be extracted, or None when it is a safe regular file."""
    if info.issym() or info.islnk():
        return f"is a link to '{info.linkname}'"
    if info.isdir():
        return "is a folder entry (packages hold regular files only)"
    if not info.isreg():
        return "is a device, FIFO or other special file"
    return unsafe_path(info.name)


def unsafe_path(name: str) -> str | None:
    """Why an archive path is unsafe (absolute, `..`, not normalised), or None."""
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "is an absolute path"
    if ".." in name.split("/"):
        return "climbs out of the package with '..'"
    if "\\" in name or "\0" in name or posixpath.normpath(name) != name or name == ".":
        return "is not a normalised relative path"
    return None
