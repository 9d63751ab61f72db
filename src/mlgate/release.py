"""mlgate's release API: approve, deploy, roll back and read the history of an environment.

The `mlgate approve|deploy|rollback|releases|ledger` commands are thin shells over these
functions; a notebook or a script gets the same gates, lock, recovery and records:

    from mlgate import release

    staging = release.settings("staging", by="alice")         # [tool.mlgate] of ./pyproject.toml
    release.approve(staging, "dist/iris-1.0.0.mlpkg")
    done = release.deploy(staging._replace(by="ci"), "dist/iris-1.0.0.mlpkg")
    print(done.deployment, done.endpoint)
    release.rollback(staging)                                  # to the last release verified good

Every function returns a value and raises an `mlgate.errors.MlgateError`: `GateError` when a
gate refuses (missing approval, failed verification, busy environment; the CLI exits 1),
`ConfigError`/`UsageError`/`PackageError` for bad input (exit 2). Messages say what to do.
Side effects come from `settings.effects` (`mlgate.pipelines.stage.Effects`): tests hand in
fake targets, clocks and processes there, as twine's tests hand in a stub repository.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from mlgate.errors import ConfigError, GateError, UsageError
from mlgate.pipelines import history
from mlgate.pipelines.approvals import Request, approval_message, missing, recorded
from mlgate.pipelines.approvals import approve as approve_record
from mlgate.pipelines.builds import verified_builder
from mlgate.pipelines.choice import Choice, choose
from mlgate.pipelines.deploy import Outcome
from mlgate.pipelines.deploy import deploy as deploy_stage
from mlgate.pipelines.environments import duration, release_config
from mlgate.pipelines.history import Release, short
from mlgate.pipelines.ledger import (
    ChainReport,
    Entry,
    Record,
    read_entries,
    refuse_stripped,
    signed_by_writer,
    verify_chain,
)
from mlgate.pipelines.lock import env_lock, held
from mlgate.pipelines.package import Package, read_package
from mlgate.pipelines.rollback import Restored, Undo, interrupted, recovery, serving_digest
from mlgate.pipelines.rollback import rollback as rollback_stage
from mlgate.pipelines.signing import APPROVAL, sign, verify
from mlgate.pipelines.stage import Effects, Settings, Stage, holder, open_stage, record

__all__ = [
    "Choice",
    "Deployed",
    "Effects",
    "History",
    "Release",
    "Restored",
    "Settings",
    "approve",
    "deploy",
    "recover",
    "releases",
    "rollback",
    "seal_ledger",
    "settings",
    "verify_ledger",
]


class Deployed(NamedTuple):
    """A deploy that left its package serving: the deployment's ledger number (0 when the
    package already served), its digest, the endpoint, and the recovery of an interrupted
    deployment that ran first (None when there was none)."""

    deployment: int
    digest: str
    endpoint: str
    recovered: Restored | None


class History(NamedTuple):
    """An environment's releases, oldest first, and the last one when it was interrupted (its
    process died; None while a live process still runs it)."""

    releases: list[Release]
    interrupted: Release | None


def settings(
    env: str,
    config: str | Path | None = None,
    by: str | None = None,
    environ: Mapping[str, str] | None = None,
    effects: Effects | None = None,
) -> Settings:
    """Settings for `env` from `config` (default: the nearest pyproject.toml) and `environ`
    (default: os.environ, for MLGATE_LEDGER_KEY, MLGATE_LEDGER_DIR, MLGATE_STATE_DIR)."""
    variables = dict(os.environ if environ is None else environ)
    path = Path(config) if config is not None else None
    loaded = release_config(path, variables)
    return Settings(loaded, env, by, variables, effects or Effects())


@contextmanager
def _locked(stage: Stage, command: str) -> Iterator[None]:
    with env_lock(stage.ledger.path.parent, stage.env.name, holder(stage, command)):
        yield


def signature_check(env: str, allowed: Path | None) -> Callable[[Entry], str] | None:
    """What tells a signed approval's key fingerprint ("" when the signature does not verify
    against `allowed`); None when the project lists no allowed signers."""
    if allowed is None:
        return None

    def check(entry: Entry) -> str:
        message = approval_message(env, entry.by, entry.digest, entry.data)
        return verify(allowed, entry.by, APPROVAL, message, str(entry.data["signature"]))

    return check


def check_gates(stage: Stage, package: Package, allowed: Path | None = None) -> None:
    """Refuse an unscanned package, a tampered ledger, or missing approvals (signed with a key
    `allowed` lists, where the policy says so)."""
    if package.manifest.scan.verdict != "safe":
        raise GateError(f"{package.path}: scan verdict is {package.manifest.scan.verdict!r}")
    entries = verify_chain(stage.ledger).entries
    now = stage.clock.now()
    builder = verified_builder(package, allowed, stage.env.approval.signed_builds)
    check = signature_check(stage.env.name, allowed)
    lacking = missing(stage.env, recorded(entries, package.digest, check), builder, now)
    if lacking:
        raise GateError(
            f"{package.digest} is not approved for {stage.env.name!r}: {lacking}; run "
            f"`mlgate approve {package.path} --env {stage.env.name} --by NAME`"
        )


def approve(
    settings: Settings,
    package: str | Path,
    expires: str | float | None = None,
    note: str = "",
    key: str | Path | None = None,
) -> Entry:
    """Record `settings.by`'s approval of the package for the environment; return the entry.

    `expires` (a duration such as "2h") may only shorten the policy's lifetime. With `key` (the
    approver's private SSH key) the approval is signed, and refused unless the project's
    allowed_signers lists that key for `settings.by`.
    """
    stage = open_stage(settings, str(package))
    found = read_package(Path(package))
    manifest = found.manifest
    lifetime = None if expires is None else duration("--expires", expires)
    name = f"{manifest.name} {manifest.version}"
    allowed = settings.config.allowed_signers
    builder = verified_builder(found, allowed, stage.env.approval.signed_builds).name
    request = Request(stage.by, found.digest, builder, name, note)
    made = approve_record(stage.env, request, stage.clock.now(), lifetime)
    data = _signed(settings, stage, made, key)
    return record(stage, made.kind, made.digest, data)


def _signed(settings: Settings, stage: Stage, made: Record, key: str | Path | None) -> Any:
    """The approval's data, with its signature when `key` is given (and checked at once)."""
    allowed = settings.config.allowed_signers
    if key is None and stage.env.approval.signed:
        raise UsageError(
            f"{stage.env.name!r} counts only signed approvals: pass --sign-with with the path "
            "of your SSH private key (the one allowed_signers lists for you)"
        )
    if key is None:
        return made.data
    return _signature(made, stage.env.name, Path(key), allowed)


def _signature(made: Record, env: str, key: Path, allowed: Path | None) -> Any:
    if allowed is None:
        raise ConfigError(
            "signing an approval needs [tool.mlgate.ledger] allowed-signers, the file listing "
            "each approver's public SSH key"
        )
    message = approval_message(env, made.by, made.digest, made.data)
    signature = sign(key, APPROVAL, message)
    if not verify(allowed, made.by, APPROVAL, message, signature):
        raise UsageError(
            f"{key} does not sign as {made.by!r}: {allowed} must list `{made.by} <its public "
            "key>`; --by must be your own principal"
        )
    return {**made.data, "signature": signature}


def _recover(stage: Stage) -> Restored | None:
    """Roll back from an interrupted deployment, if the last one is; tell `stage.warn` first."""
    stuck = interrupted(stage, history.releases(read_entries(stage.ledger)))
    if stuck is None:
        return None
    note = history.describe_interrupted(stuck, stage.env.name)
    stage.warn(f"{note}; rolling back to where it started")
    return rollback_stage(stage, recovery(stuck))


def _what_serves(stage: Stage) -> str:
    digest = serving_digest(stage)
    return f"{short(digest)} serves {stage.env.name!r}" if digest else "nothing serves"


def _rollback_failed(stage: Stage, undo: Undo, err: GateError) -> str:
    env = stage.env.name
    if undo.to and serving_digest(stage) == undo.to:
        return f"rolling back failed too: {err}; {short(undo.to)} still serves {env!r}"
    again = f"--to {short(undo.to)}" if undo.to else "--to DIGEST"
    return (
        f"rolling back failed too: {err}; {_what_serves(stage)}; run "
        f"`mlgate rollback --env {env} {again}` once the target is fixed"
    )


def _undo_failed(stage: Stage, undo: Undo, failed: str) -> GateError:
    """Roll back after `failed`; the GateError that says how it ended and what serves."""
    try:
        restored = rollback_stage(stage, undo)
    except GateError as err:
        return GateError(f"{failed}; and {_rollback_failed(stage, undo, err)}")
    back = short(undo.to) if undo.to else "nothing (first deployment)"
    where = f"{failed}; rolled back to {back} in {restored.seconds:.2f}s"
    if restored.failure is not None:
        return GateError(
            f"{where}, which failed its verification too: {restored.failure.reason()}; "
            f"{_what_serves(stage)}; deploy a fixed release or run `mlgate rollback --env "
            f"{stage.env.name} --to DIGEST`"
        )
    return GateError(f"{where} (rollback #{restored.deployment})")


def _failed(stage: Stage, package: Package, outcome: Outcome, previous: str) -> GateError:
    assert outcome.failure is not None
    reason = outcome.failure.reason()
    failed = (
        f"deployment #{outcome.deployment} of {short(package.digest)} to {stage.env.name!r} "
        f"failed: {reason}"
    )
    return _undo_failed(stage, Undo(previous, package.digest, outcome.deployment, reason), failed)


def _interrupted(stage: Stage, signal: str) -> GateError:
    """The deployment a signal stopped, closed and rolled back to where it started."""
    found = history.releases(read_entries(stage.ledger))
    stuck = history.unfinished(found)
    if stuck is None:
        return GateError(f"interrupted by {signal}; {_what_serves(stage)}")
    reason = f"interrupted by {signal} after step '{stuck.last_step}'"
    data = {"deployment": stuck.id, "outcome": "interrupted", "reason": reason}
    record(stage, "deploy-end", stuck.digest, data)
    undo = recovery(stuck._replace(reason=reason))
    return _undo_failed(stage, undo, f"{stuck.type} #{stuck.id} was {reason}")


def _deploy(stage: Stage, package: Package, previous: str) -> Outcome:
    try:
        return deploy_stage(stage, package, previous)
    except KeyboardInterrupt as err:
        raise _interrupted(stage, "SIGINT") from err
    except SystemExit as err:  # SIGTERM, through mlgate.pipelines.runtime.exit_on_term
        raise _interrupted(stage, f"signal (exit {err.code})") from err


def deploy(settings: Settings, package: str | Path) -> Deployed:
    """Check the gates, take the lock, recover, deploy and verify `package`; a failure rolls
    back and raises GateError saying what failed and what serves."""
    stage = open_stage(settings, str(package))
    found = read_package(Path(package))
    check_gates(stage, found, settings.config.allowed_signers)
    with _locked(stage, f"mlgate deploy {package} --env {stage.env.name}"):
        recovered = _recover(stage)
        previous = serving_digest(stage)
        if previous == found.digest:
            endpoint = stage.target.resume(found.digest)
            return Deployed(0, found.digest, endpoint, recovered)
        outcome = _deploy(stage, found, previous)
        if outcome.failure is not None:
            raise _failed(stage, found, outcome, previous)
    return Deployed(outcome.deployment, found.digest, outcome.endpoint, recovered)


def _verified(stage: Stage, restored: Restored) -> Restored:
    if restored.failure is None:
        return restored
    raise GateError(
        f"rolled back {stage.env.name!r} to {short(restored.digest)} (rollback "
        f"#{restored.deployment}), but it failed its verification: {restored.failure.reason()}; "
        f"{_what_serves(stage)}; roll back further with `mlgate rollback --env "
        f"{stage.env.name} --to DIGEST` or deploy a fixed release"
    )


def recover(settings: Settings) -> Restored | None:
    """Roll back from the last deployment if its process died before its end; None when it
    finished. Raises GateError when what was restored fails its verification."""
    stage = open_stage(settings)
    with _locked(stage, f"mlgate rollback --env {stage.env.name} --if-interrupted"):
        restored = _recover(stage)
    return None if restored is None else _verified(stage, restored)


def rollback(settings: Settings, choice: Choice | None = None) -> Restored:
    """Recover an interrupted deployment, or restore the release `choice` names (by default the
    most recent one before the current that stands verified). The restored release is verified
    like a candidate; GateError says what serves when it fails."""
    stage = open_stage(settings)
    with _locked(stage, f"mlgate rollback --env {stage.env.name}"):
        restored = _recover(stage)
        if restored is None:
            found = history.releases(read_entries(stage.ledger))
            asked = choice or Choice()
            undo = choose(found, serving_digest(stage), asked, stage.env.name)
            restored = rollback_stage(stage, undo)
    return _verified(stage, restored)


def releases(settings: Settings) -> History:
    """The environment's history from its ledger."""
    config = settings.config
    env = config.environment(settings.env)
    found = history.releases(read_entries(config.ledger(env.name)))
    stuck = history.unfinished(found)
    alive = stuck is not None and held(config.ledger_dir, env.name)
    return History(found, None if alive else stuck)


def verify_ledger(settings: Settings) -> ChainReport:
    """Check the environment's ledger; GateError names the first broken line."""
    config = settings.config
    return verify_chain(config.ledger(config.environment(settings.env).name))


def seal_ledger(settings: Settings) -> Entry | None:
    """Sign a ledger that predates the ledger key, as it stands: verify its chain and append a
    `seal` entry (None when there is nothing to seal)."""
    stage = open_stage(settings)
    ssh = stage.ledger.ssh
    if stage.ledger.key is None and (ssh is None or ssh.key is None):
        variable = (
            "MLGATE_LEDGER_SSH_KEY" if ssh is not None and ssh.required else "MLGATE_LEDGER_KEY"
        )
        raise UsageError(
            f"mlgate ledger seal signs with the ledger key: set {variable} to it first"
        )
    entries = verify_chain(stage.ledger, sealing=True).entries
    refuse_stripped(stage.ledger, entries)
    if not entries or signed_by_writer(stage.ledger, entries[-1]):
        return None
    # verify_chain refuses an unsigned entry after a signed one: none of them is signed
    return record(stage, "seal", "", {"entries": f"1-{len(entries)}", "count": len(entries)})
