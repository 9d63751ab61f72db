"""What users get: the built wheel installed into a fresh virtual environment, and the
pre-commit hook run by a real pre-commit."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from workspace import git, write

ROOT = Path(__file__).resolve().parents[1]
BAD = "def f():\n    try:\n        return 1\n    except:\n        return 2\n"
GOOD = "def f():\n    return 1\n"


def run(*command: str | Path, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        out,
        ROOT,
        cwd=out,
    )
    assert done.returncode == 0, done.stderr
    [built] = out.glob("mlgate-*.whl")
    return built


def test_the_wheel_holds_only_the_mlgate_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        declared = archive.read(entry_points).decode()
    assert {name.split("/")[0] for name in names if ".dist-info/" not in name} == {"mlgate"}
    assert "MLG = mlgate.linters.flake8_plugin:Plugin" in declared
    assert "mlgate = mlgate.cli:main" in declared


@pytest.mark.slow
def test_installed_wheel_gives_mlgate_and_the_flake8_plugin(wheel: Path, tmp_path: Path) -> None:
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    done = run(python, "-m", "pip", "install", "-q", wheel, "flake8", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    work = tmp_path / "work"
    write(work, {"bad.py": BAD})
    lint = run(env / "bin" / "mlgate", "lint", "bad.py", cwd=work)
    assert lint.returncode == 1
    assert lint.stdout.startswith("bad.py:4:5: MLG201 ")
    flake8 = run(python, "-m", "flake8", "--select", "MLG", "bad.py", cwd=work)
    assert flake8.returncode == 1
    assert flake8.stdout.splitlines() == lint.stdout.splitlines()[:-1]
    for name in ("linters", "pipelines"):
        probe = run(python, "-c", f"import {name}", cwd=work)
        assert probe.returncode == 1
        assert f"ModuleNotFoundError: No module named '{name}'" in probe.stderr


@pytest.mark.slow
def test_pre_commit_hook_fails_then_passes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    git(tmp_path, "init", "-q", "project")
    excluded = '[tool.mlgate]\nextend-exclude = ["vendor/"]\n'
    files = {"pkg/model.py": BAD, "vendor/lib.py": BAD, "pyproject.toml": excluded}
    write(project, {**files, "README.md": "not python\n"})
    git(project, "add", ".")
    command = (sys.executable, "-m", "pre_commit", "try-repo", ROOT, "mlgate", "--all-files")
    home = str(tmp_path / "pre-commit-home")
    first = run(*command, cwd=project, PRE_COMMIT_HOME=home)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "pkg/model.py:4:5: MLG201 " in first.stdout
    assert "vendor/lib.py" not in first.stdout  # pre-commit names it; the hook excludes it
    write(project, {"pkg/model.py": GOOD})
    git(project, "add", ".")
    second = run(*command, cwd=project, PRE_COMMIT_HOME=home)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "mlgate lint" in second.stdout


def test_the_wheel_carries_the_license_and_py_typed(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [license_file] = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        assert archive.read(license_file) == (ROOT / "LICENSE").read_bytes()
        assert archive.read("mlgate/py.typed") == b""
        fields = archive.read(metadata).decode().split("\n\n")[0].splitlines()
    assert "License-Expression: MIT" in fields
    assert "License-File: LICENSE" in fields
    assert "Project-URL: Source, https://github.com/mlgate/mlgate" in fields
    assert (
        "Project-URL: Changelog, https://github.com/mlgate/mlgate/blob/main/CHANGELOG.md" in fields
    )


def test_the_sdist_carries_the_license_and_the_docs(tmp_path: Path) -> None:
    build = "import sys; from hatchling.build import build_sdist; print(build_sdist(sys.argv[1]))"
    done = run(sys.executable, "-c", build, tmp_path, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    with tarfile.open(tmp_path / done.stdout.strip()) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {
        "LICENSE",
        "CHANGELOG.md",
        "mkdocs.yml",
        "docs/index.md",
        "src/mlgate/py.typed",
    } <= names


def clone(tmp_path: Path) -> Path:
    """A fresh clone of this repository's committed history, without its tags."""
    target = tmp_path / "clone"
    done = run("git", "clone", "-q", "--no-tags", ROOT, target, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return target


def built_version(source: Path, out: Path) -> str:
    """The version of the wheel pip builds from `source`, as its file name says."""
    out.mkdir()
    done = run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
               "-w", out, source, cwd=out)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [built] = out.glob("mlgate-*.whl")
    return built.name.split("-")[1]


@pytest.mark.slow
def test_the_version_is_the_git_tag(tmp_path: Path) -> None:
    source = clone(tmp_path)
    git(source, "tag", "v9.8.7")
    assert built_version(source, tmp_path / "tagged") == "9.8.7"


@pytest.mark.slow
def test_a_clone_without_tags_builds_a_development_version(tmp_path: Path) -> None:
    source = clone(tmp_path)
    commits = git(source, "rev-list", "--count", "HEAD").strip()
    short = git(source, "rev-parse", "--short=9", "HEAD").strip()
    version = built_version(source, tmp_path / "untagged")
    assert version == f"0.0.1.dev{commits}+g{short}"


@pytest.mark.slow
def test_a_copy_without_git_builds_the_fallback_version(tmp_path: Path) -> None:
    source = clone(tmp_path)
    shutil.rmtree(source / ".git")
    assert built_version(source, tmp_path / "plain") == "0.0.0"


@pytest.mark.slow
def test_the_hook_runs_once_and_prints_one_summary(tmp_path: Path) -> None:
    project = tmp_path / "project"
    git(tmp_path, "init", "-q", "project")
    write(project, {f"pkg/m{n}.py": GOOD for n in range(40)})
    git(project, "add", ".")
    command = (sys.executable, "-m", "pre_commit", "try-repo", ROOT, "mlgate", "--all-files")
    done = run(*command, "--verbose", cwd=project, PRE_COMMIT_HOME=str(tmp_path / "home"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("All checks passed") == 1
    assert "All checks passed (40 files checked).\n" in done.stdout


def test_the_version_comes_from_the_installed_metadata() -> None:
    import mlgate

    assert mlgate.__version__ == importlib.metadata.version("mlgate")
    with pytest.raises(AttributeError, match="module 'mlgate' has no attribute 'nothing'"):
        _ = mlgate.nothing


def test_a_source_tree_that_was_never_installed_says_0_0_0(tmp_path: Path) -> None:
    probe = "import sys; sys.path.insert(0, sys.argv[1]); import mlgate; print(mlgate.__version__)"
    # -S: no site-packages, so no installed distribution of mlgate is visible.
    done = run(sys.executable, "-I", "-S", "-c", probe, ROOT / "src", cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "0.0.0\n", "")


def publish_steps() -> dict[str, Any]:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "publish.yml").read_text("utf-8"))
    return {step["name"]: step for step in workflow["jobs"]["build"]["steps"]}


@pytest.mark.slow
def test_the_publish_checks_pass_on_a_tagged_build(tmp_path: Path) -> None:
    """The publish workflow's own check and smoke-test scripts, run on a build of a v9.8.7 tag."""
    source = clone(tmp_path)
    git(source, "tag", "v9.8.7")
    build = "from hatchling.build import build_sdist as s, build_wheel as w; s('dist'); w('dist')"
    done = run(sys.executable, "-c", build, cwd=source)
    assert done.returncode == 0, done.stderr
    steps = publish_steps()
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # `python` is ours
    env = {"TAG": "v9.8.7", "RUNNER_TEMP": str(tmp_path), "PATH": path}
    for name in (
        "Check the metadata and the long description",
        "Check that the version is the tag",
        "Install the wheel in a fresh environment and run it",
    ):
        script = steps[name]["run"]
        done = run(
            "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script, cwd=source, **env
        )
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
    assert (
        run(tmp_path / "smoke" / "bin" / "mlgate", "--version", cwd=tmp_path).stdout
        == "mlgate 9.8.7\n"
    )


def test_the_publish_workflow_runs_on_version_tags_with_least_privilege() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "publish.yml").read_text("utf-8"))
    assert workflow[True] == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+*"]}}  # YAML 1.1: on is True
    build, publish = workflow["jobs"]["build"], workflow["jobs"]["publish"]
    assert (build["permissions"], publish["permissions"]) == (
        {"contents": "read", "attestations": "write", "id-token": "write"},
        {"id-token": "write"},
    )
    [attest] = [s for s in build["steps"] if "attest-build-provenance@" in s.get("uses", "")]
    assert attest["with"] == {"subject-path": "dist/*"}
    assert publish["environment"]["name"] == "pypi"
    assert publish["needs"] == "build"
    names = [
        step["with"]["name"]
        for step in [*build["steps"], *publish["steps"]]
        if step.get("uses", "").startswith(
            ("actions/upload-artifact@", "actions/download-artifact@")
        )
    ]
    assert names == ["dist", "dist"]
    assert publish["steps"][-1]["uses"].startswith("pypa/gh-action-pypi-publish@")
    assert "password" not in publish["steps"][-1].get("with", {})
