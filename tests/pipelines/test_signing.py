"""Approvals signed with the approvers' SSH keys (real ssh-keygen, keys made in a tmp folder),
and the attacks a signed policy must stop: another person's name, one key under two names,
entries forged or edited with a recomputed hash chain, a signature replayed elsewhere."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from release_fakes import FakeClock, FakeTarget, StubServer, stub_server

from mlgate import release
from mlgate.cli import main
from mlgate.errors import ConfigError, GateError, UsageError
from mlgate.pipelines.ledger import Record, append, read_entries
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

[tool.mlgate.ledger]
allowed-signers = "allowed_signers"

[tool.mlgate.environments.prod]
approval = { approvers = ["alice", "alice2", "bob"], min-approvals = 2, signed = true }
verify = { requests = 2, bake = 0 }

[tool.mlgate.environments.staging]
approval = { approvers = ["alice", "alice2", "bob"] }
verify = { requests = 2, bake = 0 }
"""


class Project(NamedTuple):
    root: Path
    v1: Package
    v2: Package
    keys: dict[str, Path]

    @property
    def config(self) -> Path:
        return self.root / "pyproject.toml"


def _key(folder: Path, name: str) -> Path:
    path = folder / name
    command = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)]
    subprocess.run(command, check=True)
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("signing")
    (root / "serve.py").write_text("def load():\n    return lambda x: x * 2\n")
    built = []
    for version in ("1", "2"):
        (root / "pyproject.toml").write_text(PYPROJECT.replace("VERSION", version))
        (root / "model.json").write_text(json.dumps({"version": version}))
        options = BuildOptions(out_dir=root / "dist", builder="carol", environ={})
        built.append(build_package(root, options))
    keys = {name: _key(root, name) for name in ("alice", "bob", "mallory")}
    public = {
        name: " ".join(path.with_suffix(".pub").read_text().split()[:2])
        for name, path in keys.items()
    }
    # alice's one key may sign as "alice" and as "alice2": still one approver
    lines = [f"alice,alice2 {public['alice']}", f"bob {public['bob']}"]
    (root / "allowed_signers").write_text("\n".join(lines) + "\n")
    return Project(root, built[0], built[1], keys)


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    with stub_server() as running:
        yield running


class World(NamedTuple):
    project: Project
    target: FakeTarget
    ledger_dir: Path

    def settings(self, by: str = "ci", env: str = "prod") -> release.Settings:
        environ = {"MLGATE_LEDGER_DIR": str(self.ledger_dir)}
        effects = Effects(clock=FakeClock(), target=self.target)
        return release.settings(env, self.project.config, by, environ, effects)

    def approve(self, by: str, key: str | None, package: Package | None = None) -> None:
        path = self.project.keys[key] if key else None
        release.approve(self.settings(by), (package or self.project.v1).path, key=path)

    def forge(self, by: str, data: dict[str, object], env: str = "prod") -> None:
        """What someone with write access to the ledger can do: append an entry with a valid
        hash chain (no ledger key in this project)."""
        ledger = self.settings(env=env).config.ledger(env)
        append(
            ledger, Record("approval", by, self.project.v1.digest, data), "2026-12-01T09:00:00.000Z"
        )


@pytest.fixture
def world(project: Project, server: StubServer, tmp_path: Path) -> World:
    names = {project.v1.digest: "v1", project.v2.digest: "v2"}
    return World(project, FakeTarget(server, names), tmp_path / "ledger")


def _refusal(world: World) -> str:
    with pytest.raises(GateError) as refused:
        release.deploy(world.settings(), world.project.v1.path)
    return str(refused.value).split(": ", 1)[1].rsplit("; run `", 1)[0]


def test_two_people_with_their_own_keys_pass(world: World) -> None:
    world.approve("alice", "alice")
    world.approve("bob", "bob")
    entries = read_entries(world.settings().config.ledger("prod"))
    assert [(e.by, e.data["signature"][:30]) for e in entries] == [
        ("alice", "-----BEGIN SSH SIGNATURE-----\n"),
        ("bob", "-----BEGIN SSH SIGNATURE-----\n"),
    ]
    assert release.deploy(world.settings(), world.project.v1.path).deployment == 3


def test_one_key_under_two_names_counts_once(world: World) -> None:
    world.approve("alice", "alice")
    world.approve("alice2", "alice")
    assert (
        _refusal(world)
        == "needs 2 approval(s), has 1; valid: alice, alice2; approvers: alice, alice2, bob"
    )


def test_by_must_be_the_keys_principal(world: World) -> None:
    with pytest.raises(UsageError) as refused:
        world.approve("bob", "alice")
    allowed = world.project.root / "allowed_signers"
    assert str(refused.value) == (
        f"{world.project.keys['alice']} does not sign as 'bob': {allowed} must list `bob <its "
        "public key>`; --by must be your own principal"
    )
    with pytest.raises(UsageError, match="mallory does not sign as 'alice'"):
        world.approve("alice", "mallory")  # mallory's own key, alice's name
    assert not (world.ledger_dir / "prod.jsonl").exists()


def test_a_signed_policy_refuses_unsigned_approvals(world: World) -> None:
    with pytest.raises(UsageError, match="'prod' counts only signed approvals: pass --sign-with"):
        world.approve("alice", None)
    world.approve("alice", "alice")
    world.forge("bob", {"expires": "2027-01-01T00:00:00.000Z", "note": "", "package": "tiny 1"})
    assert _refusal(world) == (
        "needs 2 approval(s), has 1; valid: alice; unsigned or not signed by their key: bob; "
        "approvers: alice, alice2, bob"
    )


def test_forged_and_edited_approvals_do_not_count(world: World) -> None:
    world.approve("alice", "alice")
    [signed] = read_entries(world.settings().config.ledger("prod"))
    # alice's signature under bob's name; alice's approval with a longer expiry; alice's
    # signature of v1 claimed for v2 (the digest is in what is signed)
    world.forge("bob", dict(signed.data))
    world.forge("alice2", {**signed.data, "expires": "2099-01-01T00:00:00.000Z"})
    assert _refusal(world) == (
        "needs 2 approval(s), has 1; valid: alice; unsigned or not signed by their key: alice2, "
        "bob; approvers: alice, alice2, bob"
    )
    assert release.verify_ledger(world.settings()).note == ""  # the chain itself is intact


def test_a_signature_for_another_environment_does_not_count(world: World) -> None:
    release.approve(
        world.settings("bob", "staging"), world.project.v1.path, key=world.project.keys["bob"]
    )
    world.approve("alice", "alice")
    [staging] = read_entries(world.settings(env="staging").config.ledger("staging"))
    world.forge("bob", dict(staging.data))
    assert "unsigned or not signed by their key: bob" in _refusal(world)


def test_signed_needs_allowed_signers(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.mlgate.environments.prod.approval]\nsigned = true\n")
    with pytest.raises(ConfigError) as bad:
        release.settings("prod", config, environ={})
    assert str(bad.value) == (
        "[tool.mlgate.environments.prod].approval: signed = true needs [tool.mlgate.ledger] "
        "allowed-signers, the path of the allowed_signers file that lists each approver's "
        "public SSH key"
    )


def test_cli_signs_with_the_key_given(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["approve", str(world.project.v1.path), "--env", "prod", "--by", "alice"]
    config = ["--config", str(world.project.config)]
    key = str(world.project.keys["alice"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLGATE_LEDGER_DIR", str(world.ledger_dir))
        assert main([*argv, "--sign-with", key, *config]) == 0
        assert capsys.readouterr().out.rstrip().endswith(", signed")
        assert main([*argv, "--sign-with", str(world.project.root / "nokey"), *config]) == 2
    assert capsys.readouterr().err.startswith(
        f"mlgate: error: cannot sign with {world.project.root / 'nokey'}: "
    )


def test_signing_needs_allowed_signers(project: Project, tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.mlgate.environments.prod]\napproval = { approvers = ['alice'] }\n")
    settings = release.settings("prod", config, "alice", {})
    with pytest.raises(ConfigError) as bad:
        release.approve(settings, project.v1.path, key=project.keys["alice"])
    assert str(bad.value) == (
        "signing an approval needs [tool.mlgate.ledger] allowed-signers, the file listing each "
        "approver's public SSH key"
    )
    assert not (tmp_path / ".mlgate").exists()
