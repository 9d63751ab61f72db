"""Model file formats: identify a file by its content and read it as every loader reads it.

- zip archives (`PK` at byte 0, as numpy and PyTorch test it): checked to be shaped as their
  writers write them (`zipcheck`), then every member is read by its content;
- `.npy` (numpy's magic): an array whose dtype is not plain data holds a pickle;
- joblib's compressed files (its own magic list: zlib `x`, gzip, bz2 `BZ`, lzma `]\\x00`, xz;
  lz4 and the pre-0.10 `ZF` format are refused): decompressed as a stream;
- tar archives (PyTorch's legacy tar format): every member is read by its content;
- every other file, whatever its name: read as `pickle.load` reads it. A file that is a pickle
  (a protocol 2+ header, or a stream that reaches STOP or imports anything) is scanned stream by
  stream to its end; a legacy PyTorch file (magic number first) holds five pickles and then raw
  storages. Anything else is data, searched for embedded pickle streams that import.

A file whose pickles hold joblib arrays is read twice: as `joblib.load` reads it (array bytes
stepped over) and as `pickle.load` reads it (array bytes are opcodes); both must pass.
"""

from __future__ import annotations

import io
import lzma
import os
import re
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import IO, NamedTuple

from mlgate.pipelines.scan import npy, zipcheck
from mlgate.pipelines.scan.opcodes import (
    Budget,
    Import,
    OverBudget,
    Problem,
    StreamResult,
    scan_stream,
)
from mlgate.pipelines.scan.source import (
    CHUNK,
    LimitExceeded,
    Source,
    Undecompressable,
    decompressing,
)

#: Names that claim a pickle: such a file that is not a readable pickle is a finding.
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt", ".bin", ".sav", ".p")
TORCH_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_TORCH_STREAMS = 5
#: joblib's compressor magic numbers (`joblib.compressor`), in its order of detection.
_COMPRESSED: dict[bytes, str] = {
    b"\x1f\x8b": "gzip",
    b"BZ": "bz2",
    b"]\x00": "lzma",
    b"\xfd7zXZ": "xz",
}
_REFUSED = {
    b"ZF": "joblib's pre-0.10 format",
    b"\x04\x22\x4d\x18": "lz4 compression",
    b"\x28\xb5\x2f\xfd": "zstandard compression",  # pandas reads `.zst` when it can
}
#: Containers (zip, compressed, tar) inside containers: deeper than this is a finding.
MAX_DEPTH = 3
#: Members of a tar archive read (PyTorch's legacy tar holds four): more is a finding.
MAX_TAR_MEMBERS = 1000
#: Decompressed data that is not a pickle is held for a second reading: in memory up to this,
#: in a temporary file above (at most max-bytes, charged to the file's time budget).
_SPOOL = 64 << 20
_EMBEDDED = re.compile(rb"\x80[\x02-\x05]|c[A-Za-z_][\w.]{0,200}\n[A-Za-z_][\w.]{0,200}\n")
#: In text, only a binary protocol header (a line `cat\ndog\n` is text, not an import).
_EMBEDDED_IN_TEXT = re.compile(rb"\x80[\x02-\x05]")
_MAX_EMBEDDED = 256
#: Opcodes one probe for an embedded pickle may read, and all the probes of a file together
#: (charged to the file's opcode budget and deadline too).
_PROBE_OPCODES = 10_000
_ALL_PROBES_OPCODES = 200_000
#: The time limit holds for files up to this size, and grows in proportion above it (20 s per
#: 10 MB by default: the scanner reads dense pickles at about 1 MB/s).
_TIMED_SIZE = 10_000_000
_MAX_ALONE_STREAMS = 64
_DATA_KINDS = frozenset({"data", "text", "safetensors"})
_WINDOW = 1 << 16


class Limits(NamedTuple):
    """How much the scanner reads: bytes, opcodes and seconds per file (at least: 2 s per MB
    above 10 MB), findings per file."""

    max_bytes: int
    max_opcodes: int
    max_seconds: float = 20.0
    max_findings: int = 1000


class Ctx(NamedTuple):
    """The limits of a scan and the budget left for the file being read."""

    limits: Limits
    budget: Budget
    name: str = ""  # the file's or member's name: a pickle suffix makes a failed read a finding
    depth: int = 0  # how many containers hold the data being read


class Section(NamedTuple):
    """The imports and problems of one part of a file (`member` names a zip member)."""

    member: str | None
    imports: list[Import]
    problems: list[Problem]
    payloads: tuple[tuple[int, bytes], ...] = ()


class Scanned(NamedTuple):
    """Several streams read one after another."""

    section: Section
    pickle: bool
    legacy: bool
    arrays: bool


def read_sections(path: Path, limits: Limits) -> tuple[str, list[Section]]:
    """(format name, sections) of the file at `path`."""
    with path.open("rb") as raw:
        return read_stream(raw, os.fstat(raw.fileno()).st_size, path.name, limits)


def read_stream(raw: IO[bytes], size: int, name: str, limits: Limits) -> tuple[str, list[Section]]:
    """(format name, sections) of an open file (at byte 0) of `size` bytes named `name`."""
    seconds = limits.max_seconds * max(1.0, size / _TIMED_SIZE)
    ctx = Ctx(limits, Budget(limits.max_opcodes, seconds), Path(name).name)
    try:
        kind, sections = identify(raw, size, ctx, None)
        return kind, sections + _payloads(sections, ctx)
    except RecursionError:
        return "unknown", [_refusal(None, "nested too deeply to read: not checkable")]
    except MemoryError:
        return "unknown", [_refusal(None, "needs more memory than there is to read: not checkable")]


def _payloads(sections: list[Section], ctx: Ctx) -> list[Section]:
    """The storages of tensors pickled without torch.save, each read as a file of its own."""
    found: list[Section] = []
    for section in sections:
        for offset, data in section.payloads:
            where = f"{section.member + ':' if section.member else ''}bytes@{offset}"
            for item in identify(io.BytesIO(data), len(data), ctx._replace(name=""), where)[1]:
                found.append(item._replace(member=item.member or where, payloads=()))
                if item.payloads:
                    message = "tensor bytes inside tensor bytes: not checkable"
                    found[-1].problems.append(Problem(item.payloads[0][0], message, "unsafe"))
    return found


def identify(raw: IO[bytes], size: int, ctx: Ctx, member: str | None) -> tuple[str, list[Section]]:
    """Read `raw` (positioned at 0, `size` bytes) by its content."""
    head = raw.read(16)
    raw.seek(0)
    if head.startswith(npy.MAGIC):
        return "npy", [_npy(Source(raw, ctx.limits.max_bytes, size), member, ctx.budget)]
    container = _container(raw, head, size, ctx, member)
    if container is None:
        return _plain(raw, size, ctx, member)
    if _is_zip(head):
        return container
    kind, sections = _plain(raw, size, ctx._replace(name=""), member)  # pickle.load reads it too
    if kind in _DATA_KINDS:
        return container
    return f"{kind}+{container[0]}", sections + container[1]


def _container(
    raw: IO[bytes], head: bytes, size: int, ctx: Ctx, member: str | None
) -> tuple[str, list[Section]] | None:
    """A zip, compressed or tar file, read as numpy, joblib or PyTorch reads it (None: none)."""
    kind = _container_kind(raw, head, size)
    if kind is None:
        return None
    refusal = _unreadable(raw, kind, size, ctx)
    if refusal:
        return ("joblib" if kind in _REFUSED.values() else kind), [_refusal(member, refusal)]
    inner = ctx._replace(depth=ctx.depth + 1)
    if kind == "zip":
        return _zip(raw, size, inner)
    if kind == "tar":
        return _tar(raw, inner, member)
    return _compressed(raw, kind, inner, member)


def _unreadable(raw: IO[bytes], kind: str, size: int, ctx: Ctx) -> str:
    """Why a container is refused unread ("": it is read)."""
    if ctx.depth >= MAX_DEPTH:
        return f"containers nested more than {MAX_DEPTH} deep: not read"
    if kind != "tar" and size >= 512 and _is_tar(raw):
        return f"both {kind} data and a tar archive (tarfile reads it as either): not checkable"
    if kind in _REFUSED.values():
        return f"{kind} cannot be checked: save without it"
    return ""


def _is_zip(head: bytes) -> bool:
    return head.startswith((b"PK\x03\x04", b"PK\x05\x06"))


def _container_kind(raw: IO[bytes], head: bytes, size: int) -> str | None:
    """`zip`, `tar`, a codec, or why the compression is refused (None: no container)."""
    if _is_zip(head):
        return "zip"
    for magic, name in (*_REFUSED.items(), *_COMPRESSED.items()):
        if head.startswith(magic):
            return name
    if len(head) > 1 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"  # joblib tries zlib on any `x`
    if size >= 512 and _is_tar(raw):
        return "tar"
    alone = _lzma_alone(raw.read(_WINDOW))
    raw.seek(0)
    return "lzma" if alone else None  # pandas reads `.xz` with liblzma's auto decoder


def _lzma_alone(head: bytes) -> bool:
    """Whether liblzma's auto decoder (pandas reads `.xz` with it) decodes any byte from the
    .lzma ("alone") streams at the start of `head`, read one after another as `LZMAFile` reads
    them, whatever their properties byte (joblib writes only `]`)."""
    for _ in range(_MAX_ALONE_STREAMS):
        if not _alone_header(head):
            return False
        decoder = lzma.LZMADecompressor(lzma.FORMAT_ALONE)
        if _yields(decoder, head):
            return True
        if not decoder.eof:
            return False  # it failed before a byte came out: no loader reads anything
        head = decoder.unused_data
    return False


def _yields(decoder: lzma.LZMADecompressor, data: bytes) -> bool:
    """Whether `decoder` puts out a byte from `data`, fed a little at a time."""
    for start in range(0, len(data), 64):
        try:
            if decoder.decompress(data[start : start + 64], max_length=1):
                return True
        except lzma.LZMAError:
            return False
        if decoder.eof:
            return False
    return False


def _alone_header(head: bytes) -> bool:
    """liblzma's picky checks of an .lzma header: properties, dictionary size, stream size."""
    if len(head) < 13 or head[0] >= 225 or not _dictionary_size(head[1:5]):
        return False
    size = int.from_bytes(head[5:13], "little")
    return size == (1 << 64) - 1 or size < 1 << 38


def _dictionary_size(field: bytes) -> bool:
    """liblzma's check of an .lzma dictionary size: 2^n, 2^n + 2^(n-1) or UINT32_MAX."""
    size = int.from_bytes(field, "little")
    rounded = (size - 1) & 0xFFFFFFFF
    for shift in (2, 3, 4, 8, 16):
        rounded |= rounded >> shift
    return size == 0xFFFFFFFF or (rounded + 1) & 0xFFFFFFFF == size


def _refusal(member: str | None, message: str) -> Section:
    return Section(member, [], [Problem(0, message)])


def _plain(raw: IO[bytes], size: int, ctx: Ctx, member: str | None) -> tuple[str, list[Section]]:
    """The file as `pickle.load`, `joblib.load` and `torch.load` read it from byte 0."""
    claims = ctx.name.lower().endswith(PICKLE_SUFFIXES)
    if size > ctx.limits.max_bytes and (claims or raw.read(1) == b"\x80"):
        limit = ctx.limits.max_bytes
        message = f"{size} bytes of pickle data is over max-bytes ({limit}): not read"
        return "pickle", [Section(member, [], [Problem(0, message, "limit")])]
    raw.seek(0)
    source = Source(raw, ctx.limits.max_bytes, size)
    scanned = streams(source, member, ctx.budget, joblib=True)
    if not scanned.pickle and not claims:
        return _data(raw, size, ctx, member)
    sections = [scanned.section]
    if scanned.legacy:
        sections.append(_embedded(source, member, ctx.budget))
    if scanned.arrays:
        raw.seek(0)
        sections.append(_as_plain(Source(raw, ctx.limits.max_bytes, size), member, ctx.budget))
    kind = "pytorch-legacy" if scanned.legacy else "joblib" if scanned.arrays else "pickle"
    return kind, sections


def _data(raw: IO[bytes], size: int, ctx: Ctx, member: str | None) -> tuple[str, list[Section]]:
    """A file no loader reads as a pickle: searched for embedded pickles (not safetensors)."""
    raw.seek(0)
    kind = _data_kind(raw.read(64), ctx.name)
    if kind == "safetensors":
        return kind, []
    raw.seek(0)
    pattern = _EMBEDDED_IN_TEXT if kind == "text" else _EMBEDDED
    source = Source(raw, ctx.limits.max_bytes, size)
    return kind, [_embedded(source, member, ctx.budget, pattern)]


def _data_kind(head: bytes, name: str) -> str:
    """A name for data that is not a pickle (for reports only: it decides nothing).

    Binary data of no known layout is named by its suffix (`.safetensors`, `.onnx`, `.h5`).
    """
    if len(head) > 9 and head[8:10] == b'{"' and int.from_bytes(head[:8], "little") > 1:
        return "safetensors"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return Path(name).suffix.lstrip(".").lower() or "data"
    return "text"


def _as_plain(source: Source, member: str | None, budget: Budget) -> Section:
    """What `pickle.load` does with a joblib file: imports and unsafe opcodes count."""
    section = streams(source, member, budget, joblib=False).section
    problems = [problem for problem in section.problems if problem.kind != "unreadable"]
    return Section(member, section.imports, problems)


def streams(source: Source, member: str | None, budget: Budget, joblib: bool) -> Scanned:
    """Every pickle stream until the end of the data (or the raw storages of legacy torch)."""
    section = Section(member, [], [])
    count, legacy, arrays = 0, False, False
    is_pickle = not _at_end(source, section) and source.peek(1) == b"\x80"
    while not _stopped(section) and not _at_end(source, section):
        result = scan_stream(source, budget, joblib)
        section = _add(section, result)
        count += 1
        arrays = arrays or result.arrays
        is_pickle = is_pickle or result.complete or bool(result.imports) or _unsafe(result)
        is_pickle = is_pickle or _limited(result)  # not read to its end: never quietly data
        legacy = legacy or (count == 1 and result.value == TORCH_MAGIC)
        if legacy and count == _LEGACY_TORCH_STREAMS:
            break
    if count == 0 and not section.problems:
        section.problems.append(Problem(0, "empty file: no pickle to read"))
    return Scanned(section, is_pickle, legacy, arrays)  # empty: data, unless named a pickle


def _at_end(source: Source, section: Section) -> bool:
    """Whether the data is all read (a decompression error is a problem, and an end)."""
    try:
        return source.at_end()
    except Undecompressable as err:
        section.problems.append(Problem(source.tell(), f"cannot decompress: {err}"))
        return True


def _add(section: Section, result: StreamResult) -> Section:
    section.imports.extend(result.imports)
    section.problems.extend(result.problems)
    return section._replace(payloads=section.payloads + result.payloads)


def _limited(result: StreamResult) -> bool:
    return any(problem.kind == "limit" for problem in result.problems)


def _unsafe(result: StreamResult) -> bool:
    return any(problem.kind == "unsafe" for problem in result.problems)


def _stopped(section: Section) -> bool:
    """Whether reading stopped on a stream that could not be read to its end."""
    return any(problem.kind != "unsafe" for problem in section.problems)


def _embedded(
    source: Source, member: str | None, budget: Budget, pattern: re.Pattern[bytes] = _EMBEDDED
) -> Section:
    """Pickle streams that import, hidden in data no loader reads as a pickle from byte 0."""
    section = Section(member, [], [])
    probes = Budget(_ALL_PROBES_OPCODES)
    try:
        while len(section.problems) < _MAX_EMBEDDED and not source.at_end():
            budget.check(0)
            base, window = source.tell(), source.peek(_WINDOW * 2)
            end = _WINDOW if len(window) == _WINDOW * 2 else len(window)
            for match in pattern.finditer(window, 0, end):
                probe = _probe_budget(probes, budget)
                _probe(Source.within(window, match.start()), base + match.start(), section, probe)
                _charge(probes, budget, probe)
            source.skip(end)
    except (LimitExceeded, OverBudget) as err:
        section.problems.append(Problem(source.tell(), str(err), "limit"))
    return section


def _probe(source: Source, offset: int, section: Section, probe: Budget) -> None:
    """Scan one candidate stream; a finding when it imports anything (random data can hold a
    stray EXT or STACK_GLOBAL; only a named import is a real embedded pickle)."""
    result = scan_stream(source, probe)
    if result.imports:
        names = ", ".join(f"{item.module}.{item.name}" for item in result.imports)
        message = f"pickle-like bytes at byte {offset} would import {names}: not a known format"
        section.problems.append(Problem(offset, message))


def _probe_budget(probes: Budget, budget: Budget) -> Budget:
    """The opcodes and time one probe may use: what is left to all probes and to the file."""
    probe = Budget(max(0, min(_PROBE_OPCODES, probes.left, budget.left)))
    probe.deadline = budget.deadline
    return probe


def _charge(probes: Budget, budget: Budget, probe: Budget) -> None:
    """Charge a probe's opcodes to the probes and the file; over either, or late: OverBudget."""
    used = probe.limit - probe.left
    probes.left -= used
    budget.left -= used
    budget.check(0)
    if probes.left <= 0 or budget.left <= 0:
        message = "too many pickle-like bytes in data to search them all: not checkable"
        raise OverBudget(message)


def _compressed(
    raw: IO[bytes], codec: str, ctx: Ctx, member: str | None
) -> tuple[str, list[Section]]:
    raw.seek(0)
    with decompressing(raw, codec) as unpacked:
        kind, sections = _plain_stream(unpacked, ctx, member)
    if kind == "data":  # pandas reads a compressed tar (`.tar.gz`): identified again
        kind, sections = _unpacked(raw, codec, ctx, member)
    elif kind == "joblib":  # read again as `pickle.load` reads it
        raw.seek(0)
        with decompressing(raw, codec) as unpacked:
            sections.append(_as_plain(Source(unpacked, ctx.limits.max_bytes), member, ctx.budget))
    return (f"{kind}+{codec}" if kind != "data" else codec), sections


def _plain_stream(unpacked: IO[bytes], ctx: Ctx, member: str | None) -> tuple[str, list[Section]]:
    """A decompressed stream, read twice (joblib, then plain) when it holds joblib arrays."""
    scanned = streams(Source(unpacked, ctx.limits.max_bytes), member, ctx.budget, joblib=True)
    if not scanned.pickle:
        return "data", []
    return ("joblib" if scanned.arrays else "pickle"), [scanned.section]


def _unpacked(
    raw: IO[bytes], codec: str, ctx: Ctx, member: str | None
) -> tuple[str, list[Section]]:
    """Decompressed data that is no pickle: a container (a tar, for pandas) is copied once and
    identified by its content; other data is data, as it was to the loaders."""
    raw.seek(0)
    with decompressing(raw, codec) as unpacked:
        try:
            head = Source(unpacked, ctx.limits.max_bytes).peek(512)
        except Undecompressable as err:
            return "data", [_refusal(member, f"cannot decompress: {err}")]
    if not _holds_more(head):
        return "data", []
    raw.seek(0)
    with tempfile.SpooledTemporaryFile(_SPOOL) as copy, decompressing(raw, codec) as unpacked:
        try:
            size = _copy(Source(unpacked, ctx.limits.max_bytes), copy, ctx)
        except (LimitExceeded, OverBudget) as err:
            return "data", [Section(member, [], [Problem(0, str(err), "limit")])]
        except Undecompressable as err:
            return "data", [_refusal(member, f"cannot decompress: {err}")]
        copy.seek(0)
        return identify(copy, size, ctx._replace(name=_unsuffixed(ctx.name)), member)


def _holds_more(head: bytes) -> bool:
    """Whether decompressed data starts like a container or an array (read again)."""
    return head.startswith(npy.MAGIC) or _is_container(head)


def _is_container(head: bytes) -> bool:
    return _container_kind(io.BytesIO(head), head, len(head)) is not None


def _copy(source: Source, copy: IO[bytes], ctx: Ctx) -> int:
    """Copy all of `source` into `copy` (its size), within the file's time budget; all the
    copies made for one file (nested ones too) add up to at most max-bytes."""
    while not source.at_end():
        ctx.budget.check(0)
        chunk = source.peek(CHUNK)
        source.skip(len(chunk))  # past max-bytes: LimitExceeded
        ctx.budget.copied += len(chunk)
        if ctx.budget.copied > ctx.limits.max_bytes:
            limit = ctx.limits.max_bytes
            raise LimitExceeded(f"decompressed copies over max-bytes ({limit}): not read")
        copy.write(chunk)
    return source.tell()


def _unsuffixed(name: str) -> str:
    """`model.pkl.gz` decompressed is `model.pkl` (its name still claims a pickle)."""
    return str(Path(name).with_suffix("")) if Path(name).suffix else name


def _inside(member: str | None, name: str) -> str:
    """A member's name inside a member (`outer.tar:inner.pkl`)."""
    return f"{member}:{name}" if member else name


def _is_tar(raw: IO[bytes]) -> bool:
    raw.seek(0)
    try:
        with tarfile.open(fileobj=raw, mode="r:"):
            return True
    except tarfile.TarError:
        return False  # not a tar archive: PyTorch falls back to reading a pickle too
    finally:
        raw.seek(0)


def _tar(raw: IO[bytes], ctx: Ctx, member: str | None) -> tuple[str, list[Section]]:
    """Every regular member of a tar archive, by its content (PyTorch's legacy tar format,
    pandas' single-member tar); each member is read in place, never copied."""
    sections: list[Section] = []
    try:
        with tarfile.open(fileobj=raw, mode="r:") as archive:
            _tar_members(archive, ctx, member, sections)
    except tarfile.TarError as err:  # a header or member cut short: the loaders fail there
        sections.append(_refusal(member, f"tar archive cannot be read to its end: {err}"))
    except OverBudget as err:
        sections.append(Section(member, [], [Problem(0, str(err), "limit")]))
    return "tar", sections


def _tar_members(
    archive: tarfile.TarFile, ctx: Ctx, member: str | None, sections: list[Section]
) -> None:
    for count, info in enumerate(archive):
        ctx.budget.check(0)
        if count == MAX_TAR_MEMBERS:
            message = f"a tar archive of more than {MAX_TAR_MEMBERS} members: not all read"
            sections.append(_refusal(_inside(member, info.name), message))
            return
        unpacked = archive.extractfile(info) if info.isfile() else None
        if unpacked is not None:
            named = ctx._replace(name=info.name)
            sections += identify(unpacked, info.size, named, _inside(member, info.name))[1]


def _zip(raw: IO[bytes], size: int, ctx: Ctx) -> tuple[str, list[Section]]:
    try:
        with zipfile.ZipFile(raw) as archive:
            wrong = zipcheck.anomalies(raw, size, archive)
            if not wrong:
                return _zip_kind(archive), _zip_sections(archive, ctx)
            refused = _refusal(None, f"zip archive not as its writers write it: {wrong[0]}")
            return _zip_kind(archive), [refused, *_readable_members(archive, ctx)]
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError) as err:
        return "zip", [_refusal(None, f"not a readable zip archive: {err}")]
    except OverBudget as err:  # the file's time is spent between two members
        return "zip", [Section(None, [], [Problem(0, str(err), "limit")])]


def _readable_members(archive: zipfile.ZipFile, ctx: Ctx) -> list[Section]:
    """The members of a refused archive, as far as Python's zipfile reads them (numpy does)."""
    try:
        return _zip_sections(archive, ctx)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError, ValueError) as err:
        return [_refusal(None, f"the members cannot all be read: {err}")]
    except NotImplementedError as err:
        return [_refusal(None, f"the members cannot all be read: {err}")]


def _zip_kind(archive: zipfile.ZipFile) -> str:
    names = [name.casefold() for name in archive.namelist()]
    if any(name == "data.pkl" or name.endswith("/data.pkl") for name in names):
        return "pytorch"
    return "npz" if any(name.endswith(".npy") for name in names) else "zip"


def _zip_sections(archive: zipfile.ZipFile, ctx: Ctx) -> list[Section]:
    """Every member, by its content: numpy opens any member, PyTorch matches names loosely."""
    sections = []
    for info in archive.infolist():
        if info.file_size > ctx.limits.max_bytes:
            limit = ctx.limits.max_bytes
            message = f"{info.file_size} bytes of pickle data is over max-bytes ({limit}): not read"
            sections.append(Section(info.filename, [], [Problem(0, message, "limit")]))
            continue
        named = ctx._replace(name=info.filename)
        with archive.open(info) as member:  # streamed: a deflated member is never held whole
            sections += _member(member, info.file_size, named, info.filename)
    return sections


def _member(opened: IO[bytes], size: int, ctx: Ctx, name: str) -> list[Section]:
    """A zip member, streamed; copied first when it is itself a container (tar and zip readers
    seek back and forth, and a deflated member seeks back by decompressing again)."""
    ctx.budget.check(0)
    head = opened.read(512)
    opened.seek(0)
    if not _is_container(head):
        return identify(opened, size, ctx, name)[1]
    with tempfile.SpooledTemporaryFile(_SPOOL) as copy:
        try:
            copied = _copy(Source(opened, ctx.limits.max_bytes), copy, ctx)
        except (LimitExceeded, OverBudget) as err:
            return [Section(name, [], [Problem(0, str(err), "limit")])]
        copy.seek(0)
        return identify(copy, copied, ctx, name)[1]


def _npy(source: Source, member: str | None, budget: Budget) -> Section:
    """A `.npy` array: numpy unpickles the data after the header unless the dtype is plain."""
    try:
        descr = npy.read_header(source)
    except (npy.NpyHeaderError, ValueError) as err:
        return _refusal(member, f"unreadable .npy header: {err}")
    if npy.is_plain(descr):
        return Section(member, [], [])
    return streams(source, member, budget, joblib=False).section
