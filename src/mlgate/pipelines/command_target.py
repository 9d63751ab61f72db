"""The `command` target: the team's own deploy, health and rollback commands.

For Kubernetes, SageMaker or anything a team already drives from a shell. Each command is an
argument list (no shell) in which `{package}` (the package path), `{digest}` (the release being
deployed or restored), `{env}` and `{previous}` (the release it replaces) are filled in. The
deploy command deploys and switches traffic in one step, so its release is verified live (on
`endpoint`, when one is set, and with the health command); a failure runs the rollback command.
The optional `current` command prints the digest that serves (its last line: `sha256:...`, or
nothing when nothing does): the state lives on the platform, so a rollback job on a fresh CI
runner learns from it what the interrupted deployment left behind.

`{package}` in the deploy command is a private copy (in a new 0700 folder, removed afterwards)
verified to hold the approved digest: a package file swapped after the gates never reaches the
platform.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from mlgate.errors import GateError
from mlgate.pipelines.environments import CommandSettings
from mlgate.pipelines.package import Package, read_package
from mlgate.pipelines.runtime import Processes
from mlgate.pipelines.targets import Staged
from mlgate.pipelines.verify import Check


class Places(NamedTuple):
    """The environment name, the folder commands run in, and the package path if any."""

    env: str
    cwd: Path
    package: str


def _is_digest_or_nothing(text: str) -> bool:
    hexdigits = text.removeprefix("sha256:")
    return not text or (
        text.startswith("sha256:")
        and len(hexdigits) == 64
        and not hexdigits.strip("0123456789abcdef")
    )


def _copy(package: Path, copy: Path) -> None:
    try:
        shutil.copyfile(package, copy)
    except OSError as err:
        raise GateError(f"cannot copy {package} for the deploy command: {err.strerror}") from err


@contextlib.contextmanager
def private_copy(package: Package) -> Iterator[Path]:
    """A copy of `package` in a new 0700 folder, verified to hold its approved digest; GateError
    when the file changed since the gates checked it. The folder is removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="mlgate-deploy-"))
    try:
        copy = folder / package.path.name
        _copy(package.path, copy)
        found = read_package(copy).digest
        if found != package.digest:
            raise GateError(
                f"{package.path} changed after it was checked: it now holds {found}, not the "
                f"approved {package.digest}; nothing was deployed; deploy it again"
            )
        yield copy
    finally:
        shutil.rmtree(folder)


class CommandTarget:
    """Runs the configured commands; knows nothing of what they drive."""

    def __init__(self, settings: CommandSettings, places: Places, processes: Processes) -> None:
        self.settings = settings
        self.places = places
        self.processes = processes

    def serving(self) -> str:
        """What the `current` command reports; without one, "" (the ledger tells)."""
        if not self.settings.current:
            return ""
        command = [word.format(env=self.places.env) for word in self.settings.current]
        done = self.processes.run(command, self.places.cwd, self.settings.timeout)
        lines = done.output.strip().splitlines()
        answer = lines[-1].strip() if lines else ""
        if done.code != 0 or not _is_digest_or_nothing(answer):
            said = f"exited {done.code}" if done.code != 0 else f"printed {answer!r}"
            raise GateError(
                f"the current command {said}; it must exit 0 and print the serving release's "
                "digest (sha256:<64 hex digits>) or nothing"
            )
        return answer

    def stage(self, package: Package, previous: str) -> Staged:
        """Run the deploy command; traffic reaches the release when it succeeds."""
        with private_copy(package) as copy:
            words = {"package": str(copy), "digest": package.digest, "previous": previous}
            problem = self._run("deploy", self.settings.deploy, words)
        return Staged(self.settings.endpoint, problem, live=True)

    def switch(self, digest: str) -> str:
        """The deploy command already switched traffic."""
        return self.settings.endpoint

    def restore(self, digest: str, replacing: str) -> str:
        """Run the rollback command with `{digest}` the release to bring back."""
        words = {"package": self.places.package, "digest": digest, "previous": replacing}
        problem = self._run("rollback", self.settings.rollback, words)
        if problem:
            raise GateError(f"rollback to {digest or 'nothing'} failed: {problem}")
        return self.settings.endpoint

    def resume(self, digest: str) -> str:
        """The platform keeps its releases running; mlgate starts nothing."""
        return ""

    def retire(self, keep: Collection[str]) -> None:
        """The platform retires old releases itself."""

    def probe(self) -> Check | None:
        """Run the health command, when there is one: exit code 0 passes."""
        if not self.settings.health:
            return None
        problem = self._run("health", self.settings.health, {"package": self.places.package})
        return Check(
            "health-command",
            not problem,
            {"problem": problem},
            {"exit_code": 0},
            problem or "the health command exited 0",
        )

    def _run(self, name: str, argv: Sequence[str], words: dict[str, str]) -> str:
        values = {"env": self.places.env, "digest": "", "previous": "", **words}
        command = [word.format(**values) for word in argv]
        done = self.processes.run(command, self.places.cwd, self.settings.timeout)
        if done.code == 0:
            return ""
        tail = done.output.strip().splitlines()[-1:] or ["no output"]
        ended = f"exited {done.code}" if done.code is not None else "timed out"
        return f"the {name} command {ended}: {tail[0]}"
