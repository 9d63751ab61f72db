"""`mlgate lint` end to end through `main`: exit codes, formats, --output, configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgate.cli import main
from workspace import write

BROKEN = {"pkg/ok.py": "x = 1\n", "pkg/bad.py": "def f(:\n", "pkg/notes.txt": "def (\n"}


def test_clean_tree_exits_0(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {"pkg/ok.py": "x = 1\n"})
    assert main(["lint"]) == 0
    assert capsys.readouterr().out == "All checks passed (1 file checked).\n"


def test_findings_exit_1_and_exit_zero(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, BROKEN)
    assert main(["lint", "pkg"]) == 1
    assert capsys.readouterr().out == (
        "pkg/bad.py:1:7: MLG000 syntax error: invalid syntax\n"
        "Found 1 finding in 1 file (2 files checked).\n"
    )
    assert main(["lint", "--exit-zero", "pkg"]) == 0
    assert capsys.readouterr().out.startswith("pkg/bad.py:1:7: MLG000")


def test_json_and_output_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, BROKEN)
    assert main(["lint", "--format", "json", "--output", "report.json"]) == 1
    assert capsys.readouterr().out == ""
    [finding] = json.loads((repo / "report.json").read_text(encoding="utf-8"))
    assert (finding["path"], finding["line"], finding["column"]) == ("pkg/bad.py", 1, 7)
    assert [p.name for p in repo.iterdir() if p.name.startswith(".report")] == []


def test_output_into_a_missing_folder_is_a_usage_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo, BROKEN)
    assert main(["lint", "--output", "missing/report.txt"]) == 2
    assert capsys.readouterr().err == (
        "mlgate: error: --output missing/report.txt: cannot write: No such file or directory\n"
    )


@pytest.mark.parametrize("fmt", ["sarif", "github", "markdown"])
def test_every_format_runs(repo: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    write(repo, BROKEN)
    assert main(["lint", "--format", fmt, "pkg/bad.py"]) == 1
    assert "pkg/bad.py" in capsys.readouterr().out


def test_statistics_only_for_text_and_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, BROKEN)
    assert main(["lint", "--statistics"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == "     1  MLG000  unparsable-file"
    assert main(["lint", "--statistics", "--format", "sarif"]) == 2
    assert capsys.readouterr().err == (
        "mlgate: error: --statistics works with --format text or json\n"
    )


def test_config_errors_are_one_line_exit_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "pyproject.toml").write_text(
        "[tool.mlgate]\nmax-function-lines = 'twenty'\n", encoding="utf-8"
    )
    assert main(["lint"]) == 2
    assert capsys.readouterr().err == (
        f"mlgate: error: {repo / 'pyproject.toml'}: [tool.mlgate] max-function-lines must be "
        "a whole number >= 0, not 'twenty'\n"
    )


def test_config_flag_select_and_ignore(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, BROKEN)
    other = repo / "ci.toml"
    other.write_text('[tool.mlgate]\nignore = ["MLG000"]\n', encoding="utf-8")
    assert main(["lint", "--config", str(other)]) == 0
    assert main(["lint", "--ignore", "MLG0"]) == 0
    assert main(["lint", "--select", "MLG000"]) == 1
    capsys.readouterr()
    assert main(["lint", "--select", "E501"]) == 2
    assert "--select: unknown rule code 'E501'" in capsys.readouterr().err
    assert main(["lint", "--config", "nope.toml"]) == 2
    assert capsys.readouterr().err == (
        "mlgate: error: --config nope.toml: no such file; pass a pyproject.toml path\n"
    )


def test_force_exclude_from_the_settings_or_the_command_line(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo, {**BROKEN, "pyproject.toml": '[tool.mlgate]\nextend-exclude = ["pkg/bad.py"]\n'})
    assert main(["lint", "pkg/bad.py", "pkg/ok.py"]) == 1
    assert main(["lint", "--force-exclude", "pkg/bad.py", "pkg/ok.py"]) == 0
    assert capsys.readouterr().out.endswith("All checks passed (1 file checked).\n")
    write(repo, {"pyproject.toml": '[tool.mlgate]\nexclude = ["bad.py"]\nforce-exclude = true\n'})
    assert main(["lint", "pkg/bad.py"]) == 0
    assert main(["lint", "--no-force-exclude", "pkg/bad.py"]) == 1
    write(repo, {"pyproject.toml": '[tool.mlgate]\nforce-exclude = "yes"\n'})
    assert main(["lint", "pkg/bad.py"]) == 2
    assert capsys.readouterr().err.endswith("force-exclude must be true or false, not 'yes'\n")


def test_missing_path_exits_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "nope"]) == 2
    assert capsys.readouterr().err == "mlgate: error: nope: no such file or folder\n"


def test_help_explains_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["lint", "--help"])
    assert "exit status: 0 no findings" in capsys.readouterr().out
