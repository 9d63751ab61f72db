"""The deploy and rollback state machine through the release API, driven by fakes of the Target,
Clock and Processes protocols (`release_fakes`): every path in milliseconds. The verification
runs for real against a stub model server on 127.0.0.1. The real-process end-to-end tests
(`test_release_e2e.py`, `test_release_stages.py`) show that the fakes tell the truth."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from release_fakes import FakeClock, FakeProcesses, FakeTarget, StubServer, stub_server

from mlgate import release
from mlgate.errors import ConfigError, GateError, UsageError
from mlgate.pipelines.history import short
from mlgate.pipelines.ledger import Entry, read_entries
from mlgate.pipelines.package import BuildOptions, Package, build_package
from mlgate.pipelines.stage import Effects

PYPROJECT = """
[tool.mlgate.package]
name = "tiny"
version = "VERSION"
models = ["model.json"]
code = ["serve.py"]
entrypoint = "serve:load"
pythonpath = ["."]

[[tool.mlgate.package.smoke]]
input = 2
expect = 4

[tool.mlgate.environments.dev]
approval = { required = false }
verify = { requests = 2, bake = "0.5s" }

[tool.mlgate.environments.prod]
approval = { approvers = ["alice", "bob", "carol"], min-approvals = 2, expires = "8h" }
verify = { requests = 2, bake = 0 }

[tool.mlgate.environments.cmd]
approval = { required = false }
verify = { requests = 2, bake = 0 }

[tool.mlgate.environments.cmd.target]
kind = "command"
deploy = ["deploy", "{digest}"]
rollback = ["rollback", "{digest}"]
health = ["health"]
"""


class Packages(NamedTuple):
    root: Path
    v1: Package
    v2: Package
    v3: Package

    def names(self) -> dict[str, str]:
        return {self.v1.digest: "v1", self.v2.digest: "v2", self.v3.digest: "v3"}


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Packages:
    root = tmp_path_factory.mktemp("machine")
    (root / "serve.py").write_text("def load():\n    return lambda x: x * 2\n")
    built = []
    for version in ("1", "2", "3"):
        (root / "pyproject.toml").write_text(PYPROJECT.replace("VERSION", version))
        (root / "model.json").write_text(json.dumps({"version": version}))
        options = BuildOptions(out_dir=root / "dist", builder="carol", environ={})
        built.append(build_package(root, options))
    return Packages(root, *built)


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    with stub_server() as running:
        yield running


class World(NamedTuple):
    """One environment's ledger, with a fake target and clock, and the packages."""

    packages: Packages
    target: FakeTarget
    clock: FakeClock
    ledger_dir: Path

    def settings(self, env: str = "dev", by: str = "ci", **effects: Any) -> release.Settings:
        environ = {"MLGATE_LEDGER_DIR": str(self.ledger_dir)}
        chosen = Effects(**{"clock": self.clock, "target": self.target, **effects})
        return release.settings(env, self.packages.root / "pyproject.toml", by, environ, chosen)

    def entries(self, env: str = "dev") -> list[Entry]:
        return read_entries(self.settings(env).config.ledger(env))

    def steps(self, env: str = "dev", since: int = 0) -> list[str]:
        """Every entry from `since` on as `kind name [detail]`, as short as an assert can be."""
        names = {**self.packages.names(), "": "-"}
        return [_step(entry, names) for entry in self.entries(env) if entry.seq > since]


def _step(entry: Entry, names: dict[str, str]) -> str:
    data = entry.data
    if entry.kind == "deploy-start":
        detail = f"{data['type']} from {names[data['previous']]}"
    elif entry.kind == "deploy-end":
        detail = str(data["outcome"])
    elif entry.kind == "verify":
        detail = f"{data['phase']} {data['check']} {'ok' if data['passed'] else 'FAILED'}"
    elif entry.kind == "intent":
        detail = f"from {names[data['from']]}"
    else:
        detail = ""
    return " ".join(part for part in (entry.kind, names[entry.digest], detail) if part)


@pytest.fixture
def ledger_dir(tmp_path: Path) -> Iterator[Path]:
    """A ledger folder in memory (tmpfs) when the machine has one: the ledger's fsyncs are the
    real ones, at memory speed, so the state machine runs in milliseconds."""
    shm = Path("/dev/shm")
    if not shm.is_dir():  # pragma: no cover - every Linux CI runner has it
        yield tmp_path / "ledger"
        return
    folder = Path(tempfile.mkdtemp(prefix="mlgate-ledger-", dir=shm))
    try:
        yield folder / "ledger"
    finally:
        shutil.rmtree(folder)


@pytest.fixture
def world(packages: Packages, server: StubServer, ledger_dir: Path) -> World:
    return World(packages, FakeTarget(server, packages.names()), FakeClock(), ledger_dir)


def _deploy(world: World, package: Package) -> release.Deployed:
    return release.deploy(world.settings(), package.path)


GOOD_ROUND = ["health ok", "smoke ok", "error-rate ok", "latency ok"]


def _round(phase: str, name: str, checks: list[str] = GOOD_ROUND) -> list[str]:
    return [f"verify {name} {phase} {check}" for check in checks]


def test_deploy_ok(world: World) -> None:
    v1 = world.packages.v1
    done = _deploy(world, v1)
    assert done == release.Deployed(1, v1.digest, f"{world.target.base}/live", None)
    assert world.target.calls == ["stage v1 nothing", "switch v1", "retire nothing v1"]
    assert world.steps() == [
        "deploy-start v1 deploy from -",
        *_round("candidate", "v1"),
        "intent v1 from -",
        "promote v1",
        *_round("bake", "v1"),  # the last round of the bake, which judges all its requests
        "deploy-end v1 succeeded",
    ]
    assert world.clock.ticks == pytest.approx(0.5)  # the whole bake period, on the fake clock
    assert world.entries()[0].data["smoke"] == [{"input": 2, "expect": 4}]


def _two_good(world: World) -> int:
    """v1 then v2 deployed and verified; the ledger's last entry number."""
    _deploy(world, world.packages.v1)
    _deploy(world, world.packages.v2)
    return world.entries()[-1].seq


def test_fail_before_switch(world: World) -> None:
    since = _two_good(world)
    world.target.modes[world.packages.v3.digest] = "wrong"
    world.target.calls.clear()
    with pytest.raises(GateError) as failed:
        _deploy(world, world.packages.v3)
    number = since + 1
    assert str(failed.value) == (
        f"deployment #{number} of {short(world.packages.v3.digest)} to 'dev' failed: check "
        "candidate smoke failed: 1 of 1 smoke cases wrong; smoke case 1: expected 4, got 6; rolled "
        f"back to {short(world.packages.v2.digest)} in 0.00s (rollback #{number + 4})"
    )
    assert world.target.calls == ["stage v3 v2", "restore v2 v3", "retire v2"]
    assert world.target.current == world.packages.v2.digest
    assert world.steps(since=since) == [
        "deploy-start v3 deploy from v2",
        "verify v3 candidate health ok",
        "verify v3 candidate smoke FAILED",
        "deploy-end v3 failed",
        "deploy-start v2 rollback from v3",
        "intent v2 from v3",
        "promote v2",
        *_round("restored", "v2"),
        "deploy-end v2 succeeded",
    ]


def test_fail_during_bake(world: World) -> None:
    since = _two_good(world)
    world.target.live[world.packages.v3.digest] = "down"
    world.target.calls.clear()
    with pytest.raises(GateError, match="failed: check bake health failed: GET /health answered"):
        _deploy(world, world.packages.v3)
    assert world.target.calls == ["stage v3 v2", "switch v3", "restore v2 v3", "retire v2"]
    assert world.steps(since=since)[-11:] == [
        "promote v3",
        "verify v3 bake health FAILED",
        "deploy-end v3 failed",
        "deploy-start v2 rollback from v3",
        "intent v2 from v3",
        "promote v2",
        *_round("restored", "v2"),
        "deploy-end v2 succeeded",
    ]


def test_failed_rollback_says_what_serves(world: World) -> None:
    since = _two_good(world)
    world.target.live[world.packages.v3.digest] = "down"
    world.target.faults["restore"] = GateError("the rollback command exited 3: no capacity")
    with pytest.raises(GateError) as failed:
        _deploy(world, world.packages.v3)
    assert str(failed.value).endswith(
        "; and rolling back failed too: the rollback command exited 3: no capacity; "
        f"{short(world.packages.v3.digest)} serves 'dev'; run `mlgate rollback --env dev --to "
        f"{short(world.packages.v2.digest)}` once the target is fixed"
    )
    assert world.steps(since=since)[-4:] == [
        "deploy-end v3 failed",
        "deploy-start v2 rollback from v3",
        "intent v2 from v3",
        "deploy-end v2 failed",
    ]


def test_rollback_after_an_automatic_rollback_restores_the_last_good(world: World) -> None:
    """The bug: `mlgate rollback` undid the automatic rollback and put the failed release back."""
    _two_good(world)
    world.target.live[world.packages.v3.digest] = "down"
    with pytest.raises(GateError, match="rolled back to "):
        _deploy(world, world.packages.v3)
    world.target.calls.clear()
    since = world.entries()[-1].seq
    restored = release.rollback(world.settings())
    assert (restored.digest, restored.failure) == (world.packages.v1.digest, None)
    assert world.target.calls == ["restore v1 v2", "retire v1"]
    assert world.steps(since=since) == [
        "deploy-start v1 rollback from v2",
        "intent v1 from v2",
        "promote v1",
        *_round("restored", "v1"),
        "deploy-end v1 succeeded",
    ]
    found = release.releases(world.settings()).releases
    assert [(r.type, world.packages.names()[r.digest], r.status) for r in found] == [
        ("deploy", "v1", "verified"),
        ("deploy", "v2", "verified"),
        ("deploy", "v3", "failed"),
        ("rollback", "v2", "rolled back"),
        ("rollback", "v1", "verified"),
    ]
    with pytest.raises(GateError) as nothing_good:
        release.rollback(world.settings())
    v2, v3 = short(world.packages.v2.digest), short(world.packages.v3.digest)
    assert str(nothing_good.value) == (
        f"no release of 'dev' before {short(world.packages.v1.digest)} stands verified "
        f"({', '.join(sorted([f'{v2} rolled back', f'{v3} failed']))}); pass --to DIGEST "
        "(with --force for a failed one)"
    )


def test_rollback_to_a_failed_release_needs_force(world: World) -> None:
    _two_good(world)
    world.target.modes[world.packages.v3.digest] = "wrong"
    with pytest.raises(GateError):
        _deploy(world, world.packages.v3)
    v3 = world.packages.v3.digest
    with pytest.raises(GateError, match=rf"{short(v3)} stands failed in the ledger"):
        release.rollback(world.settings(), release.Choice(to=v3[7:20]))
    world.target.modes[v3] = "good"
    forced = release.rollback(world.settings(), release.Choice(v3, force=True, reason="hotfix"))
    assert (forced.digest, forced.failure) == (v3, None)
    assert world.entries()[-1].data["reason"] == "hotfix"
    with pytest.raises(UsageError, match="--to ffff matches no release"):
        release.rollback(world.settings(), release.Choice(to="ffff"))


def test_rollback_whose_restored_release_fails_its_verification(world: World) -> None:
    _two_good(world)
    world.target.modes[world.packages.v1.digest] = "wrong"  # v1 broke while it was not serving
    with pytest.raises(GateError) as failed:
        release.rollback(world.settings())
    v1 = short(world.packages.v1.digest)
    assert str(failed.value) == (
        f"rolled back 'dev' to {v1} (rollback #{world.entries()[-1].data['deployment']}), but it "
        "failed its verification: check restored smoke failed: 1 of 1 smoke cases wrong; smoke "
        f"case 1: expected 4, got 6; {v1} serves 'dev'; roll back further with `mlgate "
        "rollback --env dev --to DIGEST` or deploy a fixed release"
    )
    assert world.steps()[-2:] == ["verify v1 restored smoke FAILED", "deploy-end v1 failed"]
    assert release.releases(world.settings()).releases[-1].status == "failed"


STEPS = ["started", "staged", "verified", "switched", "baked"]


class Interrupt:
    """A pause hook that raises `signal` at `step`, as a SIGINT or SIGTERM handler would."""

    def __init__(self, step: str, signal: BaseException) -> None:
        self.step = step
        self.signal = signal

    def __call__(self, step: str) -> None:
        if step == self.step:
            raise self.signal


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize(
    ("signal", "named"), [(KeyboardInterrupt(), "SIGINT"), (SystemExit(143), "signal (exit 143)")]
)
def test_signal_at_each_step_rolls_back_to_where_it_started(
    world: World, step: str, signal: BaseException, named: str
) -> None:
    since = _two_good(world)
    settings = world.settings(pause=Interrupt(step, signal))
    with pytest.raises(GateError) as stopped:
        release.deploy(settings, world.packages.v3.path)
    number = since + 1
    assert str(stopped.value).startswith(
        f"deploy #{number} was interrupted by {named} after step '"
    )
    assert world.target.current == world.packages.v2.digest
    assert world.target.running == {world.packages.v2.digest}
    ends = [e for e in world.entries() if e.kind == "deploy-end" and e.seq > since]
    assert [e.data["outcome"] for e in ends] == ["interrupted", "succeeded"]
    assert ends[0].data["deployment"] == number
    assert ends[0].data["reason"].startswith(f"interrupted by {named} after step")
    assert release.releases(world.settings()).interrupted is None


class Died(BaseException):
    """The deploying process dying (SIGKILL, a lost runner): nothing more is written."""


@pytest.mark.parametrize("step", STEPS)
def test_fresh_runner_recovers_from_the_ledger_and_the_target(world: World, step: str) -> None:
    """A deploy dies; a rollback on another machine has only the ledger and the target, which
    (like a command target) cannot say what it serves."""
    since = _two_good(world)
    with pytest.raises(Died):
        release.deploy(world.settings(pause=Interrupt(step, Died())), world.packages.v3.path)
    world.target.knows = False
    stuck = release.releases(world.settings()).interrupted
    assert stuck is not None
    assert stuck.id == since + 1
    restored = release.recover(world.settings())
    assert restored is not None
    assert (restored.digest, restored.failure) == (world.packages.v2.digest, None)
    assert world.target.current == world.packages.v2.digest
    [closed] = [e for e in world.entries() if e.kind == "deploy-end" and e.seq > since][:1]
    v2, v3 = short(world.packages.v2.digest), short(world.packages.v3.digest)
    switched = step in ("switched", "baked")
    served = f"traffic was switched to {v3}" if switched else f"traffic never left {v2}"
    assert closed.data["outcome"] == "interrupted"
    assert closed.data["reason"].endswith(served)
    assert release.recover(world.settings()) is None


def test_died_between_intent_and_switch(world: World) -> None:
    """The write-ahead intent tells a fresh runner that traffic may already have moved."""
    since = _two_good(world)
    world.target.faults["switch"] = Died()
    with pytest.raises(Died):
        _deploy(world, world.packages.v3)
    assert world.steps(since=since)[-1] == "intent v3 from v2"
    del world.target.faults["switch"]
    world.target.knows = False
    restored = release.recover(world.settings())
    assert restored is not None
    assert restored.digest == world.packages.v2.digest
    v2, v3 = short(world.packages.v2.digest), short(world.packages.v3.digest)
    [closed] = [e for e in world.entries() if e.data.get("outcome") == "interrupted"]
    assert closed.data["reason"] == (
        f"the process died after step 'about to switch traffic'; the target may serve {v3} or {v2}"
    )


def test_target_error_after_start_is_recorded_and_rolled_back(world: World) -> None:
    since = _two_good(world)
    world.target.faults["switch"] = GateError("127.0.0.1:8740 is taken by another program")
    with pytest.raises(GateError) as failed:
        _deploy(world, world.packages.v3)
    assert "failed: check target error failed: 127.0.0.1:8740 is taken by another program" in str(
        failed.value
    )
    assert world.target.running == {world.packages.v2.digest}
    assert world.steps(since=since) == [
        "deploy-start v3 deploy from v2",
        *_round("candidate", "v3"),
        "intent v3 from v2",
        "verify v3 target error FAILED",
        "deploy-end v3 failed",
        "deploy-start v2 rollback from v3",
        "intent v2 from v3",
        "promote v2",
        *_round("restored", "v2"),
        "deploy-end v2 succeeded",
    ]


def test_first_deploy_failing_rolls_back_to_nothing(world: World) -> None:
    world.target.modes[world.packages.v1.digest] = "down"
    with pytest.raises(GateError, match=r"rolled back to nothing \(first deployment\)"):
        _deploy(world, world.packages.v1)
    assert (world.target.current, world.target.running) == ("", set())
    assert world.steps()[-4:] == [
        "deploy-start - rollback from v1",
        "intent - from v1",
        "promote -",
        "deploy-end - succeeded",
    ]
    with pytest.raises(GateError) as nothing:
        release.rollback(world.settings())
    assert str(nothing.value) == (
        "nothing serves 'dev': nothing to roll back; pass --to DIGEST to restore a release"
    )


def test_already_serving_and_only_release(world: World) -> None:
    _deploy(world, world.packages.v1)
    again = _deploy(world, world.packages.v1)
    assert again == release.Deployed(0, world.packages.v1.digest, "", None)
    assert world.target.calls[-1] == "resume v1"
    with pytest.raises(GateError, match="serving 'dev' has no earlier release; pass --to DIGEST"):
        release.rollback(world.settings())
    with pytest.raises(GateError, match="already serves 'dev'"):
        release.rollback(world.settings(), release.Choice(to=world.packages.v1.digest))


def test_approvals_expire_on_the_clock(world: World) -> None:
    v1 = world.packages.v1
    release.approve(world.settings("prod", by="alice"), v1.path, "1h", "CHG-1")
    release.approve(world.settings("prod", by="bob"), v1.path)
    world.clock.advance(2 * 3600)
    with pytest.raises(GateError) as refused:
        release.deploy(world.settings("prod"), v1.path)
    assert str(refused.value) == (
        f"{v1.digest} is not approved for 'prod': needs 2 approval(s), has 1; valid: bob; "
        f"expired: alice; approvers: alice, bob, carol; run `mlgate approve {v1.path} --env "
        "prod --by NAME`"
    )
    release.approve(world.settings("prod", by="alice"), v1.path)
    assert release.deploy(world.settings("prod"), v1.path).deployment == 4


def test_expires_cannot_exceed_the_policy(world: World) -> None:
    with pytest.raises(UsageError) as refused:
        release.approve(world.settings("prod", by="alice"), world.packages.v1.path, "3650d")
    assert str(refused.value) == (
        "--expires 3650d is longer than 'prod' allows (approval expires = 8h); give a shorter "
        "--expires or leave it out"
    )
    assert world.entries("prod") == []


def test_command_target_through_fake_processes(world: World, packages: Packages) -> None:
    """The real command target, its commands answered by fake processes: the intent is written
    before the deploy command, which switches traffic itself."""
    processes = FakeProcesses({"health": 0})
    settings = world.settings("cmd", target=None, processes=processes)
    v1, v2 = packages.v1.digest, packages.v2.digest
    assert release.deploy(settings, packages.v1.path).deployment == 1
    processes.codes["health"] = 1
    with pytest.raises(GateError, match="which failed its verification too"):
        release.deploy(settings, packages.v2.path)
    assert processes.ran == [
        f"deploy {v1}",
        "health",
        f"deploy {v2}",
        "health",
        f"rollback {v1}",
        "health",
    ]
    assert world.steps("cmd")[:5] == [
        "deploy-start v1 deploy from -",
        "intent v1 from -",
        "promote v1",
        "verify v1 bake health-command ok",
        "deploy-end v1 succeeded",
    ]


def test_unsatisfiable_policy_is_a_configuration_error(tmp_path: Path) -> None:
    project = tmp_path / "pyproject.toml"
    project.write_text(
        '[tool.mlgate.environments.prod.approval]\napprovers = ["alice"]\nmin-approvals = 3\n'
    )
    with pytest.raises(ConfigError) as bad:
        release.settings("prod", project, environ={})
    assert str(bad.value) == (
        "[tool.mlgate.environments.prod].approval: min-approvals = 3 but only 1 approver(s) "
        "(alice) may approve: no deploy could ever pass; lower min-approvals or add approvers"
    )


def test_the_ledger_folder_holds_only_the_ledger(world: World) -> None:
    """Everything a deploy and a rollback record goes through the one ledger path."""
    _two_good(world)
    release.rollback(world.settings())
    names = sorted(path.name for path in world.ledger_dir.iterdir())
    assert names == ["dev.head", "dev.jsonl", "dev.lock"]
    assert release.verify_ledger(world.settings()).note == ""


@pytest.mark.parametrize("step", ["rollback-started", "restored"])
def test_automatic_rollback_dying_is_finished_by_the_next_call(world: World, step: str) -> None:
    since = _two_good(world)
    world.target.live[world.packages.v3.digest] = "down"
    with pytest.raises(Died):
        release.deploy(world.settings(pause=Interrupt(step, Died())), world.packages.v3.path)
    serving = world.packages.v3.digest if step == "rollback-started" else world.packages.v2.digest
    assert world.target.current == serving
    warned: list[str] = []
    restored = release.recover(world.settings(warn=warned.append))
    assert restored is not None
    assert (restored.digest, restored.failure) == (world.packages.v2.digest, None)
    assert world.target.current == world.packages.v2.digest
    stuck = [r for r in release.releases(world.settings()).releases if r.id > since]
    assert [(r.type, r.outcome, r.status) for r in stuck] == [
        ("deploy", "failed", "failed"),
        ("rollback", "interrupted", "interrupted"),
        ("rollback", "succeeded", "verified"),
    ]
    assert stuck[2].reason.startswith(f"finishing rollback #{stuck[1].id}, interrupted: ")
    assert warned == [
        f"rollback #{stuck[1].id} of {short(world.packages.v2.digest)} to 'dev' was interrupted "
        f"(last step: {'started' if step == 'rollback-started' else 'traffic switched'}); "
        "rolling back to where it started"
    ]


def test_failed_rollback_before_the_switch_stops_the_candidate(world: World) -> None:
    since = _two_good(world)
    world.target.modes[world.packages.v3.digest] = "wrong"
    world.target.faults["restore"] = GateError("the rollback command exited 3: no capacity")
    with pytest.raises(GateError) as failed:
        _deploy(world, world.packages.v3)
    assert str(failed.value).endswith(
        "; and rolling back failed too: the rollback command exited 3: no capacity; "
        f"{short(world.packages.v2.digest)} still serves 'dev'"
    )
    assert world.target.running == {world.packages.v2.digest}
    assert world.target.calls[-2:] == ["restore v2 v3", "retire v2"]
    assert world.steps(since=since)[-3:] == [
        "deploy-start v2 rollback from v3",
        "intent v2 from v3",
        "deploy-end v2 failed",
    ]
