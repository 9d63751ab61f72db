"""`mlgate init` and a team's own `.pre-commit-config.yaml`: mlgate's hooks are added, the
team's hooks, comments, order and layout are kept, nothing is duplicated, and mlgate's hook
repository is pinned by commit. Also: the scanner packs written for committed model files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
import tomlkit
import yaml
from sklearn.linear_model import LogisticRegression

from mlgate.cli import main
from mlgate.errors import ConfigError
from mlgate.init_precommit import pin
from mlgate.init_repo import Action, init_repo, pre_commit_template, template_text
from workspace import git, write

[PIN] = re.findall(r"@([0-9a-f]{40}) # v", template_text("workflows/mlgate-pr.yml"))
MLGATE = f"""\
  - repo: https://github.com/mlgate/mlgate
    rev: {PIN}  # frozen: v0.1.0
    hooks:
      - id: mlgate
      - id: mlgate-scan-models
"""

#: The layout pre-commit's own sample config and many projects use: items at column 0.
FLUSH = """\
# See https://pre-commit.com for more information
default_language_version:
  python: python3.11
repos:
- repo: https://github.com/pre-commit/pre-commit-hooks
  rev: v5.0.0  # keep in step with CI
  hooks:
  - id: trailing-whitespace
  - id: end-of-file-fixer
# formatting
- repo: https://github.com/psf/black
  rev: 24.8.0
  hooks:
  - id: black
    args: [--line-length=100]

  # comment kept with the list
exclude: ^vendor/
"""

#: Indented items, a local hook, and a trailing key after the list.
INDENTED = """\
repos:
  - repo: local
    hooks:
      - id: pytest-fast
        name: fast tests
        entry: pytest -q -x
        language: system
        pass_filenames: false
  - repo: https://github.com/astral-sh/ruff-pre-commit
    rev: v0.6.5
    hooks:
      - id: ruff
      - id: ruff-format
ci:
  autofix_prs: false
"""


def merged(tmp_path: Path, existing: str) -> tuple[str, list[Action]]:
    (tmp_path / ".pre-commit-config.yaml").write_text(existing, encoding="utf-8")
    actions = init_repo(tmp_path)
    return (tmp_path / ".pre-commit-config.yaml").read_text(encoding="utf-8"), actions


def test_hooks_are_added_to_a_flush_layout_keeping_everything(tmp_path: Path) -> None:
    text, actions = merged(tmp_path, FLUSH)
    block = "".join(line[2:] + "\n" for line in MLGATE.splitlines())
    assert text == FLUSH.replace("\n  # comment kept", block + "\n  # comment kept")
    assert (
        Action(
            ".pre-commit-config.yaml",
            "updated",
            "added mlgate's hooks mlgate, mlgate-scan-models, pinned by commit; kept your hooks",
        )
        in actions
    )


def test_hooks_are_added_to_an_indented_layout_before_the_next_key(tmp_path: Path) -> None:
    text, _ = merged(tmp_path, INDENTED)
    assert text == INDENTED.replace("ci:\n", MLGATE + "ci:\n")


def test_a_second_run_adds_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, _ = merged(tmp_path, INDENTED)
    assert main(["init", str(tmp_path)]) == 0
    assert (tmp_path / ".pre-commit-config.yaml").read_text(encoding="utf-8") == first
    out = capsys.readouterr().out
    assert "  unchanged .pre-commit-config.yaml: it already runs mlgate's hooks\n" in out


def test_a_missing_hook_joins_the_teams_own_mlgate_entry(tmp_path: Path) -> None:
    existing = (
        "repos:\n  - repo: https://github.com/mlgate/mlgate.git\n    rev: v0.1.0\n"
        "    hooks:\n      - id: mlgate\n        args: [--exit-zero]\n"
    )
    text, actions = merged(tmp_path, existing)
    assert text == existing + "      - id: mlgate-scan-models\n"
    assert (
        Action(
            ".pre-commit-config.yaml",
            "updated",
            "added mlgate-scan-models to your mlgate entry; kept your hooks",
        )
        in actions
    )


def test_a_hook_id_run_from_a_local_repository_is_not_duplicated(tmp_path: Path) -> None:
    existing = (
        "repos:\n- repo: local\n  hooks:\n  - id: mlgate\n    entry: mlgate lint\n"
        "    language: system\n  - id: mlgate-scan-models\n    entry: mlgate package scan\n"
        "    language: system\n"
    )
    text, actions = merged(tmp_path, existing)
    assert text == existing
    assert Action(".pre-commit-config.yaml", "unchanged", "it already runs mlgate's hooks") in (
        actions
    )


def test_an_empty_list_gets_mlgates_entry(tmp_path: Path) -> None:
    text, _ = merged(tmp_path, "# ours\nrepos: []  # none yet\n")
    assert text == "# ours\nrepos:  # none yet\n" + MLGATE


@pytest.mark.parametrize("existing", [FLUSH, INDENTED])
def test_the_merged_configs_are_valid_for_pre_commit(existing: str, tmp_path: Path) -> None:
    merged(tmp_path, existing)
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.mark.parametrize(
    ("existing", "problem"),
    [
        ("repos: [{repo: local, hooks: []}]\n", "has no block-style `repos:` list to add to"),
        ("default_stages: [commit]\n", "has no block-style `repos:` list to add to"),
        ("- repo: local\n", "has no block-style `repos:` list to add to"),
    ],
)
def test_a_config_it_cannot_extend_is_a_usage_error(
    existing: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".pre-commit-config.yaml").write_text(existing, encoding="utf-8")
    assert main(["init", str(tmp_path)]) == 2
    config = tmp_path / ".pre-commit-config.yaml"
    assert capsys.readouterr().err == (
        f"mlgate: error: {config} {problem}; add mlgate's hooks by hand (see `mlgate init` in "
        "docs/github.md)\n"
    )
    assert config.read_text(encoding="utf-8") == existing


@pytest.mark.parametrize(
    "existing",
    ["repos:\n  - just-a-name\n", "repos:\n  - repo: local\n    hooks: nothing\n",
     "repos:\n  - repo: local\n    hooks:\n      - mlgate\n"],
)  # fmt: skip
def test_an_entry_that_is_not_a_repository_is_a_usage_error(
    existing: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".pre-commit-config.yaml").write_text(existing, encoding="utf-8")
    assert main(["init", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"mlgate: error: {tmp_path / '.pre-commit-config.yaml'}: every entry of `repos:` must be "
        "a table with `repo:` and a `hooks:` list of tables; `pre-commit validate-config` shows "
        "which is not\n"
    )


def test_invalid_yaml_is_reported_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".pre-commit-config.yaml").write_text("repos:\n  - [\n", encoding="utf-8")
    assert main(["init", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    config = tmp_path / ".pre-commit-config.yaml"
    assert err == (
        f"mlgate: error: {config} is not valid YAML (line 3: expected the node content, but "
        "found '<stream end>'); fix it, then rerun\n"
    )


def test_a_new_config_pins_mlgate_by_commit(tmp_path: Path) -> None:
    init_repo(tmp_path)
    text = (tmp_path / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    assert text == pre_commit_template()
    assert MLGATE in text
    assert "rev: v0.1.0" not in text


def test_committed_models_get_their_scanner_packs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(tmp_path, "init", "-q")
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.4], [0.9, 0.2]])
    (tmp_path / "models").mkdir()
    joblib.dump(LogisticRegression().fit(x, [0, 1, 0, 1]), tmp_path / "models" / "clf.joblib")
    write(tmp_path, {"untracked.pkl": b"not committed"})
    git(tmp_path, "add", "models")
    assert main(["init", str(tmp_path)]) == 0
    config = tomlkit.parse((tmp_path / "pyproject.toml").read_text(encoding="utf-8")).unwrap()
    assert config["tool"]["mlgate"]["scan"] == {"packs": ["numpy", "sklearn"]}
    text = (tmp_path / "pyproject.toml").read_text(encoding="utf-8")
    assert "[tool.mlgate.scan]\n# The allowlist packs the committed model files need" in text
    assert 'packs = ["numpy", "sklearn"]\n\n[tool.ruff.lint]' in text
    capsys.readouterr()
    scan = [
        "package",
        "scan",
        "--config",
        str(tmp_path / "pyproject.toml"),
        str(tmp_path / "models"),
    ]
    assert main(scan) == 0


def test_no_models_no_scan_table(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    init_repo(tmp_path)
    config = tomlkit.parse((tmp_path / "pyproject.toml").read_text(encoding="utf-8")).unwrap()
    assert "scan" not in config["tool"]["mlgate"]


def test_the_staging_approval_is_in_the_steps(capsys: pytest.CaptureFixture[str]) -> None:
    from mlgate.init_repo import MANUAL_STEPS

    [step] = [step for step in MANUAL_STEPS if step.startswith("Approve before")]
    assert "`mlgate approve PKG --env staging --by NAME`" in step
    assert "one approval of the package, by someone other than its builder" in step


def test_a_deeper_indented_layout_keeps_its_indentation(tmp_path: Path) -> None:
    existing = (
        "repos:\n    - repo: local\n      hooks:\n        - id: tests\n"
        "          entry: pytest\n          language: system\n"
    )
    text, _ = merged(tmp_path, existing)
    assert text == existing + "".join("  " + line + "\n" for line in MLGATE.splitlines())


def test_a_workflow_template_without_a_pin_is_an_error() -> None:
    with pytest.raises(ConfigError, match="the workflow template has no pinned mlgate reference"):
        pin(template_text("pre-commit-config.yaml"), "jobs: {}\n")


#: The older layout of some large projects: `-   ` items, a hook list indented oddly, comments
#: inside a hook.
WIDE = """\
repos:
-   repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v4.6.0
    hooks:
    -   id: check-yaml
    -   id: end-of-file-fixer
-   repo: https://github.com/pre-commit/mirrors-mypy
    rev: v1.10.0
    hooks:
     -  id: mypy
        # the package only, for now
        args:
          - --ignore-missing-imports
        files: mypkg/
"""


def test_a_wide_dash_layout_gets_an_entry_with_its_dash_column(tmp_path: Path) -> None:
    text, _ = merged(tmp_path, WIDE)
    assert text == WIDE + "".join(line[2:] + "\n" for line in MLGATE.splitlines())
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_a_missing_hook_joins_an_oddly_indented_hook_list(tmp_path: Path) -> None:
    existing = WIDE.replace("pre-commit/mirrors-mypy", "mlgate/mlgate").replace(
        "     -  id: mypy", "     -  id: mlgate"
    )
    text, _ = merged(tmp_path, existing)
    assert text == existing + "     - id: mlgate-scan-models\n"
    loaded = yaml.safe_load(text)["repos"][1]["hooks"]
    assert [hook["id"] for hook in loaded] == ["mlgate", "mlgate-scan-models"]
