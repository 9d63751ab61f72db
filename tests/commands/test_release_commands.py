"""Bad input to `mlgate approve`, `deploy` and `rollback`: exit 2 and one line on stderr that
says what is wrong and how to fix it, never a traceback, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgate.cli import main
from mlgate.pipelines.package import BuildOptions, Package, build_package

PYPROJECT = """
[tool.mlgate.package]
name = "tiny"
version = "1"
models = ["model.json"]
code = ["serve.py"]
entrypoint = "serve:load"
pythonpath = ["."]

[tool.mlgate.environments.prod.approval]
approvers = ["alice", "bob"]
expires = "8h"
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Package:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "model.json").write_text(json.dumps({"factor": 2}))
    (tmp_path / "serve.py").write_text("def load():\n    return lambda x: x * 2\n")
    return build_package(tmp_path, BuildOptions(out_dir=tmp_path / "dist", builder="carol"))


def _mlgate(package: Package, *argv: str) -> int:
    return main([*argv, "--config", str(package.path.parents[1] / "pyproject.toml")])


def test_expires_longer_than_the_policy(tiny: Package, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("approve", str(tiny.path), "--env", "prod", "--by", "alice", "--expires", "3650d")
    assert _mlgate(tiny, *argv) == 2
    assert capsys.readouterr().err == (
        "mlgate: error: --expires 3650d is longer than 'prod' allows (approval expires = 8h); "
        "give a shorter --expires or leave it out\n"
    )
    assert not (tiny.path.parents[1] / ".mlgate").exists()
    assert _mlgate(tiny, *argv[:-1], "soon") == 2
    assert capsys.readouterr().err == (
        "mlgate: error: --expires = 'soon': expected seconds or a duration like '30s', '24h'\n"
    )
    assert _mlgate(tiny, *argv[:-1], "90m") == 0
    assert capsys.readouterr().out.startswith(
        f"approved {tiny.digest} (tiny 1) for 'prod' by alice"
    )


def test_unsatisfiable_policy(tiny: Package, capsys: pytest.CaptureFixture[str]) -> None:
    config = tiny.path.parents[1] / "pyproject.toml"
    config.write_text(PYPROJECT + "min-approvals = 3\n")
    for argv in (
        ("approve", str(tiny.path), "--env", "prod", "--by", "alice"),
        ("deploy", str(tiny.path), "--env", "prod"),
        ("rollback", "--env", "prod"),
    ):
        assert _mlgate(tiny, *argv) == 2
        assert capsys.readouterr().err == (
            "mlgate: error: [tool.mlgate.environments.prod].approval: min-approvals = 3 but only "
            "2 approver(s) (alice, bob) may approve: no deploy could ever pass; lower "
            "min-approvals or add approvers\n"
        )
    assert not (config.parent / ".mlgate").exists()


def test_rollback_to_an_unknown_release(tiny: Package, capsys: pytest.CaptureFixture[str]) -> None:
    assert _mlgate(tiny, "rollback", "--env", "prod", "--to", "abc") == 1
    assert capsys.readouterr().err == (
        "mlgate: error: nothing was deployed to 'prod': nothing to roll back\n"
    )
    assert _mlgate(tiny, "rollback", "--env", "prod", "--if-interrupted") == 0
    assert capsys.readouterr().out == (
        "the last deployment to 'prod' finished; nothing to roll back\n"
    )
