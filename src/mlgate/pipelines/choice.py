"""Which release a manual rollback restores, decided from the ledger and what the target serves.

By default: the most recent release, other than the one serving, whose digest still stands
verified (`mlgate.pipelines.history.standing`): never one that failed its checks, was rolled back
or was interrupted. `--to DIGEST` names one; a release that failed (or was interrupted, or never
finished) is refused unless `--force`. The rollback undoes the latest deployment that switched
traffic to what serves now.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from mlgate.errors import GateError, UsageError
from mlgate.pipelines.history import VERIFIED, Release, last_good, serving, short, standing
from mlgate.pipelines.rollback import Undo


class Choice(NamedTuple):
    """What a manual rollback asks for: a digest or prefix (None: the last good release),
    whether a failed release may be restored, and the reason recorded."""

    to: str | None = None
    force: bool = False
    reason: str = "manual rollback"


def resolve(prefix: str, history: Sequence[Release]) -> str:
    """The one digest in `history` that starts with `prefix` (with or without "sha256:")."""
    wanted = prefix if prefix.startswith("sha256:") else f"sha256:{prefix}"
    found = sorted({r.digest for r in history if r.digest and r.digest.startswith(wanted)})
    if len(found) != 1:
        state = "matches no release" if not found else f"is ambiguous ({len(found)} releases)"
        raise UsageError(f"--to {prefix} {state}; see `mlgate releases`")
    return found[0]


def _asked(history: Sequence[Release], choice: Choice) -> str:
    assert choice.to is not None
    digest = resolve(choice.to, history)
    status = standing(history, digest)
    if status not in (VERIFIED, "rolled back") and not choice.force:
        raise GateError(
            f"{short(digest)} stands {status} in the ledger (see `mlgate releases`): restoring "
            "it would put a release back that did not pass; add --force to restore it anyway"
        )
    return digest


def _last_good(history: Sequence[Release], current: str, env: str) -> str:
    good = last_good(history, current)
    if good is not None:
        return good.digest
    others = sorted({r.digest for r in history if r.digest not in ("", current)})
    if not others:
        raise GateError(
            f"{short(current)} serving {env!r} has no earlier release; pass --to DIGEST"
        )
    stood = ", ".join(f"{short(digest)} {standing(history, digest)}" for digest in others)
    raise GateError(
        f"no release of {env!r} before {short(current)} stands verified ({stood}); "
        "pass --to DIGEST (with --force for a failed one)"
    )


def _undone(history: Sequence[Release], current: str) -> int | None:
    switched = [r.id for r in history if r.switched and r.digest == current]
    return switched[-1] if switched else None


def choose(history: Sequence[Release], current: str, choice: Choice, env: str) -> Undo:
    """The rollback `choice` asks for, in place of `current` (the digest that serves)."""
    if not current and serving(history) is None:
        raise GateError(f"nothing was deployed to {env!r}: nothing to roll back")
    if not current and not choice.to:
        raise GateError(
            f"nothing serves {env!r}: nothing to roll back; pass --to DIGEST to restore a release"
        )
    target = _asked(history, choice) if choice.to else _last_good(history, current, env)
    if target == current:
        raise GateError(f"{short(target)} already serves {env!r}")
    return Undo(target, current, _undone(history, current), choice.reason)
