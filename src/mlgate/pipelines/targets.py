"""Where releases run: the Target protocol the deploy and rollback stages drive.

A target installs a package and starts it as a candidate (`stage`), sends traffic to it
(`switch`), brings an earlier release back (`restore`), starts a stopped one that still serves
(`resume`) and stops what no longer serves (`retire`). `probe` is the target's own health
check, when it has one (a command target's health command). Two targets ship: `local`
(`mlgate.pipelines.local_target`) and `command` (`mlgate.pipelines.command_target`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple, Protocol

from mlgate.pipelines.package import Package
from mlgate.pipelines.verify import Check


class Staged(NamedTuple):
    """A started candidate: the URL to verify it on (may be empty), a start problem, and
    whether traffic already reaches it (a command target deploys and switches in one step)."""

    url: str
    problem: str
    live: bool


class Target(Protocol):
    """What the release stages need from a deploy target."""

    def serving(self) -> str:
        """The digest receiving traffic, as the target itself knows it ("" when unknown)."""
        ...

    def stage(self, package: Package, previous: str) -> Staged:
        """Install `package` and start it beside the release `previous` that keeps serving."""
        ...

    def switch(self, digest: str) -> str:
        """Send traffic to `digest`; return the stable endpoint URL ("" when there is none)."""
        ...

    def restore(self, digest: str, replacing: str) -> str:
        """Make `digest` serve again in place of `replacing` ("" restores nothing serving)."""
        ...

    def resume(self, digest: str) -> str:
        """Start `digest`, which already serves, again if it stopped; return "" when it runs."""
        ...

    def retire(self, keep: Collection[str]) -> None:
        """Stop every release not in `keep`."""
        ...

    def probe(self) -> Check | None:
        """The target's own health check, if it has one."""
        ...
