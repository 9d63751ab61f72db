"""What every release stage works with, and the test hook that pauses a stage.

`Stage` bundles an environment's ledger, target, clock and actor. `record` appends to the ledger
with the stage's clock and actor. `pause_hook` reads `MLGATE_PAUSE_AT`: when a stage reaches the
step named there it prints `mlgate: paused at STEP (pid N)` on stderr and waits for a line on
stdin, so a test can SIGKILL it at an exact point (or let it go on). Steps, in order: deploy
`started`, `staged`, `verified`, `switched`, `baked`; rollback `rollback-started`, `restored`.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from mlgate.pipelines.command_target import CommandTarget, Places
from mlgate.pipelines.environments import CommandSettings, Environment, ReleaseConfig
from mlgate.pipelines.ledger import Entry, Ledger, Record, append
from mlgate.pipelines.local_target import LocalTarget
from mlgate.pipelines.lock import Holder
from mlgate.pipelines.runtime import Clock, LocalProcesses, Processes, SystemClock, stamp
from mlgate.pipelines.targets import Target

Pause = Callable[[str], None]
Say = Callable[[str], None]


def quiet(message: str) -> None:
    """A `Say` that tells nobody (the library's default: results carry what happened)."""


class Stage(NamedTuple):
    """The environment a stage acts on and the side effects it may use; `warn` hears what
    happens before the result is known (an interrupted deployment about to be rolled back)."""

    env: Environment
    ledger: Ledger
    target: Target
    clock: Clock
    by: str
    pause: Pause
    warn: Say = quiet
    progress: Say = quiet


class Effects(NamedTuple):
    """The side effects a stage is opened with: the real ones unless a caller (a test, a
    notebook) hands in its own clock, processes, target, pause hook or warning printer."""

    clock: Clock | None = None
    processes: Processes | None = None
    target: Target | None = None
    pause: Pause | None = None
    warn: Say = quiet
    progress: Say = quiet


def record(stage: Stage, kind: str, digest: str, data: Mapping[str, Any]) -> Entry:
    """Append an entry by the stage's actor, stamped with the stage's clock, then tell
    `stage.progress` what it says (each stage and check as it finishes)."""
    entry = append(stage.ledger, Record(kind, stage.by, digest, data), stamp(stage.clock.now()))
    stage.progress(describe(entry))
    return entry


def _pairs(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={value}" for name, value in values.items())


def _check_line(data: Mapping[str, Any]) -> str:
    """`candidate latency passed: p95_seconds=0.004, requests=20 (limit max_p95_seconds=1.0)`."""
    verdict = "passed" if data.get("passed") else "FAILED"
    line = f"{data.get('phase')} {data.get('check')} {verdict}: {_pairs(data.get('measured', {}))}"
    return f"{line} (limit {_pairs(data.get('threshold', {}))})"


def describe(entry: Entry) -> str:
    """One line for a ledger entry as it is written (the deploy's progress on a terminal)."""
    kind, data = entry.kind, entry.data
    short = entry.digest.removeprefix("sha256:")[:12]
    if kind == "verify":
        return _check_line(data)
    words = {
        "deploy-start": f"{data.get('type', 'deploy')} #{entry.seq} of {short} started",
        "intent": f"about to switch traffic to {short}",
        "promote": f"traffic switched to {short}",
        "deploy-end": f"#{data.get('deployment', '?')} ended: {data.get('outcome', '')}",
    }
    return words.get(kind, f"{kind} {short}".strip())


def pause_hook(environ: Mapping[str, str]) -> Pause:
    """The pause for the step named in MLGATE_PAUSE_AT (a no-op when it is unset)."""
    wanted = environ.get("MLGATE_PAUSE_AT", "")

    def pause(step: str) -> None:
        if step == wanted:
            print(f"mlgate: paused at {step} (pid {os.getpid()})", file=sys.stderr, flush=True)
            sys.stdin.readline()

    return pause


def make_target(
    env: Environment,
    places: Places,
    processes: Processes,
    clock: Clock,
    hidden: Sequence[Path] = (),
) -> Target:
    """The target the environment is configured with; a local one hides `hidden` from its
    sandboxed servers."""
    if isinstance(env.target, CommandSettings):
        return CommandTarget(env.target, places, processes)
    return LocalTarget(env.target, processes, clock, hidden)


def actor(given: str | None, environ: Mapping[str, str]) -> str:
    """Who acts: --by, else the CI actor, else the login name."""
    return given or environ.get("GITHUB_ACTOR") or environ.get("USER") or getpass.getuser()


def places_for(env: Environment, root: Path, package: str) -> Places:
    """The command target's places for a run from the project at `root`."""
    return Places(env.name, root, package)


class Settings(NamedTuple):
    """What a release call acts on: the configuration, the environment's name, who acts (None:
    the CI actor or the login name), the process environment it reads (MLGATE_PAUSE_AT,
    GITHUB_ACTOR) and the side effects."""

    config: ReleaseConfig
    env: str
    by: str | None = None
    environ: Mapping[str, str] = MappingProxyType({})
    effects: Effects = Effects()


def open_stage(settings: Settings, package: str = "") -> Stage:
    """The stage for the settings' environment; `package` is the path the command target's
    commands get as `{package}`. Real side effects wherever `settings.effects` has none."""
    env = settings.config.environment(settings.env)
    effects = settings.effects
    clock = effects.clock or SystemClock()
    processes = effects.processes or LocalProcesses()
    places = places_for(env, settings.config.root, package)
    hidden = settings.config.private_paths()
    target = effects.target or make_target(env, places, processes, clock, hidden)
    pause = effects.pause or pause_hook(settings.environ)
    who = actor(settings.by, settings.environ)
    ledger = settings.config.ledger(env.name)
    return Stage(env, ledger, target, clock, who, pause, effects.warn, effects.progress)


def holder(stage: Stage, command: str) -> Holder:
    """The lock record of this process running `command`."""
    return Holder(os.getpid(), stamp(stage.clock.now()), command)
