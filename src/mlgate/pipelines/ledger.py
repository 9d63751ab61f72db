"""The release ledger: one append-only JSON-lines file per environment, chained by hash.

Each line is one entry with sorted keys `at`, `by`, `data`, `digest`, `hash`, `kind`, `prev`,
`seq`. `hash` is "sha256:" + the SHA-256 of the canonical JSON of the other fields and `prev` is
the hash of the entry before it (`GENESIS` for the first), so editing, deleting or reordering an
entry breaks the chain. `<env>.head` records the last entry's `seq` and `hash`, which catches
entries cut off the end. An append holds an exclusive `flock` on the file, reads the last entry,
writes the new line with one `write` on an `O_APPEND` descriptor, fsyncs the file (and the folder
when the file is new), then replaces the head file atomically. A last line without its newline is
an interrupted write: it is reported, never silently continued.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from mlgate.errors import GateError

GENESIS = "sha256:" + "0" * 64
KINDS = frozenset({"approval", "deploy-end", "deploy-start", "promote", "verify"})


class Record(NamedTuple):
    """What a stage asks the ledger to record."""

    kind: str
    by: str
    digest: str
    data: Mapping[str, Any]


class Entry(NamedTuple):
    """One sealed ledger line."""

    seq: int
    kind: str
    at: str
    by: str
    digest: str
    data: Mapping[str, Any]
    prev: str
    hash: str

    def body(self) -> dict[str, Any]:
        """The fields the hash covers."""
        fields = self._asdict()
        del fields["hash"]
        return fields


class Ledger(NamedTuple):
    """The ledger file of one environment."""

    path: Path

    @property
    def head_path(self) -> Path:
        """The sidecar recording the last entry."""
        return self.path.with_suffix(".head")


class ChainReport(NamedTuple):
    """A verified ledger: its entries and anything worth telling that is not tampering."""

    entries: tuple[Entry, ...]
    note: str


def ledger_for(directory: Path, env: str) -> Ledger:
    """The ledger of environment `env` under `directory`."""
    return Ledger(directory / f"{env}.jsonl")


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes of `value` (sorted keys, no spaces, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal(body: Mapping[str, Any]) -> str:
    """The hash of an entry's body."""
    return "sha256:" + hashlib.sha256(canonical(body)).hexdigest()


def _parse(line: bytes, where: str) -> Entry:
    try:
        value = json.loads(line)
        entry = Entry(**value)
    except (ValueError, TypeError) as err:
        raise GateError(
            f"{where}: not a ledger entry ({err}); restore the ledger from backup"
        ) from err
    if not isinstance(entry.seq, int) or not isinstance(entry.data, Mapping):
        raise GateError(f"{where}: malformed ledger entry; restore the ledger from backup")
    return entry


def _lines(data: bytes, path: Path) -> list[bytes]:
    if data and not data.endswith(b"\n"):
        offset = data.rfind(b"\n") + 1
        raise GateError(
            f"{path}: the last line (from byte {offset}) is incomplete, an interrupted write; "
            f"check it, then truncate the file to {offset} bytes"
        )
    return data.splitlines()


def read_entries(ledger: Ledger) -> list[Entry]:
    """Every entry of `ledger` (none when it does not exist yet), in file order."""
    try:
        data = ledger.path.read_bytes()
    except FileNotFoundError:
        return []
    lines = _lines(data, ledger.path)
    return [_parse(line, f"{ledger.path}:{number}") for number, line in enumerate(lines, 1)]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[tuple[int, bool]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd, created
    finally:
        os.close(fd)


def _last(path: Path) -> Entry | None:
    data = path.read_bytes()
    lines = _lines(data, path)
    return _parse(lines[-1], f"{path}:{len(lines)}") if lines else None


def fsync_dir(directory: Path) -> None:
    """Make a new or renamed entry of `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: write a temp file, fsync, rename, fsync the folder."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    fsync_dir(path.parent)


def append(ledger: Ledger, record: Record, at: str) -> Entry:
    """Seal `record` at time `at` onto the end of `ledger`, durably; return the entry."""
    if record.kind not in KINDS:
        raise ValueError(f"unknown ledger entry kind {record.kind!r}")
    with _locked(ledger.path) as (fd, created):
        last = _last(ledger.path)
        seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
        body = {**record._asdict(), "at": at, "seq": seq, "prev": prev}
        entry = Entry(**body, hash=seal(body))
        os.write(fd, canonical(entry._asdict()) + b"\n")
        os.fsync(fd)
        if created:
            fsync_dir(ledger.path.parent)
        write_atomic(ledger.head_path, canonical({"hash": entry.hash, "seq": entry.seq}))
    return entry


def _problem(entry: Entry, number: int, prev: str) -> str:
    if entry.seq != number:
        return f"entry has seq {entry.seq} where {number} was expected (entries deleted or moved)"
    if entry.prev != prev:
        return "entry does not chain to the one before it (entries deleted or moved)"
    if seal(entry.body()) != entry.hash:
        return "entry does not match its hash (edited after it was written)"
    return ""


def _head(ledger: Ledger) -> Mapping[str, Any] | None:
    try:
        value = json.loads(ledger.head_path.read_bytes())
    except FileNotFoundError:
        return None  # no head file yet: the ledger is empty
    except ValueError as err:
        raise GateError(
            f"{ledger.head_path}: unreadable ({err}); the ledger was tampered with"
        ) from err
    return value if isinstance(value, dict) else {}


def _check_head(ledger: Ledger, entries: Sequence[Entry]) -> str:
    head = _head(ledger)
    hashes = [GENESIS, *(entry.hash for entry in entries)]
    if head is None and not entries:
        return ""
    if head is None:
        raise GateError(f"{ledger.head_path} is missing: entries may have been cut off the end")
    if head.get("seq") == len(entries) and head.get("hash") == hashes[-1]:
        return ""
    if len(entries) >= 1 and head.get("seq") == len(entries) - 1 and head.get("hash") == hashes[-2]:
        return "the last append was interrupted before the head record was updated"
    raise GateError(
        f"{ledger.path}: the head record names entry {head.get('seq')} but the file ends at "
        f"entry {len(entries)}: entries were cut off the end or the head was edited"
    )


def verify_chain(ledger: Ledger) -> ChainReport:
    """Check every link of `ledger`; raise GateError naming the first broken line."""
    entries = read_entries(ledger)
    prev = GENESIS
    for number, entry in enumerate(entries, 1):
        problem = _problem(entry, number, prev)
        if problem:
            raise GateError(f"{ledger.path}:{number}: {problem}; the ledger was tampered with")
        prev = entry.hash
    return ChainReport(tuple(entries), _check_head(ledger, entries))
