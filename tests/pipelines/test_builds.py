"""Signed builds (real ssh-keygen keys): with signed-builds, a builder who names someone else
cannot sign as them, and an approval signed with the builder's key is the builder's under any
name, so allow-self-approval = false holds."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import pytest

from mlgate import release
from mlgate.cli import main
from mlgate.errors import ConfigError, GateError, UsageError
from mlgate.pipelines.builds import sign_build, signature_path, verified_builder
from mlgate.pipelines.package import BuildOptions, build_package, read_package
from mlgate.pipelines.stage import open_stage

PYPROJECT = """
[tool.mlgate.package]
name = "tiny"
version = "1"
models = ["model.json"]
code = ["serve.py"]
entrypoint = "serve:load"
pythonpath = ["."]

[tool.mlgate.ledger]
allowed-signers = "allowed_signers"

[tool.mlgate.environments.prod.approval]
approvers = ["alice", "bob", "carol", "carol2"]
min-approvals = 2
signed = true
signed-builds = true
"""


class Project(NamedTuple):
    root: Path
    keys: dict[str, Path]

    @property
    def config(self) -> Path:
        return self.root / "pyproject.toml"

    def build(self, builder: str, key: str | None) -> Path:
        argv = ["package", "build", "--config", str(self.root), "--builder", builder]
        signing = ["--sign-with", str(self.keys[key])] if key else []
        assert main([*argv, *signing]) == 0
        return self.root / "dist" / "tiny-1.mlpkg"

    def approve(self, package: Path, by: str, key: str) -> int:
        argv = ["approve", str(package), "--env", "prod", "--by", by, "--config", str(self.config)]
        return main([*argv, "--sign-with", str(self.keys[key])])

    def gates(self, package: Path) -> None:
        settings = release.settings("prod", self.config, "ci", {})
        release.check_gates(
            open_stage(settings), read_package(package), self.root / "allowed_signers"
        )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    for name in ("MLGATE_LEDGER_KEY", "MLGATE_LEDGER_DIR", "MLGATE_BUILDER", "MLGATE_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1")
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "model.json").write_text("{}")
    (tmp_path / "serve.py").write_text("def load():\n    return lambda x: x\n")
    keys = {}
    for name in ("alice", "bob", "carol"):
        keys[name] = tmp_path / name
        command = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(keys[name])]
        subprocess.run(command, check=True)
    public = {
        name: " ".join(key.with_suffix(".pub").read_text().split()[:2])
        for name, key in keys.items()
    }
    lines = [f"alice {public['alice']}", f"bob {public['bob']}", f"carol,carol2 {public['carol']}"]
    (tmp_path / "allowed_signers").write_text("\n".join(lines) + "\n")
    return Project(tmp_path, keys)


def test_a_builder_who_names_someone_else_cannot_sign_as_them(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    package = project.build("mallory", "carol")  # carol builds and claims mallory did
    capsys.readouterr()
    assert project.approve(package, "carol", "carol") == 1
    refusal = (
        f"{package}: its build is not signed by its builder 'mallory' (signed-builds); build it "
        "with `mlgate package build --builder NAME --sign-with KEY`, KEY being the key "
        "allowed_signers lists for NAME"
    )
    assert capsys.readouterr().err == f"mlgate: error: {refusal}\n"
    with pytest.raises(GateError) as refused:
        project.gates(package)
    assert str(refused.value) == refusal


def test_an_unsigned_build_is_refused(project: Project) -> None:
    package = project.build("carol", None)
    assert not signature_path(package).exists()
    with pytest.raises(GateError, match="its build is not signed by its builder 'carol'"):
        project.gates(package)


def test_the_signed_builder_may_not_approve_under_another_name(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    package = project.build("carol", "carol")
    capsys.readouterr()
    assert project.approve(package, "carol", "carol") == 1
    assert capsys.readouterr().err == (
        "mlgate: error: cannot approve for 'prod': 'carol' built this package and may not "
        "approve it (allow-self-approval)\n"
    )
    assert project.approve(package, "carol2", "carol") == 0  # carol's key, another name
    assert project.approve(package, "alice", "alice") == 0
    with pytest.raises(GateError) as refused:
        project.gates(package)
    assert (
        str(refused.value)
        .split(": ", 1)[1]
        .startswith(
            "needs 2 approval(s), has 1; valid: alice; approvers: alice, bob, carol, carol2; run"
        )
    )
    assert project.approve(package, "bob", "bob") == 0
    project.gates(package)  # alice and bob: the gate opens


def test_signing_a_build_needs_a_builder_and_checking_it_allowed_signers(
    project: Project,
) -> None:
    options = BuildOptions(out_dir=project.root / "dist", builder="carol", environ={})
    package = build_package(project.root, options)
    nameless = package._replace(manifest=replace(package.manifest, builder=None))
    with pytest.raises(UsageError) as refused:
        sign_build(nameless, project.keys["carol"])
    assert str(refused.value) == (
        f"{package.path}: no builder is recorded; build it with --builder NAME"
    )
    with pytest.raises(ConfigError) as unconfigured:
        verified_builder(package, None, True)
    assert str(unconfigured.value) == (
        "signed-builds = true needs [tool.mlgate.ledger] allowed-signers, the file listing each "
        "builder's public SSH key"
    )
    assert verified_builder(package, None, False).name == "carol"
