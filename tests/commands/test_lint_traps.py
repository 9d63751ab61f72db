"""The traps a new user falls into, each closed: nothing checked, an empty --select or
--changed-since, a report written over a source file, refs that name no commit, and a wrong
default in `package build --help`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitrepo import GitRepo
from mlgate.cli import main
from workspace import write

BAD = "def f():\n    try:\n        return 1\n    except:\n        return 2\n"


def lint(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["lint", "--no-cache", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_nothing_to_check_is_a_warning_not_a_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, {"notes.txt": "no python here\n", "empty/.keep": ""})
    monkeypatch.chdir(tmp_path)
    code, out, err = lint(capsys, "empty")
    assert (code, out) == (0, "Nothing checked: no Python file or notebook found.\n")
    assert err == "mlgate: warning: no Python file or notebook found in empty\n"
    code, out, _ = lint(capsys, "--format", "markdown", "empty")
    assert (code, out) == (
        0,
        "### mlgate lint\n\nNothing checked: no Python file or notebook found.\n",
    )


@pytest.mark.parametrize("select", ["", " , "])
def test_an_empty_select_is_a_usage_error(
    select: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    write(tmp_path, {"bad.py": BAD})
    monkeypatch.chdir(tmp_path)
    code, out, err = lint(capsys, "--select", select, "bad.py")
    assert (code, out) == (2, "")
    assert err == (
        "mlgate: error: --select '' checks nothing: name codes or prefixes, e.g. --select MLG1\n"
    )


def test_an_empty_changed_since_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, {"bad.py": BAD})
    monkeypatch.chdir(tmp_path)
    code, out, err = lint(capsys, "--changed-since", "", "bad.py")
    assert (code, out) == (2, "")
    assert (
        err == "mlgate: error: --changed-since '' names no commit: give a ref, e.g. origin/main\n"
    )


@pytest.mark.parametrize(
    ("output", "paths"),
    [
        ("bad.py", ["bad.py"]),
        ("pkg/new.py", ["pkg"]),
        ("pkg/new.py", ["."]),
        ("pkg", ["pkg"]),
        ("bad.py", ["-", "--stdin-filename", "bad.py"]),
    ],
)
def test_output_refuses_to_overwrite_an_input(
    output: str, paths: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    write(tmp_path, {"bad.py": BAD, "pkg/mod.py": BAD})
    monkeypatch.chdir(tmp_path)
    code, out, err = lint(capsys, "--output", output, *paths)
    assert (code, out) == (2, "")
    assert err == (
        f"mlgate: error: --output {output} is a file being linted: write the report to another "
        "file, e.g. --output mlgate-report.txt\n"
    )
    assert (tmp_path / "bad.py").read_text(encoding="utf-8") == BAD
    assert not (tmp_path / "pkg" / "new.py").exists()


def test_output_may_sit_beside_the_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, {"bad.py": BAD})
    monkeypatch.chdir(tmp_path)
    _, printed, _ = lint(capsys, "--select", "MLG201", ".")
    code, out, _ = lint(capsys, "--select", "MLG201", "--output", "report.txt", ".")
    assert (code, out) == (1, "")
    assert (tmp_path / "report.txt").read_text(encoding="utf-8") == printed
    assert printed.startswith("bad.py:4:5: MLG201 ")
    assert printed.endswith("\nFound 1 finding in 1 file (1 file checked).\n")


def test_a_relative_ref_beyond_the_history_gets_a_matching_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(tmp_path)
    repo.write("bad.py", BAD)
    repo.commit()
    monkeypatch.chdir(tmp_path)
    code, out, err = lint(capsys, "--changed-since", "HEAD~99")
    assert (code, out) == (2, "")
    assert err == (
        "mlgate: error: --changed-since HEAD~99: no such commit: the history of HEAD in this "
        "clone is shorter than that; with a shallow clone, fetch more (`git fetch --deepen N` "
        "or `fetch-depth: 0`), else name an older commit\n"
    )


def test_an_empty_repository_says_to_commit_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write(tmp_path, {"bad.py": BAD})
    monkeypatch.chdir(tmp_path)
    code, out, err = lint(capsys, "--changed-since", "origin/main")
    assert (code, out) == (2, "")
    assert err == (
        "mlgate: error: --changed-since origin/main: this repository has no commit yet; "
        "commit once, then lint what changed since\n"
    )


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (("--output", "report\0.txt", "a.py"), "ValueError: embedded null byte"),
        (("--config", "bad.toml", "a.py"), "UnicodeDecodeError: 'utf-8' codec"),
    ],
)
def test_an_internal_error_is_one_line_and_never_the_findings_status(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    error: str,
) -> None:
    write(tmp_path, {"a.py": BAD})
    (tmp_path / "bad.toml").write_bytes(b"[tool.mlgate]\nselect = ['\xff']\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = lint(capsys, *argv)
    assert (code, out) == (2, "")
    assert err.startswith(f"mlgate: internal error: {error}")
    assert " (at mlgate/" in err
    assert err.endswith("); please report it\n")
    assert err.count("\n") == 1


def test_package_build_help_names_the_real_default_output_folder(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["package", "build", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--out DIR output folder (default: [tool.mlgate.package] out, else dist)" in help_text
