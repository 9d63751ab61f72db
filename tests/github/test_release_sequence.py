"""The release workflow's jobs, run locally the way GitHub runs them, on a real project.

`local_runner` reads `.github/workflows/mlgate-release.yml` and the composite actions and runs
their scripts with the same environment variables the runner sets; the local target stands in
for production and a bare repository for GitHub (the ledger branch is pushed to it).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from local_runner import (
    ROOT,
    Runner,
    condition,
    evaluate,
    git,
    interpolate,
    load_yaml,
    run_job,
    with_defaults,
)

RELEASE = load_yaml(ROOT / ".github" / "workflows" / "mlgate-release.yml")

TINY_PYPROJECT = """\
[project]
name = "tiny"
version = "1.0.0"

[tool.mlgate.package]
models = ["models/*.json"]
code = ["src/tiny"]
entrypoint = "tiny.serve:load"

[[tool.mlgate.package.smoke]]
input = [1, 2]
expect = [2, 4]
"""

TINY_SERVE = """\
\"\"\"Serve the tiny model: multiply by the factor in models/model.json.\"\"\"

import json
from pathlib import Path


def load():
    model = Path(__file__).parents[2] / "models" / "model.json"
    factor = json.loads(model.read_text())["factor"]
    return lambda rows: [row * factor for row in rows]
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A small model project in a git repository."""
    project = tmp_path / "work"
    (project / "src" / "tiny").mkdir(parents=True)
    (project / "models").mkdir()
    (project / "pyproject.toml").write_text(TINY_PYPROJECT, encoding="utf-8")
    (project / "src" / "tiny" / "__init__.py").write_text("", encoding="utf-8")
    (project / "src" / "tiny" / "serve.py").write_text(TINY_SERVE, encoding="utf-8")
    (project / "models" / "model.json").write_text('{"factor": 2}\n', encoding="utf-8")
    git(tmp_path, "init", "-q", str(project))
    git(project, "add", "-A")
    git(project, "commit", "-qm", "tiny model")
    return project


def runner_for(workspace: Path, **inputs: Any) -> Runner:
    """A run of the release workflow in `workspace`, GitHub being a bare repo beside it."""
    server = workspace.parent / "github"
    (server / "team").mkdir(parents=True, exist_ok=True)
    github = {
        "actor": "carol",
        "repository": "team/model",
        "run_id": "4242",
        "server_url": f"file://{server}",
        "token": "not-a-real-token",
        "workspace": str(workspace),
    }
    clean = {key: value for key, value in os.environ.items() if not key.startswith("GITHUB_")}
    base = clean | {f"GITHUB_{key.upper()}": value for key, value in github.items()}
    base |= {"GITHUB_RUN_ATTEMPT": "1", "RUNNER_TEMP": str(workspace.parent / "runner-temp")}
    (workspace.parent / "runner-temp").mkdir(exist_ok=True)
    artifacts = workspace.parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    return Runner(workspace, with_defaults(RELEASE, inputs), github, base, artifacts=artifacts)


def test_the_build_job_builds_verifies_and_uploads_the_package(tiny: Path) -> None:
    runner = runner_for(tiny)
    build = run_job(runner, RELEASE, "build", {})
    assert build["result"] == "success", "\n".join(runner.log)
    digest = build["outputs"]["digest"]
    assert build["outputs"]["package"] == "tiny-1.0.0.mlpkg"
    assert build["outputs"]["artifact"] == "mlgate-package-4242-1"
    uploaded = runner.artifacts / "mlgate-package-4242-1" / "tiny-1.0.0.mlpkg"
    verified = subprocess.run(
        ["mlgate", "package", "verify", str(uploaded)], capture_output=True, text=True, check=True
    )
    assert verified.stdout == f"{uploaded}: ok tiny 1.0.0 {digest} (3 files)\n"
    summary = (runner.artifacts.parent / "summary-build.md").read_text(encoding="utf-8")
    assert f"| `dist/tiny-1.0.0.mlpkg` | `{digest}` |" in summary


def test_a_broken_project_fails_the_build_job(tiny: Path) -> None:
    (tiny / "pyproject.toml").write_text(
        TINY_PYPROJECT.replace("models/*.json", "nowhere/*.bin"), encoding="utf-8"
    )
    runner = runner_for(tiny)
    build = run_job(runner, RELEASE, "build", {})
    assert build["result"] == "failure"
    assert build["outputs"]["digest"] == ""
    assert not any(runner.artifacts.iterdir())


# --- the runner's expression subset ---------------------------------------------------------


CONTEXT = {
    "inputs": {"ledger-dir": "", "ledger-branch": "mlgate-ledger", "working-directory": "."},
    "github": {"workspace": "/w", "base_ref": ""},
    "needs": {"build": {"result": "success", "outputs": {"package": "p.mlpkg"}}},
}


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        (
            "inputs.ledger-dir"
            " || (inputs.ledger-branch != '' && format('{0}/.l', github.workspace))",
            "/w/.l",
        ),
        ("github.base_ref && format('origin/{0}', github.base_ref) || ''", ""),
        ("needs.build.outputs.package", "p.mlpkg"),
        ("!cancelled() && inputs.ledger-dir == ''", True),
        ("needs.missing.result", ""),
    ],
)
def test_expressions_evaluate_as_on_github(expression: str, value: object) -> None:
    assert evaluate(expression, CONTEXT) == value


def test_status_functions_decide_what_runs_after_a_failure() -> None:
    assert condition(None, CONTEXT, "success") is True
    assert condition(None, CONTEXT, "failure") is False
    assert condition("${{ inputs.ledger-dir == '' }}", CONTEXT, "failure") is False
    assert condition("${{ always() && inputs.ledger-dir == '' }}", CONTEXT, "failure") is True
    assert condition("${{ (failure() || cancelled()) }}", CONTEXT, "success") is False
    assert interpolate("run ${{ github.workspace }}: ${{ true }}", CONTEXT) == "run /w: true"
