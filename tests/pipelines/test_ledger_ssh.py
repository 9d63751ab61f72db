"""A ledger signed with SSH keys (real ssh-keygen): verifying needs only the committed public
keys, and a forged, edited or re-chained ledger is refused by `ledger verify` and by `deploy`.
Also the migration from an HMAC-signed ledger."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest

from mlgate.cli import main
from mlgate.errors import ConfigError, GateError
from mlgate.pipelines import signing
from mlgate.pipelines.environments import release_config
from mlgate.pipelines.ledger import Ledger, Record, append, read_entries, seal
from mlgate.pipelines.package import BuildOptions, build_package

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
ssh-signed = SIGNED
writers = ["ci"]

[tool.mlgate.environments.prod]
approval = { approvers = ["alice"] }
"""
AT = "2026-12-01T09:00:00.000Z"
HMAC = "0123456789abcdef" * 4


class Project(NamedTuple):
    config: Path
    keys: dict[str, Path]

    def ledger(self, **environ: str) -> Ledger:
        return release_config(self.config, environ).ledger("prod")

    def mlgate(self, *argv: str) -> int:
        return main([*argv, "--env", "prod", "--config", str(self.config)])


def _key(folder: Path, name: str) -> Path:
    path = folder / name
    command = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)]
    subprocess.run(command, check=True)
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    keys = {name: _key(tmp_path, name) for name in ("ci", "mallory")}
    public = " ".join(keys["ci"].with_suffix(".pub").read_text().split()[:2])
    (tmp_path / "allowed_signers").write_text(f"ci {public}\n")
    config = tmp_path / "pyproject.toml"
    config.write_text(PYPROJECT.replace("SIGNED", "true"))
    monkeypatch.setenv("MLGATE_LEDGER_SSH_KEY", str(keys["ci"]))
    monkeypatch.delenv("MLGATE_LEDGER_KEY", raising=False)
    return Project(config, keys)


def _write(project: Project, count: int) -> None:
    ledger = project.ledger(MLGATE_LEDGER_SSH_KEY=str(project.keys["ci"]))
    for number in range(count):
        append(ledger, Record("approval", "alice", "sha256:1", {"n": number}), AT)


def _rewrite(path: Path, lines: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(line, sort_keys=True) + "\n" for line in lines))


def test_signed_entries_verify_with_public_keys_only(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(project, 2)
    entries = read_entries(project.ledger())
    assert [entry.sig.split("\n")[:2] for entry in entries] == [
        ["ssh:ci", "-----BEGIN SSH SIGNATURE-----"],
        ["ssh:ci", "-----BEGIN SSH SIGNATURE-----"],
    ]
    monkeypatch.delenv("MLGATE_LEDGER_SSH_KEY")  # a reader: the public keys are enough
    assert project.mlgate("ledger", "verify") == 0
    path = project.ledger().path
    assert capsys.readouterr().out == f"{path}: 2 entries, chain intact, signatures valid\n"


def test_a_forged_entry_with_a_recomputed_chain_is_refused(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(project, 1)
    forger = Ledger(project.ledger().path)  # write access, no allowed key
    append(forger, Record("approval", "bob", "sha256:1", {}), AT)
    refusal = (
        f"mlgate: error: {forger.path}:2: entry without an SSH signature after SSH-signed ones; "
        "the ledger was tampered with\n"
    )
    assert project.mlgate("ledger", "verify") == 1
    assert capsys.readouterr().err == refusal
    root = project.config.parent
    (root / "model.json").write_text("{}")
    (root / "serve.py").write_text("def load():\n    return lambda x: x\n")
    package = build_package(root, BuildOptions(out_dir=root / "dist", builder="carol"))
    assert project.mlgate("deploy", str(package.path)) == 1
    assert capsys.readouterr().err == refusal


def test_a_chain_rebuilt_from_scratch_is_refused(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(project, 2)
    path = project.ledger().path
    path.unlink()
    path.with_suffix(".head").unlink()
    append(Ledger(path), Record("approval", "alice", "sha256:2", {}), AT)
    assert project.mlgate("ledger", "verify") == 1
    assert "entry 1, the last one, is not signed with an allowed SSH key" in (
        capsys.readouterr().err
    )


def test_edited_and_foreign_signatures_are_refused(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(project, 2)
    path = project.ledger().path
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    # mallory signs an entry of her own making and claims to be ci
    body = {key: lines[1][key] for key in ("at", "by", "data", "digest", "kind", "prev", "seq")}
    body["data"] = {"n": 99}
    body["hash"] = seal({**body})
    forged = signing.sign(project.keys["mallory"], signing.LEDGER, str(body["hash"]).encode())
    _rewrite(path, [lines[0], {**body, "sig": f"ssh:ci\n{forged}"}])
    assert project.mlgate("ledger", "verify") == 1
    assert capsys.readouterr().err == (
        f"mlgate: error: {path}:2: entry's SSH signature does not verify against the allowed "
        "signers as a ledger writer (forged, edited, or made by a key that may not sign the "
        "ledger); the ledger was tampered with\n"
    )
    # ci's genuine signature kept on an edited entry
    edited = {**body, "sig": lines[1]["sig"]}
    _rewrite(path, [lines[0], edited])
    assert project.mlgate("ledger", "verify") == 1
    assert f"{path}:2: entry's SSH signature does not verify" in capsys.readouterr().err


def test_a_head_cut_back_and_unsigned_is_refused(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(project, 2)
    ledger = project.ledger()
    first = read_entries(ledger)[0]
    ledger.path.write_text(ledger.path.read_text().splitlines(keepends=True)[0])
    ledger.head_path.write_text(json.dumps({"hash": first.hash, "seq": 1}))
    assert project.mlgate("ledger", "verify") == 1
    assert capsys.readouterr().err == (
        f"mlgate: error: {ledger.head_path}: the head record is not signed by an allowed SSH "
        "key of a ledger writer; the ledger was tampered with\n"
    )


def test_writers_need_the_key(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLGATE_LEDGER_SSH_KEY")
    assert project.mlgate("ledger", "seal") == 2
    with pytest.raises(GateError, match="MLGATE_LEDGER_SSH_KEY is not set; give this job its key"):
        append(project.ledger(), Record("approval", "alice", "sha256:1", {}), AT)
    monkeypatch.setenv("MLGATE_LEDGER_SSH_KEY", str(project.keys["mallory"]))
    refusal = r"mallory may not sign the ledger \(it is not in .*allowed_signers; ledger writers"
    with pytest.raises(GateError, match=refusal):
        append(
            project.ledger(MLGATE_LEDGER_SSH_KEY=str(project.keys["mallory"])),
            Record("approval", "alice", "sha256:1", {}),
            AT,
        )


def test_migration_from_an_hmac_ledger(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project.config.write_text(PYPROJECT.replace("SIGNED", "false"))
    hmac_ledger = project.ledger(MLGATE_LEDGER_KEY=HMAC)
    append(hmac_ledger, Record("approval", "alice", "sha256:1", {}), AT)
    project.config.write_text(PYPROJECT.replace("SIGNED", "true"))
    assert project.mlgate("ledger", "verify") == 1
    assert "entry 1, the last one, is not signed with an allowed SSH key" in (
        capsys.readouterr().err
    )
    assert project.mlgate("ledger", "seal", "--by", "ops") == 0
    assert capsys.readouterr().out.endswith(
        "sealed entries 1-1 with entry 2, signed by the ledger key on behalf of ops\n"
    )
    monkeypatch.setenv("MLGATE_LEDGER_KEY", HMAC)  # the old entries still check with the old key
    assert project.mlgate("ledger", "verify") == 0
    assert capsys.readouterr().out.endswith("2 entries, chain intact, signatures valid\n")
    assert [entry.sig[:4] for entry in read_entries(project.ledger())] == ["hmac", "ssh:"]


def test_ssh_signed_needs_allowed_signers(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.mlgate.ledger]\nssh-signed = true\n")
    with pytest.raises(ConfigError) as bad:
        release_config(config, {})
    assert str(bad.value) == (
        "[tool.mlgate.ledger]: ssh-signed = true needs allowed-signers, the path of the "
        "allowed_signers file that lists the public SSH key of each ledger writer"
    )


def test_an_earlier_entry_edited_and_the_chain_recomputed_is_refused(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the last entry's signature is checked: its hash covers every entry before it."""
    _write(project, 3)
    path = project.ledger().path
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    lines[0]["data"] = {"n": 99}
    prev = "sha256:" + "0" * 64
    for line in lines:  # genuine signatures kept, every hash and link recomputed
        line["prev"] = prev
        body = {key: value for key, value in line.items() if key not in ("hash", "sig")}
        line["hash"] = prev = seal(body)
    _rewrite(path, lines)
    assert project.mlgate("ledger", "verify") == 1
    assert capsys.readouterr().err.startswith(
        f"mlgate: error: {path}:3: entry's SSH signature does not verify against the allowed "
        "signers"
    )
