"""The pull-request workflow's jobs, run locally the way GitHub runs them, on a real pull request.

A bare repository plays GitHub; the workspace is a clone with `origin/main` and a feature branch
checked out, as actions/checkout with `fetch-depth: 0` leaves it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from local_runner import ROOT, Runner, git, load_yaml, run_job, with_defaults

PR = load_yaml(ROOT / ".github" / "workflows" / "mlgate-pr.yml")

PYPROJECT = """\
[project]
name = "calc"
version = "0.1.0"

[tool.mlgate]

[tool.coverage.run]
source = ["src"]
branch = true
"""

OLD_LONG = (
    "def old_long(x):\n" + "".join(f"    x = x + {n}\n" for n in range(22)) + "    return x\n"
)
NEW_LONG = (
    "def new_long(x):\n" + "".join(f"    x = x * {n}\n" for n in range(22)) + "    return x\n"
)
TEST = "from calc import double\n\n\ndef test_double():\n    assert double(2) == 4\n"


def clone_on_main(tmp_path: Path) -> Path:
    """A clone, on branch main, of an empty bare repository playing GitHub."""
    remote, work = tmp_path / "remote.git", tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", "--initial-branch=main", str(remote))
    git(tmp_path, "clone", "-q", str(remote), str(work))
    git(work, "checkout", "-q", "-b", "main")
    return work


def push_main_then_branch(work: Path, message: str) -> None:
    """Commit everything to main, push it, and check out the pull request's branch `feature`."""
    git(work, "add", "-A")
    git(work, "commit", "-qm", message)
    git(work, "push", "-q", "origin", "main")
    git(work, "checkout", "-q", "-b", "feature")


@pytest.fixture
def pull_request(tmp_path: Path) -> Path:
    """A clone whose feature branch adds a long, untested function to a project on main."""
    work = clone_on_main(tmp_path)
    (work / "src").mkdir()
    (work / "tests").mkdir()
    (work / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    source = "def double(x):\n    return 2 * x\n\n\n" + OLD_LONG
    (work / "src" / "calc.py").write_text(source, encoding="utf-8")
    (work / "tests" / "test_calc.py").write_text(TEST, encoding="utf-8")
    (work / "conftest.py").write_text("import sys\n\nsys.path.insert(0, 'src')\n", "utf-8")
    push_main_then_branch(work, "calc")
    (work / "src" / "calc.py").write_text(source + "\n\n" + NEW_LONG, encoding="utf-8")
    git(work, "commit", "-qam", "new_long")
    return work


def runner_for(workspace: Path, **inputs: Any) -> Runner:
    """A pull_request run of the reusable PR workflow against base branch main."""
    head = git(workspace, "rev-parse", "HEAD").strip()
    base = git(workspace, "rev-parse", "origin/main").strip()
    github: dict[str, Any] = {
        "base_ref": "main",
        "event": {"pull_request": {"base": {"sha": base}, "head": {"sha": head}}},
        "workspace": str(workspace),
        "run_id": "7",
    }
    ignored = ("GITHUB_", "COV_CORE_", "COVERAGE_", "PYTEST_")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(ignored)}
    base_env |= {"GITHUB_WORKSPACE": str(workspace), "RUNNER_TEMP": str(workspace.parent)}
    base_env |= {"GITHUB_REPOSITORY": "team/calc"}
    artifacts = workspace.parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    given = {"pre-commit": False, **inputs}
    return Runner(workspace, with_defaults(PR, given), github, base_env, artifacts=artifacts)


def test_lint_reports_only_the_changed_lines_as_annotations_sarif_and_summary(
    pull_request: Path,
) -> None:
    runner = runner_for(pull_request)
    lint = run_job(runner, PR, "lint", {})
    log = "\n".join(runner.log)
    assert lint["result"] == "failure", log
    assert (
        "::error file=src/calc.py,line=31,col=1,title=MLG101::"
        "function `new_long` has 23 code lines (limit 20)" in log
    )
    assert "old_long" not in log
    sarif = json.loads((pull_request / "mlgate.sarif").read_text(encoding="utf-8"))
    results = sarif["runs"][0]["results"]
    assert [
        (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results
    ] == [("MLG101", 31)]
    assert "  github/codeql-action/upload-sarif" in runner.log
    summary = (runner.artifacts.parent / "summary-lint.md").read_text(encoding="utf-8")
    assert "| function-too-long | 1 |" in summary


def test_the_tests_job_gates_the_coverage_of_the_changed_lines(pull_request: Path) -> None:
    runner = runner_for(pull_request, **{"diff-coverage": 80})
    tests = run_job(runner, PR, "tests", {})
    log = "\n".join(runner.log)
    assert tests["result"] == "failure", log
    assert "1 passed" in log
    summary = (runner.artifacts.parent / "summary-tests.md").read_text(encoding="utf-8")
    assert "### Coverage\n" in summary
    assert "### Coverage of the changed lines\n" in summary
    assert "- src/calc&#46;py (4.2%): Missing lines 32-54\n" in summary
    assert "- **Total**: 24 lines\n- **Missing**: 23 lines\n- **Coverage**: 4%" in summary


def test_a_covered_change_passes_both_jobs(pull_request: Path) -> None:
    short = "def triple(x):\n    return 3 * x\n"
    calc = pull_request / "src" / "calc.py"
    calc.write_text(
        calc.read_text(encoding="utf-8").split("\n\n\ndef new_long")[0] + "\n\n\n" + short
    )
    test = pull_request / "tests" / "test_calc.py"
    test.write_text(
        TEST.replace("double\n", "double, triple\n") + "\n\ndef test_triple():\n"
        "    assert triple(2) == 6\n",
        encoding="utf-8",
    )
    git(pull_request, "commit", "-qam", "triple, tested")
    runner = runner_for(pull_request)
    assert run_job(runner, PR, "lint", {})["result"] == "success", "\n".join(runner.log)
    assert run_job(runner, PR, "tests", {})["result"] == "success", "\n".join(runner.log)


# --- the example project, as mlgate's own CI checks it ------------------------------------------

CI = load_yaml(ROOT / ".github" / "workflows" / "ci.yml")


@pytest.fixture
def example_pull_request(tmp_path: Path) -> Path:
    """mlgate's checkout on a pull request that retunes the example's model."""
    work = clone_on_main(tmp_path)
    ignored = shutil.ignore_patterns("models", "dist", ".mlgate", "metrics.json", ".coverage*")
    shutil.copytree(ROOT / "examples" / "iris", work / "examples" / "iris", ignore=ignored)
    push_main_then_branch(work, "example")
    train = work / "examples" / "iris" / "train.py"
    text = train.read_text(encoding="utf-8")
    train.write_text(text.replace("max_iter=1000", "max_iter=2000"), encoding="utf-8")
    git(work, "commit", "-qam", "more iterations")
    return work


def test_ci_checks_the_example_with_the_inputs_ci_yml_gives(example_pull_request: Path) -> None:
    call = CI["jobs"]["example-pr"]
    assert call["uses"] == "./.github/workflows/mlgate-pr.yml"
    runner = runner_for(example_pull_request, **call["with"])
    assert run_job(runner, PR, "lint", {})["result"] == "success", "\n".join(runner.log)
    assert run_job(runner, PR, "tests", {})["result"] == "success", "\n".join(runner.log)
    log = "\n".join(runner.log)
    assert "2 passed" in log
    assert "github/codeql-action/upload-sarif" not in log
    summary = (runner.artifacts.parent / "summary-tests.md").read_text(encoding="utf-8")
    assert "examples/iris/train&#46;py (100%)" in summary
    assert "- **Total**: 1 line\n- **Missing**: 0 lines\n- **Coverage**: 100%" in summary


# --- what teams run into on their first pull requests --------------------------------------


def test_a_repository_with_no_tests_yet_passes_and_says_so(pull_request: Path) -> None:
    shutil.rmtree(pull_request / "tests")
    git(pull_request, "commit", "-qam", "no tests yet")
    runner = runner_for(pull_request)
    tests = run_job(runner, PR, "tests", {})
    assert tests["result"] == "success", "\n".join(runner.log)
    summary = (runner.artifacts.parent / "summary-tests.md").read_text(encoding="utf-8")
    assert summary.startswith("### Tests\n\nNo tests yet: pytest collected none")
    assert "Coverage of the changed lines" not in summary


def test_a_merge_group_is_checked_against_its_base(pull_request: Path) -> None:
    base = git(pull_request, "rev-parse", "origin/main").strip()
    head = git(pull_request, "rev-parse", "HEAD").strip()
    runner = runner_for(pull_request)
    runner.github["base_ref"] = ""
    runner.github["event"] = {"merge_group": {"base_sha": base, "head_sha": head}}
    lint = run_job(runner, PR, "lint", {})
    log = "\n".join(runner.log)
    assert lint["result"] == "failure", log
    assert "title=MLG101::function `new_long` has 23 code lines" in log
    assert "old_long" not in log


def test_sarif_is_uploaded_only_where_code_scanning_exists(pull_request: Path) -> None:
    bin_dir = pull_request.parent / "bin"
    bin_dir.mkdir()
    refusal = "Advanced Security must be enabled for this repository to use code scanning"
    (bin_dir / "gh").write_text(f"#!/bin/sh\necho '{refusal} (HTTP 403)' >&2\nexit 1\n")
    (bin_dir / "gh").chmod(0o755)
    runner = runner_for(pull_request)
    runner.base_env["PATH"] = f"{bin_dir}{os.pathsep}{runner.base_env['PATH']}"
    runner.github["event"]["repository"] = {"private": True}
    run_job(runner, PR, "lint", {})
    log = "\n".join(runner.log)
    assert "github/codeql-action/upload-sarif" not in log
    assert "  Is code scanning available: 0\n::notice::code scanning is not available" in log
    summary = (runner.artifacts.parent / "summary-lint.md").read_text(encoding="utf-8")
    assert "| function-too-long | 1 |" in summary
    assert "SARIF not uploaded: code scanning is not available in this repository." in summary
    (bin_dir / "gh").write_text("#!/bin/sh\necho 'no analysis found (HTTP 404)' >&2\nexit 1\n")
    enabled = runner_for(pull_request)
    enabled.base_env["PATH"] = runner.base_env["PATH"]
    enabled.github["event"]["repository"] = {"private": True}
    run_job(enabled, PR, "lint", {})
    assert "  Is code scanning available: 0\n" in enabled.log
    assert "  github/codeql-action/upload-sarif" in enabled.log
