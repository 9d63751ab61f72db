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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from mlgate.pipelines.command_target import CommandTarget, Places
from mlgate.pipelines.environments import CommandSettings, Environment, ReleaseConfig
from mlgate.pipelines.ledger import Entry, Ledger, Record, append
from mlgate.pipelines.local_target import LocalTarget
from mlgate.pipelines.lock import Holder
from mlgate.pipelines.runtime import Clock, LocalProcesses, Processes, SystemClock, stamp
from mlgate.pipelines.targets import Target

Pause = Callable[[str], None]


class Stage(NamedTuple):
    """The environment a stage acts on and the side effects it may use."""

    env: Environment
    ledger: Ledger
    target: Target
    clock: Clock
    by: str
    pause: Pause


def record(stage: Stage, kind: str, digest: str, data: Mapping[str, Any]) -> Entry:
    """Append an entry by the stage's actor, stamped with the stage's clock."""
    return append(stage.ledger, Record(kind, stage.by, digest, data), stamp(stage.clock.now()))


def pause_hook(environ: Mapping[str, str]) -> Pause:
    """The pause for the step named in MLGATE_PAUSE_AT (a no-op when it is unset)."""
    wanted = environ.get("MLGATE_PAUSE_AT", "")

    def pause(step: str) -> None:
        if step == wanted:
            print(f"mlgate: paused at {step} (pid {os.getpid()})", file=sys.stderr, flush=True)
            sys.stdin.readline()

    return pause


def make_target(env: Environment, places: Places, processes: Processes, clock: Clock) -> Target:
    """The target the environment is configured with."""
    if isinstance(env.target, CommandSettings):
        return CommandTarget(env.target, places, processes)
    return LocalTarget(env.target, processes, clock)


def actor(given: str | None, environ: Mapping[str, str]) -> str:
    """Who acts: --by, else the CI actor, else the login name."""
    return given or environ.get("GITHUB_ACTOR") or environ.get("USER") or getpass.getuser()


def places_for(env: Environment, root: Path, package: str) -> Places:
    """The command target's places for a run from the project at `root`."""
    return Places(env.name, root, package)


def open_stage(
    config: ReleaseConfig, name: str, by: str | None, environ: Mapping[str, str], package: str
) -> Stage:
    """The stage for environment `name` with the real clock and processes."""
    env = config.environment(name)
    clock, processes = SystemClock(), LocalProcesses()
    target = make_target(env, places_for(env, config.root, package), processes, clock)
    ledger = config.ledger(env.name)
    return Stage(env, ledger, target, clock, actor(by, environ), pause_hook(environ))


def holder(stage: Stage, command: str) -> Holder:
    """The lock record of this process running `command`."""
    return Holder(os.getpid(), stamp(stage.clock.now()), command)
