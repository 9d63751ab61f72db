"""`mlgate releases` and `mlgate ledger verify|seal` on a real project folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgate.cli import main
from mlgate.pipelines.ledger import Record, append, ledger_for
from mlgate.pipelines.lock import Holder, env_lock

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.mlgate.environments.prod]\n")
    ledger = ledger_for(tmp_path / ".mlgate" / "ledger", "prod")
    steps = [
        Record("deploy-start", "ci", A, {"type": "deploy", "package": "iris 1.0"}),
        Record("deploy-end", "ci", A, {"deployment": 1, "outcome": "succeeded"}),
        Record("deploy-start", "ci", B, {"type": "deploy", "previous": A}),
    ]
    for number, step in enumerate(steps):
        append(ledger, step, f"2026-11-27T10:00:0{number}.000Z")
    return tmp_path / "pyproject.toml"


def test_releases_table_warns_about_interrupted(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["releases", "--env", "prod", "--config", str(project)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[1].split()[:3] == ["3", "deploy", "bbbbbbbbbbbb"]
    assert err == (
        "mlgate: warning: deploy #3 of bbbbbbbbbbbb to 'prod' was interrupted (last step: "
        "started); run `mlgate rollback --env prod --if-interrupted` or deploy again\n"
    )


def test_releases_running_deploy_is_not_interrupted(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = Holder(1, "now", "mlgate deploy")
    with env_lock(project.parent / ".mlgate" / "ledger", "prod", holder):
        assert main(["releases", "--env", "prod", "--config", str(project), "--limit", "1"]) == 0
    out, err = capsys.readouterr()
    assert (len(out.splitlines()), err) == (2, "")


def test_releases_json_limit(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["releases", "--env", "prod", "--config", str(project), "--format", "json"]
    assert main([*argv, "--limit", "2"]) == 0
    assert [item["id"] for item in json.loads(capsys.readouterr().out)] == [3, 1]


def test_releases_unknown_environment(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["releases", "--env", "staging", "--config", str(project)]) == 2
    assert "no environment 'staging'" in capsys.readouterr().err


def test_ledger_verify(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "verify", "--env", "prod", "--config", str(project)]) == 0
    path = project.parent / ".mlgate" / "ledger" / "prod.jsonl"
    assert capsys.readouterr().out == f"{path}: 3 entries, chain intact\n"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + lines[2])
    assert main(["ledger", "verify", "--env", "prod", "--config", str(project)]) == 1
    assert capsys.readouterr().err == (
        f"mlgate: error: {path}:2: entry has seq 3 where 2 was expected (entries deleted or "
        "moved); the ledger was tampered with\n"
    )


def test_ledger_verify_reports_interrupted_append(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = project.parent / ".mlgate" / "ledger" / "prod.head"
    lines = (project.parent / ".mlgate" / "ledger" / "prod.jsonl").read_text().splitlines()
    second = json.loads(lines[1])
    head.write_text(json.dumps({"seq": 2, "hash": second["hash"]}))
    assert main(["ledger", "verify", "--env", "prod", "--config", str(project)]) == 0
    assert capsys.readouterr().out.endswith(
        "3 entries, chain intact (the last append was interrupted before the head record "
        "was updated)\n"
    )


def test_ledger_needs_a_verb(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger"]) == 2
    assert "the following arguments are required: VERB" in capsys.readouterr().err


def test_ledger_seal_then_verify_with_the_key(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project.parent / ".mlgate" / "ledger" / "prod.jsonl"
    verify = ["ledger", "verify", "--env", "prod", "--config", str(project)]
    seal = ["ledger", "seal", "--env", "prod", "--config", str(project), "--by", "carol"]
    assert main(seal) == 2
    assert capsys.readouterr().err == (
        "mlgate: error: mlgate ledger seal signs with the ledger key: set MLGATE_LEDGER_KEY to "
        "it first\n"
    )
    monkeypatch.setenv("MLGATE_LEDGER_KEY", "0123456789abcdef" * 4)
    assert main(verify) == 1
    assert "entry 3, the last one, is not signed" in capsys.readouterr().err
    assert main(seal) == 0
    assert capsys.readouterr().out == (
        f"{path}: sealed entries 1-3 with entry 4, signed by the ledger key on behalf of carol\n"
    )
    assert main(seal) == 0
    assert capsys.readouterr().out == f"{path}: nothing to seal, the last entry is signed\n"
    assert main(verify) == 0
    assert capsys.readouterr().out == f"{path}: 4 entries, chain intact, signatures valid\n"
    assert main(["releases", "--env", "prod", "--config", str(project), "--format", "json"]) == 0
    assert [item["id"] for item in json.loads(capsys.readouterr().out)] == [3, 1]
    monkeypatch.setenv("MLGATE_LEDGER_KEY", "another key, just as long as the first")
    assert main(verify) == 1
    assert "prod.jsonl:4: entry's signature is not the ledger key's" in capsys.readouterr().err
    monkeypatch.delenv("MLGATE_LEDGER_KEY")
    assert main(verify) == 0
    assert capsys.readouterr().out.endswith(
        "4 entries, chain intact (signatures not checked: MLGATE_LEDGER_KEY is not set)\n"
    )


def test_a_signed_project_refuses_to_approve_without_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "pyproject.toml"
    project.write_text("[tool.mlgate.ledger]\nsigned = true\n[tool.mlgate.environments.prod]\n")
    monkeypatch.delenv("MLGATE_LEDGER_KEY", raising=False)
    assert main(["ledger", "seal", "--env", "prod", "--config", str(project)]) == 2
    capsys.readouterr()
    monkeypatch.setenv("MLGATE_LEDGER_KEY", "short")
    assert main(["ledger", "verify", "--env", "prod", "--config", str(project)]) == 2
    assert capsys.readouterr().err.startswith("mlgate: error: MLGATE_LEDGER_KEY has 5 characters")
    project.write_text("[tool.mlgate.ledger]\nsigned = 1\n[tool.mlgate.environments.prod]\n")
    assert main(["ledger", "verify", "--env", "prod", "--config", str(project)]) == 2
    assert capsys.readouterr().err == (
        "mlgate: error: [tool.mlgate.ledger].signed = 1: expected true or false\n"
    )


def test_stop_is_for_the_local_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "pyproject.toml"
    target = '{ kind = "command", deploy = ["true"], rollback = ["true"] }'
    project.write_text(f"[tool.mlgate.environments.prod]\ntarget = {target}\n")
    assert main(["stop", "--env", "prod", "--config", str(project)]) == 2
    assert capsys.readouterr().err == (
        "mlgate: error: 'prod' uses the command target, whose servers mlgate does not run; "
        "mlgate stop stops the local target's\n"
    )
    project.write_text("[tool.mlgate.environments.dev]\n")
    assert main(["stop", "--env", "dev", "--config", str(project)]) == 0
    assert capsys.readouterr().out == "stopped 0 process(es) of 'dev'\n"
