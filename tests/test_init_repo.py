"""`mlgate init`: templates written into real folders, pyproject.toml merged with tomlkit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tomlkit

from mlgate.cli import main
from mlgate.init_repo import (
    FILES,
    MANUAL_STEPS,
    PRE_COMMIT,
    Action,
    init_repo,
    pre_commit_template,
    template_text,
)

EXISTING_PYPROJECT = """\
# Our project.
[project]
name = "churn"  # the model's name
version = "1.2.0"

[tool.ruff]
line-length = 100   # wide screens

[tool.ruff.lint]
select = ["E", "F"]
"""


def written(tmp_path: Path) -> dict[str, str]:
    """Every file under `tmp_path`, by relative path."""
    return {
        str(path.relative_to(tmp_path)): path.read_text(encoding="utf-8")
        for path in sorted(tmp_path.rglob("*"))
        if path.is_file() and ".git" not in path.parts
    }


def production_paths(pyproject: str) -> object:
    """The production profile's `paths` in a pyproject.toml text."""
    return tomlkit.parse(pyproject).unwrap()["tool"]["mlgate"]["profiles"]["production"]["paths"]


def snapshot(root: Path) -> dict[Path, tuple[int, bytes]]:
    """Each file's modification time and bytes."""
    files = (path for path in root.rglob("*") if path.is_file())
    return {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in files}


def test_init_writes_every_template_into_an_empty_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert main(["init", str(tmp_path)]) == 0
    files = written(tmp_path)
    assert sorted(files) == sorted([*FILES, "pyproject.toml"])
    for dest, source in FILES.items():
        expected = pre_commit_template() if dest == PRE_COMMIT else template_text(source)
        assert files[dest] == expected
    mlgate = tomlkit.parse(files["pyproject.toml"]).unwrap()["tool"]["mlgate"]
    assert mlgate["max-function-lines"] == 20
    assert mlgate["profiles"]["production"]["paths"] == ["src/**"]
    assert mlgate["profiles"]["experiment"]["ignore"] == ["MLG101", "MLG102", "MLG301", "MLG302"]
    out = capsys.readouterr().out
    assert "  wrote     .github/workflows/mlgate-pr.yml\n" in out
    assert "  wrote     pyproject.toml: set tool\n" in out
    assert "  1. Create the `production` environment" in out
    assert "Protect the default branch" in out
    assert "not a git repository" not in out


def test_a_second_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text(EXISTING_PYPROJECT, encoding="utf-8")
    assert main(["init", str(tmp_path)]) == 0
    before = snapshot(tmp_path)
    capsys.readouterr()
    assert main(["init", str(tmp_path)]) == 0
    assert snapshot(tmp_path) == before
    out = capsys.readouterr().out
    assert "Nothing written: the repository already has what mlgate init writes.\n" in out
    assert "  unchanged pyproject.toml\n" in out


def test_the_merge_keeps_the_existing_pyproject_byte_for_byte(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(EXISTING_PYPROJECT, encoding="utf-8")
    actions = init_repo(tmp_path)
    assert actions[-1] == Action(
        "pyproject.toml", "updated", "set tool.mlgate, tool.ruff.lint.external"
    )
    text = (tmp_path / "pyproject.toml").read_text(encoding="utf-8")
    assert text.startswith(EXISTING_PYPROJECT.replace('"F"]\n', '"F"]\nexternal = ["MLG"]\n'))
    assert "# Code that ships: every rule, default thresholds; MLG303 reports imports" in text
    assert tomlkit.parse(text).unwrap()["project"]["name"] == "churn"


def test_existing_mlgate_settings_are_kept_and_missing_ones_added(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.mlgate]\nmax-function-lines = 30  # agreed in review\n", encoding="utf-8"
    )
    actions = init_repo(tmp_path)
    assert actions[-1] == Action(
        "pyproject.toml",
        "updated",
        "set tool.mlgate.max-parameters, tool.mlgate.profiles, tool.ruff; kept your "
        "tool.mlgate.max-function-lines (--force sets the template's values)",
    )
    text = (tmp_path / "pyproject.toml").read_text(encoding="utf-8")
    assert "max-function-lines = 30  # agreed in review\n" in text
    assert tomlkit.parse(text).unwrap()["tool"]["mlgate"]["profiles"]["production"]["paths"] == [
        "src/**"
    ]
    assert init_repo(tmp_path)[-1] == Action(
        "pyproject.toml",
        "kept",
        "kept your tool.mlgate.max-function-lines (--force sets the template's values)",
    )


def test_ruff_keeps_mlgate_noqa_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = '[tool.ruff.lint]\nexternal = ["V1"]  # our vendor plugin\n'
    (tmp_path / "pyproject.toml").write_text(existing, encoding="utf-8")
    init_repo(tmp_path)
    text = (tmp_path / "pyproject.toml").read_text(encoding="utf-8")
    assert text.startswith('[tool.ruff.lint]\nexternal = ["V1", "MLG"]  # our vendor plugin\n')
    assert init_repo(tmp_path)[-1] == Action("pyproject.toml", "unchanged")
    noqa = tmp_path / "a.py"
    noqa.write_text("def f():  # noqa: MLG101\n    return 1\n", encoding="utf-8")
    ruff = [sys.executable, "-m", "ruff", "check", "--select", "RUF100,RUF102", "--fix", str(noqa)]
    assert subprocess.run(ruff, cwd=tmp_path, capture_output=True, check=False).returncode == 0
    assert noqa.read_text(encoding="utf-8").startswith("def f():  # noqa: MLG101\n")


def test_a_ruff_toml_gets_a_note_not_a_pyproject_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ruff.toml").write_text("line-length = 99\n", encoding="utf-8")
    assert main(["init", str(tmp_path)]) == 0
    assert "ruff" not in tomlkit.parse((tmp_path / "pyproject.toml").read_text()).unwrap()["tool"]
    assert (
        'Note: ruff.toml configures ruff: add `external = ["MLG"]` to its [lint] table, so '
        "`ruff check --fix` keeps mlgate's `# noqa: MLG...` comments\n"
    ) in capsys.readouterr().out


def test_force_sets_the_template_values(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.mlgate]\nmax-function-lines = 30\n", encoding="utf-8"
    )
    init_repo(tmp_path)
    actions = init_repo(tmp_path, force=True)
    assert actions[-1] == Action("pyproject.toml", "updated", "set tool.mlgate.max-function-lines")
    text = (tmp_path / "pyproject.toml").read_text(encoding="utf-8")
    assert tomlkit.parse(text).unwrap()["tool"]["mlgate"]["max-function-lines"] == 20


def test_a_changed_workflow_is_kept_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = tmp_path / ".github" / "workflows" / "mlgate-pr.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("on: push\n", encoding="utf-8")
    assert main(["init", str(tmp_path)]) == 0
    assert workflow.read_text(encoding="utf-8") == "on: push\n"
    out = capsys.readouterr().out
    assert (
        "  kept      .github/workflows/mlgate-pr.yml: it differs from the template; "
        "--force replaces it\n" in out
    )
    assert main(["init", "--force", str(tmp_path)]) == 0
    assert workflow.read_text(encoding="utf-8") == template_text("workflows/mlgate-pr.yml")
    assert "  replaced  .github/workflows/mlgate-pr.yml\n" in capsys.readouterr().out


def test_the_production_profile_follows_the_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for package in ("churn", "features", "tests"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "notebooks").mkdir()
    assert main(["init", str(tmp_path)]) == 0
    text = (tmp_path / "pyproject.toml").read_text(encoding="utf-8")
    production = tomlkit.parse(text).unwrap()["tool"]["mlgate"]["profiles"]["production"]
    assert production["paths"] == ["churn/**", "features/**"]
    out = capsys.readouterr().out
    assert "Note: not a git repository yet: run `git init`" in out
    assert "Note: no src/ folder: the production profile covers churn/**, features/**\n" in out


def test_a_flat_layout_without_packages_keeps_src(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    init_repo(tmp_path)
    text = (tmp_path / "pyproject.toml").read_text(encoding="utf-8")
    assert tomlkit.parse(text).unwrap()["tool"]["mlgate"]["profiles"]["production"]["paths"] == [
        "src/**"
    ]


def test_a_missing_folder_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == (
        f"mlgate: error: {tmp_path / 'nowhere'} is not a folder; pass the root of your repository\n"
    )


def test_an_invalid_pyproject_is_reported_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nname = 1\n", encoding="utf-8")
    assert main(["init", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mlgate: error: {tmp_path / 'pyproject.toml'} is not valid TOML (")
    assert err.endswith("); fix it, then rerun\n")
    assert (tmp_path / "pyproject.toml").read_text(encoding="utf-8") == "[project\nname = 1\n"


def test_the_manual_steps_name_the_environment_and_branch_protection() -> None:
    assert "required reviewers" in MANUAL_STEPS[0]
    assert "`mlgate / mlgate lint`" in MANUAL_STEPS[1]


def test_the_written_configuration_is_accepted_by_mlgate_lint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.py").write_text("def predict(x):\n    return x\n", "utf-8")
    init_repo(tmp_path)
    capsys.readouterr()
    config = str(tmp_path / "pyproject.toml")
    assert main(["lint", "--config", config, str(tmp_path / "src")]) == 0
    assert capsys.readouterr().err == ""


def test_written_files_are_readable_by_all_and_keep_their_mode(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(EXISTING_PYPROJECT, encoding="utf-8")
    (tmp_path / "pyproject.toml").chmod(0o664)
    init_repo(tmp_path)
    modes = {path: (tmp_path / path).stat().st_mode & 0o777 for path in [*FILES, "pyproject.toml"]}
    assert modes == {**dict.fromkeys(FILES, 0o644), "pyproject.toml": 0o664}
