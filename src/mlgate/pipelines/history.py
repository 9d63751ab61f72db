"""Releases as read back from the ledger, and how `mlgate releases` shows them.

A deployment is a `deploy-start` entry (its `seq` is the deployment's number), the `verify` and
`promote` entries that name it, and the `deploy-end` entry that closes it. A rollback is a
deployment of type "rollback" whose `undoes` names the deployment it undid, as AWS CodeDeploy
records it. A deployment without a `deploy-end` did not finish: either it is still running or its
process died.

Each release also has a `status`, derived from the ledger alone: `verified` (it ended succeeded
and nothing undid it), `failed` (a check failed, or the rollback that restored it failed its
verification), `rolled back` (it succeeded, then a rollback undid it), `interrupted` (its process
died) or `unfinished`. A digest's standing is the status of its latest release: `mlgate rollback`
goes back only to a digest whose standing is `verified`. What serves, as the ledger knows it, is
the digest of the last release that switched traffic (`promote`); a write-ahead `intent` entry
without its `promote` means the target may serve either the release or the one it replaced.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from mlgate.pipelines.ledger import Entry

UNFINISHED = "unfinished"
SUCCEEDED = "succeeded"
VERIFIED = "verified"
FAILED = "failed"
ROLLED_BACK = "rolled back"
INTERRUPTED = "interrupted"


class Release(NamedTuple):
    """One deployment (or rollback) of a package digest to an environment."""

    id: int
    type: str
    digest: str
    previous: str
    by: str
    started: str
    ended: str
    outcome: str
    reason: str
    undoes: int | None
    undone_by: int | None
    package: str
    last_step: str
    switched: bool = False
    intent: bool = False
    status: str = UNFINISHED


def _package(releases: dict[int, Release], entry: Entry) -> str:
    """The package name of the entry, or of an earlier deployment of the same digest."""
    known = (r.package for r in releases.values() if r.digest == entry.digest and r.package)
    return str(entry.data.get("package") or next(known, ""))


def _start(releases: dict[int, Release], entry: Entry) -> None:
    data = entry.data
    releases[entry.seq] = Release(
        id=entry.seq,
        type=str(data.get("type", "deploy")),
        digest=entry.digest,
        previous=str(data.get("previous") or ""),
        by=entry.by,
        started=entry.at,
        ended="",
        outcome=UNFINISHED,
        reason=str(data.get("reason", "")),
        undoes=data.get("undoes"),
        undone_by=None,
        package=_package(releases, entry),
        last_step="started",
    )


def _update(releases: dict[int, Release], entry: Entry, **changes: Any) -> None:
    release = releases.get(entry.data.get("deployment", -1))
    if release is not None:
        releases[release.id] = release._replace(**changes)


def _end(releases: dict[int, Release], entry: Entry) -> None:
    reason = str(entry.data.get("reason", ""))
    outcome = str(entry.data.get("outcome", ""))
    _update(releases, entry, ended=entry.at, outcome=outcome, reason=reason, last_step="ended")


def _verify(releases: dict[int, Release], entry: Entry) -> None:
    data = entry.data
    verdict = "passed" if data.get("passed") else "failed"
    _update(releases, entry, last_step=f"{data.get('phase')} check {data.get('check')} {verdict}")


def _promote(releases: dict[int, Release], entry: Entry) -> None:
    _update(releases, entry, last_step="traffic switched", switched=True)


def _intent(releases: dict[int, Release], entry: Entry) -> None:
    _update(releases, entry, last_step="about to switch traffic", intent=True)


_APPLY: Mapping[str, Callable[[dict[int, Release], Entry], None]] = {
    "deploy-end": _end,
    "deploy-start": _start,
    "intent": _intent,
    "promote": _promote,
    "verify": _verify,
}


def status(release: Release) -> str:
    """Verified, failed, rolled back, interrupted or unfinished, as the ledger tells."""
    if release.outcome in (UNFINISHED, INTERRUPTED):
        return release.outcome
    if release.outcome != SUCCEEDED:
        return FAILED
    return ROLLED_BACK if release.undone_by is not None else VERIFIED


def _settled(release: Release, undone_by: int | None) -> Release:
    """`release` with what later entries tell: who undid it, its status, whether it switched."""
    # rollbacks recorded before `promote` was written for them switched when they succeeded
    old_rollback = release.type == "rollback" and release.outcome == SUCCEEDED
    settled = release._replace(undone_by=undone_by, switched=release.switched or old_rollback)
    return settled._replace(status=status(settled))


def releases(entries: Iterable[Entry]) -> list[Release]:
    """Every deployment recorded in `entries`, oldest first."""
    found: dict[int, Release] = {}
    for entry in entries:
        apply = _APPLY.get(entry.kind)
        if apply is not None:
            apply(found, entry)
    undone = {release.undoes: release.id for release in found.values() if release.undoes}
    return [_settled(release, undone.get(release.id)) for release in found.values()]


def serving(history: Sequence[Release]) -> Release | None:
    """The deployment whose release the environment serves, as the ledger tells: the last one
    that switched traffic to its release (None: nothing ever did)."""
    done = [release for release in history if release.switched]
    return done[-1] if done else None


def standing(history: Sequence[Release], digest: str) -> str:
    """The status of the latest release of `digest` ("" when it was never released)."""
    found = [release.status for release in history if release.digest == digest]
    return found[-1] if found else ""


def last_good(history: Sequence[Release], current: str) -> Release | None:
    """The most recent release other than `current` whose digest still stands verified."""
    for release in reversed(history):
        if release.digest not in ("", current) and standing(history, release.digest) == VERIFIED:
            return release
    return None


def unfinished(history: Sequence[Release]) -> Release | None:
    """The last deployment when it never recorded its end."""
    return history[-1] if history and history[-1].outcome == UNFINISHED else None


def short(digest: str) -> str:
    """A digest cut to 12 hex digits for tables."""
    return digest.removeprefix("sha256:")[:12] if digest else "-"


def describe_interrupted(release: Release, env: str) -> str:
    """One line about a deployment whose process died before recording its end."""
    return (
        f"{release.type} #{release.id} of {short(release.digest)} to {env!r} was interrupted "
        f"(last step: {release.last_step})"
    )


def _note(release: Release) -> str:
    parts = [
        f"undoes #{release.undoes}" if release.undoes else "",
        f"rolled back by #{release.undone_by}" if release.undone_by else "",
        release.reason,
        f"last step: {release.last_step}" if release.outcome == UNFINISHED else "",
    ]
    return "; ".join(part for part in parts if part)


_COLUMNS = ("#", "type", "digest", "package", "by", "started", "outcome", "note")


def _row(release: Release) -> tuple[str, ...]:
    return (
        str(release.id),
        release.type,
        short(release.digest),
        release.package or "-",
        release.by,
        release.started,
        release.outcome,
        _note(release),
    )


def as_table(history: Sequence[Release]) -> str:
    """Aligned columns, newest first."""
    rows = [_COLUMNS, *(_row(release) for release in reversed(history))]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def as_markdown(history: Sequence[Release]) -> str:
    """A GitHub job-summary table, newest first."""
    rows = [_COLUMNS, ("---",) * len(_COLUMNS), *(_row(r) for r in reversed(history))]
    cells = [[cell.replace("|", "\\|") for cell in row] for row in rows]
    return "\n".join("| " + " | ".join(row) + " |" for row in cells) + "\n"


def as_json(history: Sequence[Release]) -> str:
    """Every field of every release, newest first."""
    return json.dumps([release._asdict() for release in reversed(history)], indent=2) + "\n"
