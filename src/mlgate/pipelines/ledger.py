"""The release ledger: one append-only JSON-lines file per environment, chained by hash.

Each line is one entry with sorted keys `at`, `by`, `data`, `digest`, `hash`, `kind`, `prev`,
`seq`, and `env`, the ledger's name (its environment; entries written before ledgers named
themselves lack it, and are accepted only before the first entry that has it). `hash` is
"sha256:" + the SHA-256 of the canonical JSON of the other fields and `prev` is the hash of the
entry before it (`GENESIS` for the first), so editing, deleting or reordering an entry breaks
the chain. `<env>.head` records the last entry's `seq` and `hash` (and the ledger's name), which
catches entries cut off the end. An entry or head naming another ledger is refused: another
environment's ledger copied over this one. An append holds an exclusive `flock` on the file,
reads the last entry, writes the new line with one `write` on an `O_APPEND` descriptor, fsyncs
the file (and the folder when the file is new), then replaces the head file atomically. A last
line without its newline is an interrupted write: it is reported, never silently continued.

With a ledger key (MLGATE_LEDGER_KEY), every entry also gets `sig`, an HMAC-SHA256 of its hash
under the key, and so does the head record: rewriting the chain then needs the key, not just
write access to the files. A key holder never signs on top of an unsigned entry: a ledger that
predates the key is signed as it stands, once, by a `seal` entry (`mlgate ledger seal`). With a
key, verification requires every entry from the first signed one on, the last entry and the
head to carry valid signatures.

Signed with SSH keys instead (`[tool.mlgate.ledger] ssh-signed = true`, the writer's private key
in MLGATE_LEDGER_SSH_KEY), `sig` is `ssh:` + the signer's principal + a newline + the armored
`ssh-keygen -Y sign` signature of the entry's hash (namespace `mlgate-ledger`), and the head
record is signed the same way (verification checks the last entry's signature, whose hash
covers the whole chain, and the head's). Verifying needs only the public keys of the committed
`allowed_signers` file: whoever can check the ledger cannot sign it. Only the principals named
in `[tool.mlgate.ledger] writers` may sign (never an approver, whose key the same file lists),
and an `ssh:` signature nobody is configured to check is refused, never skipped. From the first
SSH-signed entry on every entry must be SSH-signed, and with `ssh-signed = true` the last one
must be; an older ledger (unsigned or HMAC-signed) is sealed once with `mlgate ledger seal`,
which refuses a ledger whose signatures were stripped (`refuse_stripped`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from mlgate.errors import GateError
from mlgate.pipelines import signing
from mlgate.pipelines.ledger_branch import publish_appended

GENESIS = "sha256:" + "0" * 64
SSH = "ssh:"
KINDS = frozenset({"approval", "deploy-end", "deploy-start", "intent", "promote", "seal", "verify"})
SIGNATURE = "hmac-sha256:"


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
    sig: str = ""
    env: str = ""

    def body(self) -> dict[str, Any]:
        """The fields the hash covers (`env` only when the entry names its ledger)."""
        fields = self._asdict()
        del fields["hash"], fields["sig"]
        if not self.env:
            del fields["env"]
        return fields

    def line(self) -> bytes:
        """The entry as written: canonical JSON, `sig` only when signed, `env` when named."""
        fields = self._asdict()
        for name in ("sig", "env"):
            if not fields[name]:
                del fields[name]
        return canonical(fields)


class SshKeys(NamedTuple):
    """SSH signing of a ledger: the allowed_signers file, the writer's private key (None for a
    reader), whether the ledger must be SSH-signed, and the principals that may sign it (an
    approver's key in the same allowed_signers file never signs the ledger)."""

    allowed: Path
    key: Path | None = None
    required: bool = False
    writers: tuple[str, ...] = ()


class Ledger(NamedTuple):
    """The ledger file of one environment, the key that signs it, whether writing needs one,
    and its SSH signing (None: none configured)."""

    path: Path
    key: bytes | None = None
    signed: bool = False
    ssh: SshKeys | None = None

    @property
    def head_path(self) -> Path:
        """The sidecar recording the last entry."""
        return self.path.with_suffix(".head")

    @property
    def name(self) -> str:
        """The ledger's id, its environment: written into every entry and the head record."""
        return self.path.stem


class ChainReport(NamedTuple):
    """A verified ledger: its entries and anything worth telling that is not tampering."""

    entries: tuple[Entry, ...]
    note: str


def ledger_for(directory: Path, env: str, key: bytes | None = None, signed: bool = False) -> Ledger:
    """The ledger of environment `env` under `directory`, signed with `key` when given."""
    return Ledger(directory / f"{env}.jsonl", key, signed)


def _is_ssh(sig: object) -> bool:
    return isinstance(sig, str) and sig.startswith(SSH)


def _ssh_sign(ssh: SshKeys, message: bytes) -> str:
    assert ssh.key is not None
    signature = signing.sign(ssh.key, signing.LEDGER, message)
    names = signing.principals(ssh.allowed, signing.LEDGER, signature)
    who = next((name for name in names if name in ssh.writers), "")
    if not who:
        listed = f"it signs as {', '.join(names)}" if names else f"it is not in {ssh.allowed}"
        raise GateError(
            f"{ssh.key} may not sign the ledger ({listed}; ledger writers: "
            f"{', '.join(ssh.writers) or 'none'}): give this job a writer's key, listed in "
            "allowed_signers under a name in [tool.mlgate.ledger] writers"
        )
    return f"{SSH}{who}\n{signature}"


def _ssh_signed(ssh: SshKeys, message: bytes, sig: str) -> bool:
    """Whether `sig` verifies and was made by a ledger writer, not merely an allowed signer."""
    who, _, signature = sig.removeprefix(SSH).partition("\n")
    if who not in ssh.writers:
        return False
    return bool(signing.verify(ssh.allowed, who, signing.LEDGER, message, signature))


def _writer_signs(ledger: Ledger) -> bool:
    return ledger.key is not None or (ledger.ssh is not None and ledger.ssh.key is not None)


def signed_by_writer(ledger: Ledger, entry: Entry) -> bool:
    """Whether `entry` carries the kind of signature this ledger's writer makes."""
    if ledger.ssh is not None and ledger.ssh.key is not None:
        return _is_ssh(entry.sig)
    return bool(entry.sig) and not _is_ssh(entry.sig)


def _signature(ledger: Ledger, message: bytes) -> str:
    """The writer's signature of `message`: SSH when it has an SSH key, else HMAC, else ""."""
    if ledger.ssh is not None and ledger.ssh.key is not None:
        return _ssh_sign(ledger.ssh, message)
    return sign(ledger.key, message) if ledger.key is not None else ""


def sign(key: bytes, message: bytes) -> str:
    """The signature of `message` under the ledger key."""
    return SIGNATURE + hmac.new(key, message, hashlib.sha256).hexdigest()


def _signed_by(key: bytes, message: bytes, sig: object) -> bool:
    return isinstance(sig, str) and hmac.compare_digest(sign(key, message), sig)


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
    if not _well_typed(entry):
        raise GateError(f"{where}: malformed ledger entry; restore the ledger from backup")
    return entry


_TEXT_FIELDS = ("kind", "at", "by", "digest", "prev", "hash", "sig", "env")


def _well_typed(entry: Entry) -> bool:
    """Whether every field has the type `append` writes (a bool is not a sequence number)."""
    texts = all(isinstance(getattr(entry, name), str) for name in _TEXT_FIELDS)
    number = isinstance(entry.seq, int) and not isinstance(entry.seq, bool)
    return texts and number and isinstance(entry.data, Mapping)


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
    if ledger.signed and ledger.key is None:
        raise GateError(
            f"{ledger.path}: this project signs its ledger ([tool.mlgate.ledger] signed = true) "
            "and MLGATE_LEDGER_KEY is not set; give this job the ledger key"
        )
    if ledger.ssh is not None and ledger.ssh.required and ledger.ssh.key is None:
        raise GateError(
            f"{ledger.path}: this project signs its ledger with SSH keys ([tool.mlgate.ledger] "
            "ssh-signed = true) and MLGATE_LEDGER_SSH_KEY is not set; give this job its key"
        )
    with _locked(ledger.path) as (fd, created):
        entry = _next_entry(ledger, record, at)
        os.write(fd, entry.line() + b"\n")
        os.fsync(fd)
        if created:
            fsync_dir(ledger.path.parent)
        write_atomic(ledger.head_path, canonical(_head_record(ledger, entry)))
    return _published(ledger.path.parent, entry)


def _published(folder: Path, entry: Entry) -> Entry:
    """`entry`, once a ledger-branch clone in `folder` that publishes each entry pushed it."""
    publish_appended(folder)
    return entry


def _next_entry(ledger: Ledger, record: Record, at: str) -> Entry:
    """`record` sealed (and signed, with a key) as the entry after the ledger's last one."""
    last = _last(ledger.path)
    _refuse_unsigned_tail(ledger, last, record.kind)
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    body = {**record._asdict(), "at": at, "seq": seq, "prev": prev, "env": ledger.name}
    digest = seal(body)
    return Entry(**body, hash=digest, sig=_signature(ledger, digest.encode()))


def _refuse_unsigned_tail(ledger: Ledger, last: Entry | None, kind: str) -> None:
    """A key holder signs on top of an unsigned entry only through a `seal` entry."""
    if _writer_signs(ledger) and last is not None and not last.sig and kind != "seal":
        raise GateError(_unsigned_message(ledger, last.seq))


def _unsigned_message(ledger: Ledger, seq: int) -> str:
    return (
        f"{ledger.path}: entry {seq}, the last one, is not signed with the ledger key; if the "
        f"entries are genuine, sign the ledger as it stands with "
        f"`mlgate ledger seal --env {ledger.path.stem}`"
    )


def _head_record(ledger: Ledger, entry: Entry) -> dict[str, Any]:
    head: dict[str, Any] = {"env": ledger.name, "hash": entry.hash, "seq": entry.seq}
    if _writer_signs(ledger):
        head["sig"] = _signature(ledger, head_message(head))
    return head


def head_message(head: Mapping[str, Any]) -> bytes:
    """What a head record's signature covers: its hash, seq and (when it names one) ledger."""
    fields = {"hash": head.get("hash"), "seq": head.get("seq")}
    if "env" in head:
        fields["env"] = head["env"]
    return canonical(fields)


def _problem(entry: Entry, number: int, prev: str, ledger: Ledger, last: bool) -> str:
    key = ledger.key
    if entry.seq != number:
        return f"entry has seq {entry.seq} where {number} was expected (entries deleted or moved)"
    if entry.prev != prev:
        return "entry does not chain to the one before it (entries deleted or moved)"
    if seal(entry.body()) != entry.hash:
        return "entry does not match its hash (edited after it was written)"
    if _is_ssh(entry.sig):
        return _ssh_problem(ledger, entry, last)
    if key is not None and entry.sig and not _signed_by(key, entry.hash.encode(), entry.sig):
        return "entry's signature is not the ledger key's (forged, or signed with another key)"
    return ""


def _ssh_problem(ledger: Ledger, entry: Entry, last: bool) -> str:
    """An SSH signature nobody can check is refused, never taken on trust."""
    if ledger.ssh is None:
        return (
            "entry carries an SSH signature but no allowed-signers is configured to check it "
            "(forged, or set [tool.mlgate.ledger] allowed-signers and writers)"
        )
    # the last entry's hash covers every entry before it, and an SSH-signed entry is
    # followed only by SSH-signed ones: checking the last one (one ssh-keygen) is enough
    if not last or _ssh_signed(ledger.ssh, entry.hash.encode(), entry.sig):
        return ""
    return (
        "entry's SSH signature does not verify against the allowed signers as a ledger writer "
        "(forged, edited, or made by a key that may not sign the ledger)"
    )


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
    _check_head_ledger(ledger, head)
    _check_head_signature(ledger, head, entries)
    if head.get("seq") == len(entries) and head.get("hash") == hashes[-1]:
        return ""
    if len(entries) >= 1 and head.get("seq") == len(entries) - 1 and head.get("hash") == hashes[-2]:
        return "the last append was interrupted before the head record was updated"
    raise GateError(
        f"{ledger.path}: the head record names entry {head.get('seq')} but the file ends at "
        f"entry {len(entries)}: entries were cut off the end or the head was edited"
    )


def _check_head_ledger(ledger: Ledger, head: Mapping[str, Any]) -> None:
    """A head that names a ledger names this one (the entries' hashes cover their own names)."""
    named = head.get("env", ledger.name)
    if named != ledger.name:
        raise GateError(
            f"{ledger.head_path}: the head record names the {named!r} ledger, not "
            f"{ledger.name!r}; the ledger was tampered with (copied from another environment?)"
        )


def _check_head_signature(
    ledger: Ledger, head: Mapping[str, Any], entries: Sequence[Entry]
) -> None:
    """A head is signed when the entries it could name are (an interrupted append included),
    and signed right: by the ledger key, or SSH-signed by a ledger writer."""
    seq = head.get("seq")
    named = entries[seq - 1] if isinstance(seq, int) and 0 < seq <= len(entries) else None
    sig = head.get("sig")
    tail = (*entries[-1:], *([named] if named else []))
    if _is_ssh(sig) or any(_is_ssh(entry.sig) for entry in tail):
        _check_ssh_head(ledger, head)
        return
    if ledger.key is None or not (sig or any(entry.sig for entry in tail)):
        return
    if not _signed_by(ledger.key, head_message(head), head.get("sig")):
        raise GateError(
            f"{ledger.head_path}: the head record's signature is not the ledger key's; "
            "the ledger was tampered with"
        )


def _check_ssh_head(ledger: Ledger, head: Mapping[str, Any]) -> None:
    sig = head.get("sig")
    unsigned = head_message(head)
    ssh = ledger.ssh
    if ssh is None or not (_is_ssh(sig) and _ssh_signed(ssh, unsigned, str(sig))):
        raise GateError(
            f"{ledger.head_path}: the head record is not signed by an allowed SSH key of a "
            "ledger writer; the ledger was tampered with"
        )


def verify_chain(ledger: Ledger, sealing: bool = False) -> ChainReport:
    """Check every link of `ledger`; raise GateError naming the first broken line.

    With a key, signatures are checked too; `sealing` accepts a ledger with no signed entry yet
    (the one a `seal` entry is about to sign).
    """
    entries = read_entries(ledger)
    prev = GENESIS
    for number, entry in enumerate(entries, 1):
        problem = _problem(entry, number, prev, ledger, number == len(entries))
        if problem:
            raise GateError(f"{ledger.path}:{number}: {problem}; the ledger was tampered with")
        prev = entry.hash
    _check_named(ledger, entries)
    notes = (_check_head(ledger, entries), _check_signatures(ledger, entries, sealing))
    return ChainReport(tuple(entries), "; ".join(note for note in notes if note))


def _check_named(ledger: Ledger, entries: Sequence[Entry]) -> None:
    """Every entry that names a ledger names this one; entries written before ledgers named
    themselves come only before the first that does."""
    other = next((entry for entry in entries if entry.env not in ("", ledger.name)), None)
    if other is not None:
        raise GateError(
            f"{ledger.path}:{other.seq}: entry belongs to the {other.env!r} ledger, not "
            f"{ledger.name!r} (copied over it); the ledger was tampered with"
        )
    first = next((entry.seq for entry in entries if entry.env), None)
    gap = next((e.seq for e in entries if first is not None and e.seq > first and not e.env), None)
    if gap is not None:
        raise GateError(
            f"{ledger.path}:{gap}: entry without its ledger's name after named ones; the "
            "ledger was tampered with"
        )


def _check_signatures(ledger: Ledger, entries: Sequence[Entry], sealing: bool) -> str:
    """A note when signatures cannot be checked; GateError when signing has gaps."""
    _check_ssh_coverage(ledger, entries, sealing)
    if ledger.key is None:
        hmac_signed = any(entry.sig and not _is_ssh(entry.sig) for entry in entries)
        signed = ledger.signed or hmac_signed
        return "signatures not checked: MLGATE_LEDGER_KEY is not set" if signed else ""
    first = next((entry.seq for entry in entries if entry.sig), None)
    gap = next((e.seq for e in entries if first is not None and e.seq > first and not e.sig), None)
    if gap is not None:
        raise GateError(
            f"{ledger.path}:{gap}: entry without a signature after signed ones; "
            "the ledger was tampered with"
        )
    if entries and not entries[-1].sig and not sealing:
        raise GateError(_unsigned_message(ledger, entries[-1].seq))
    return ""


def _check_ssh_coverage(ledger: Ledger, entries: Sequence[Entry], sealing: bool) -> None:
    """From the first SSH-signed entry on, all are; with `ssh-signed`, the last one is."""
    signed = [entry.seq for entry in entries if _is_ssh(entry.sig)]
    if ledger.ssh is None:
        return  # an SSH-signed entry without allowed-signers was refused entry by entry
    gap = next(
        (e.seq for e in entries if signed and e.seq > signed[0] and not _is_ssh(e.sig)), None
    )
    if gap is not None:
        raise GateError(
            f"{ledger.path}:{gap}: entry without an SSH signature after SSH-signed ones; the "
            "ledger was tampered with"
        )
    if ledger.ssh.required and entries and not _is_ssh(entries[-1].sig) and not sealing:
        raise GateError(
            f"{ledger.path}: entry {entries[-1].seq}, the last one, is not signed with an "
            "allowed SSH key; if the entries are genuine, sign the ledger as it stands with "
            f"`mlgate ledger seal --env {ledger.path.stem}` and MLGATE_LEDGER_SSH_KEY set"
        )


def refuse_stripped(ledger: Ledger, entries: Sequence[Entry]) -> None:
    """A seal signs a ledger that predates its key, never one whose signatures were removed:
    a `seal` entry without its signature, or a signed head over an unsigned last entry."""
    head = _head(ledger) or {}
    seals = [entry.seq for entry in entries if entry.kind == "seal" and not entry.sig]
    if seals:
        problem = f"entry {seals[0]}, a seal, has lost its signature"
    elif head.get("sig") and entries and not entries[-1].sig:
        problem = f"the head record is signed but entry {entries[-1].seq}, the last, is not"
    else:
        return
    raise GateError(
        f"{ledger.path}: {problem}: signatures were stripped, and sealing would sign edited "
        "history; restore the ledger from its backup or ledger branch"
    )
