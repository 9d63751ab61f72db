"""The deploy action's `mlgate approve` step, run by bash as the runner runs it: the reviewers'
logins are passed one by one, never word-split into options or globbed into file names."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from mlgate.pipelines.environments import release_config
from mlgate.pipelines.ledger import read_entries
from mlgate.pipelines.package import BuildOptions, build_package

ACTION = Path(__file__).resolve().parents[2] / "pipelines" / "deploy" / "action.yml"
PROJECT = """
[tool.mlgate.package]
name = "tiny"
version = "1"
models = ["model.json"]
code = ["serve.py"]
entrypoint = "serve:load"
pythonpath = ["."]

[tool.mlgate.environments.prod]
approval = { min-approvals = 2 }
"""


def _approve_script() -> str:
    steps = yaml.safe_load(ACTION.read_text(encoding="utf-8"))["runs"]["steps"]
    return str(next(step["run"] for step in steps if step["name"] == "mlgate approve"))


def test_approvers_are_neither_globbed_nor_split_into_options(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "model.json").write_text("{}", encoding="utf-8")
    (tmp_path / "serve.py").write_text("def load():\n    return lambda x: x\n", encoding="utf-8")
    options = BuildOptions(out_dir=tmp_path / "dist", builder="carol", environ={})
    package = build_package(tmp_path, options).path
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MLGATE_", "GITHUB_"))}
    given = {"PACKAGE": str(package), "ENVIRONMENT": "prod", "APPROVERS": "* -alice", "NOTE": ""}
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _approve_script()],
        cwd=tmp_path,
        env={**environ, **given},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    ledger = release_config(tmp_path / "pyproject.toml", {}).ledger("prod")
    assert [entry.by for entry in read_entries(ledger)] == ["*", "-alice"]
