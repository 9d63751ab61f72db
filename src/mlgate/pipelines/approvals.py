"""Approvals bound to a package digest, stored in the environment's ledger.

`mlgate approve` checks the approver against the environment's policy and records an `approval`
entry for the package digest with its expiry. Before a deploy, `missing` counts the approvals
that are still valid under the policy as it is now: for this digest, not expired, by someone on
the approvers list (when there is one), by the package's builder only when self-approval is
allowed, each person and each key once. A package with a different digest (rebuilt, changed,
tampered) has no approvals at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from mlgate.errors import GateError, UsageError
from mlgate.pipelines.builds import Builder
from mlgate.pipelines.environments import ApprovalPolicy, Environment
from mlgate.pipelines.ledger import Entry, Record, canonical
from mlgate.pipelines.runtime import parse_stamp, stamp


class Approval(NamedTuple):
    """One recorded approval; `key` is the fingerprint of the SSH key whose signature on it
    verified ("" when it is unsigned or its signature does not verify)."""

    by: str
    digest: str
    expires: datetime
    key: str = ""
    at: datetime | None = None


class Request(NamedTuple):
    """Someone asking to approve a package digest for an environment."""

    by: str
    digest: str
    builder: str
    package: str
    note: str


_SIGNED_FIELDS = ("by", "digest", "env", "expires", "note", "package")
_DATA_FIELDS = frozenset({"expires", "note", "package", "signature"})


def approval_message(env: str, by: str, digest: str, data: Mapping[str, Any]) -> bytes:
    """The bytes an approval's SSH signature covers: what it grants, environment included."""
    fields = {**data, "env": env, "by": by, "digest": digest}
    return canonical({key: fields.get(key, "") for key in _SIGNED_FIELDS})


def human(seconds: float) -> str:
    """`seconds` in the largest unit that divides it: "8h", "3650d", "90s"."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def folded(name: str) -> str:
    """`name` as GitHub compares logins: case-insensitively."""
    return name.casefold()


def is_builder(name: str, builder: str) -> bool:
    """Whether `name` built the package (`builder` may be "user" or "user@host")."""
    names = {folded(builder), folded(builder.partition("@")[0])}
    return bool(builder) and folded(name) in names


def _refusal(policy: ApprovalPolicy, request: Request) -> str:
    approvers = {folded(name) for name in policy.approvers}
    if policy.approvers and folded(request.by) not in approvers:
        return f"{request.by!r} is not an approver (approvers: {', '.join(policy.approvers)})"
    if not policy.allow_self_approval and is_builder(request.by, request.builder):
        return f"{request.by!r} built this package and may not approve it (allow-self-approval)"
    return ""


def approve(env: Environment, request: Request, now: datetime, lifetime: float | None) -> Record:
    """The ledger record of `request`, or GateError when the policy refuses the approver."""
    refusal = _refusal(env.approval, request)
    if refusal:
        raise GateError(f"cannot approve for {env.name!r}: {refusal}")
    policy = env.approval.expires
    if lifetime is not None and lifetime <= 0:
        raise UsageError(f"--expires {human(lifetime)}: an approval must last longer than that")
    if lifetime is not None and lifetime > policy:
        raise UsageError(
            f"--expires {human(lifetime)} is longer than {env.name!r} allows (approval expires = "
            f"{human(policy)}); give a shorter --expires or leave it out"
        )
    seconds = policy if lifetime is None else lifetime
    expires = stamp(now + timedelta(seconds=seconds))
    data = {"expires": expires, "note": request.note, "package": request.package}
    return Record("approval", request.by, request.digest, data)


def recorded(
    entries: Iterable[Entry], digest: str, check: Callable[[Entry], str] | None = None
) -> list[Approval]:
    """The approvals of `digest` in `entries`; `check` gives a signed one's key fingerprint."""
    return [
        Approval(entry.by, entry.digest, _expiry(entry), key, _approved_at(entry))
        for entry in entries
        if entry.kind == "approval" and entry.digest == digest and _only_approval_data(entry)
        for key in [check(entry) if check and entry.data.get("signature") else ""]
    ]


def _only_approval_data(entry: Entry) -> bool:
    """True, or GateError when an approval entry carries data `mlgate approve` never writes
    (an `env` or a `digest` there would claim a grant its signature does not cover)."""
    extra = sorted(set(entry.data) - _DATA_FIELDS)
    if extra:
        raise GateError(
            f"ledger entry {entry.seq}, an approval by {entry.by!r}, carries {', '.join(extra)} "
            "in its data: `mlgate approve` did not write it; restore the ledger from backup"
        )
    return True


def _approved_at(entry: Entry) -> datetime:
    """When an approval was recorded, or GateError when `at` is not a time stamp with a zone."""
    return _stamp(entry, "at", entry.at)


def _expiry(entry: Entry) -> datetime:
    """An approval entry's expiry, or GateError when it is not a time stamp with a zone."""
    return _stamp(entry, "expires", entry.data.get("expires"))


def _stamp(entry: Entry, name: str, value: object) -> datetime:
    try:
        when = parse_stamp(value) if isinstance(value, str) else None
    except ValueError:  # not ISO 8601: refused just below, naming the entry
        when = None
    if when is None or when.tzinfo is None:
        raise GateError(
            f"ledger entry {entry.seq}, an approval by {entry.by!r}, has {name} = {value!r}, "
            "not a time stamp: `mlgate approve` did not write it; restore the ledger from backup"
        )
    return when


def _valid(policy: ApprovalPolicy, approval: Approval, builder: Builder, now: datetime) -> bool:
    request = Request(approval.by, approval.digest, builder.name, "", "")
    signed = bool(approval.key) or not policy.signed
    own = bool(builder.key) and approval.key == builder.key and not policy.allow_self_approval
    fresh = _expires(policy, approval) > now
    return signed and not own and fresh and not _refusal(policy, request)


def _expires(policy: ApprovalPolicy, approval: Approval) -> datetime:
    """When `approval` expires under the policy as it is now: never later than its recorded
    time plus the policy's lifetime, so shortening the policy shortens approvals already given."""
    if approval.at is None:
        return approval.expires
    return min(approval.expires, approval.at + timedelta(seconds=policy.expires))


def missing(
    env: Environment, approvals: Sequence[Approval], builder: Builder | str, now: datetime
) -> str:
    """What is missing before `env` may receive the package ("" when nothing is).

    `builder` is who built it: a name, or a `Builder` whose signed build gives its key, so that
    an approval signed with the builder's key is the builder's whatever its name.

    Each person counts once and each key counts once: the count is the smaller of the distinct
    approvers and the distinct keys (an unsigned approval's key is its name), so one key under
    two names is one approval and so is one approver signing with two keys.
    """
    policy = env.approval
    if not policy.required:
        return ""
    who = builder if isinstance(builder, Builder) else Builder(builder)
    good = [a for a in approvals if _valid(policy, a, who, now)]
    counted = min(len({folded(a.by) for a in good}), len({a.key or folded(a.by) for a in good}))
    if counted >= policy.min_approvals:
        return ""
    return _lacking(policy, approvals, good, counted, now)


def _lacking(
    policy: ApprovalPolicy,
    approvals: Sequence[Approval],
    good: Sequence[Approval],
    counted: int,
    now: datetime,
) -> str:
    valid = sorted({a.by for a in good})
    unsigned = sorted({a.by for a in approvals if policy.signed and not a.key} - set(valid))
    lapsed = {a.by for a in approvals if _expires(policy, a) <= now}
    expired = sorted(lapsed - set(valid) - set(unsigned))
    parts = [
        f"needs {policy.min_approvals} approval(s), has {counted}",
        f"valid: {', '.join(valid)}" if valid else "",
        f"unsigned or not signed by their key: {', '.join(unsigned)}" if unsigned else "",
        f"expired: {', '.join(expired)}" if expired else "",
        f"approvers: {', '.join(policy.approvers)}" if policy.approvers else "",
    ]
    return "; ".join(part for part in parts if part)
