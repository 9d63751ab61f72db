"""`mlgate lint` from stdin, -q and -v, colour from NO_COLOR and FORCE_COLOR, and the GitLab Code
Quality and JUnit XML formats (read back by a JSON schema and by junitparser)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from junitparser import Failure, JUnitXml

from mlgate.cli import main
from mlgate.commands.lint import _wants_color
from workspace import write

BAD = "def f():\n    try:\n        return 1\n    except:\n        return 2\n"
MLG201 = (
    "MLG201 bare `except:` also catches KeyboardInterrupt and SystemExit; name the exception "
    "(`except BaseException:` if that is meant)"
)
MLG202 = "MLG202 `except:` swallows the error; re-raise it, log it with the traceback or handle it"
#: What GitLab reads from a Code Quality report (docs.gitlab.com, "Code Quality report format"):
#: these fields are required, and the fingerprint must be unique in the report.
GITLAB_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string"},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {"begin": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        },
    },
}


def mlgate(cwd: Path, *argv: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return subprocess.run(
        [sys.executable, "-m", "mlgate", "lint", "--no-cache", *argv],
        cwd=cwd, input=stdin, capture_output=True, text=True, check=False,
        env={**clean, **env},
    )  # fmt: skip


def test_stdin_is_checked_as_the_named_file_with_its_settings(tmp_path: Path) -> None:
    write(
        tmp_path, {"pyproject.toml": '[tool.mlgate]\nper-file-ignores = {"pkg/**" = ["MLG202"]}\n'}
    )
    named = mlgate(tmp_path, "-", "--stdin-filename", "pkg/model.py", stdin=BAD)
    assert (named.returncode, named.stderr) == (1, "")
    assert named.stdout == (
        f"pkg/model.py:4:5: {MLG201}\nFound 1 finding in 1 file (1 file checked).\n"
    )
    other = mlgate(tmp_path, "-", "--stdin-filename", "app.py", stdin=BAD)
    assert other.stdout.splitlines() == [
        f"app.py:4:5: {MLG201}",
        f"app.py:4:5: {MLG202}",
        "Found 2 findings in 1 file (1 file checked).",
    ]
    assert not (tmp_path / "pkg").exists()


def test_stdin_without_a_name_is_reported_as_dash(tmp_path: Path) -> None:
    done = mlgate(tmp_path, "--select", "MLG201", "-", stdin=BAD)
    assert done.stdout == f"-:4:5: {MLG201}\nFound 1 finding in 1 file (1 file checked).\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-", "src"], "`-` reads one file from stdin: lint other paths in another run"),
        (["--stdin-filename", "a.py", "src"], "--stdin-filename names the source read with "
         "`-`: add `-` as PATH"),
        (["--fix", "-"], "`-` cannot be used with --fix or --changed-since; --show-fixes works"),
        (["-q", "-v"], "--quiet and --verbose contradict each other: pick one"),
    ],
)  # fmt: skip
def test_stdin_and_verbosity_misuse_is_a_usage_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint", *argv]) == 2
    assert capsys.readouterr() == ("", f"mlgate: error: {message}\n")


def test_quiet_prints_the_findings_only(tmp_path: Path) -> None:
    write(tmp_path, {"bad.py": BAD, "empty/notes.txt": "no python\n"})
    assert (
        mlgate(tmp_path, "empty").stderr
        == "mlgate: warning: no Python file or notebook found in empty\n"
    )
    empty = mlgate(tmp_path, "-q", "empty")
    assert (empty.returncode, empty.stdout, empty.stderr) == (0, "", "")
    done = mlgate(tmp_path, "-q", "bad.py")
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout == f"bad.py:4:5: {MLG201}\nbad.py:4:5: {MLG202}\n"


def test_verbose_says_where_the_settings_came_from_and_how_long_it_took(tmp_path: Path) -> None:
    write(tmp_path, {"bad.py": BAD, "pyproject.toml": '[tool.mlgate]\nignore = ["MLG2"]\n'})
    done = mlgate(tmp_path, "-v", "--jobs", "1", "bad.py")
    assert done.stdout == "All checks passed (1 file checked).\n"
    first, second = done.stderr.splitlines()
    assert first == (
        f"mlgate: settings from {tmp_path / 'pyproject.toml'}; rules enabled: MLG000, MLG101, "
        "MLG102, MLG301, MLG302, MLG303, MLG401"
    )
    assert re.fullmatch(r"mlgate: 1 file\(s\) checked in \d+\.\d\ds, 1 job\(s\), cache off", second)


@pytest.mark.parametrize(
    ("environ", "terminal", "color"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": ""}, True, True),  # the NO_COLOR convention: only a non-empty value counts
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": ""}, False, False),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, False),
    ],
)
def test_colour_follows_the_terminal_no_color_and_force_color(
    environ: dict[str, str], terminal: bool, color: bool
) -> None:
    assert _wants_color(environ, terminal) is color


def test_force_color_colours_a_pipe_and_never_a_file(tmp_path: Path) -> None:
    write(tmp_path, {"bad.py": BAD})
    piped = mlgate(tmp_path, "--select", "MLG201", "bad.py", FORCE_COLOR="1")
    assert piped.stdout.startswith("\x1b[1mbad.py\x1b[0m:4:5: \x1b[31mMLG201\x1b[0m bare")
    mlgate(tmp_path, "--select", "MLG201", "--output", "out.txt", "bad.py", FORCE_COLOR="1")
    assert (tmp_path / "out.txt").read_text(encoding="utf-8").startswith(f"bad.py:4:5: {MLG201}")


def test_gitlab_code_quality_report(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": BAD + BAD.replace("f()", "g()"), "b.py": "def ok():\n    return 1\n"})
    done = mlgate(tmp_path, "--format", "gitlab", "--select", "MLG201", ".")
    assert done.returncode == 1
    issues = json.loads(done.stdout)
    jsonschema.validate(issues, GITLAB_SCHEMA)
    assert [(i["check_name"], i["location"]) for i in issues] == [
        ("MLG201", {"path": "a.py", "lines": {"begin": 4}}),
        ("MLG201", {"path": "a.py", "lines": {"begin": 9}}),
    ]
    assert issues[0]["description"] == MLG201
    assert len({issue["fingerprint"] for issue in issues}) == 2
    again = json.loads(mlgate(tmp_path, "--format", "gitlab", "--select", "MLG201", ".").stdout)
    assert [i["fingerprint"] for i in again] == [i["fingerprint"] for i in issues]


def test_gitlab_report_with_no_findings_is_an_empty_list(tmp_path: Path) -> None:
    write(tmp_path, {"b.py": "def ok():\n    return 1\n"})
    done = mlgate(tmp_path, "--format", "gitlab", ".")
    assert (done.returncode, done.stdout) == (0, "[]\n")


def test_junit_report_read_by_junitparser(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": BAD, "b.py": BAD.replace("except:", "except <"), "c.py": "x = 1\n"})
    done = mlgate(tmp_path, "--format", "junit", "--output", "report.xml", ".")
    assert (done.returncode, done.stdout) == (1, "")
    xml = JUnitXml.fromfile(str(tmp_path / "report.xml"))
    suites = {suite.name: suite for suite in xml}
    assert sorted(suites) == ["a.py", "b.py"]
    assert (suites["a.py"].tests, suites["a.py"].failures) == (2, 2)
    cases = [
        (case.name, case.classname, [r.message for r in case.result]) for case in suites["a.py"]
    ]
    assert cases == [
        ("MLG201 bare-except at a.py:4:5", "a.py", [MLG201.split(" ", 1)[1]]),
        ("MLG202 swallowed-broad-exception at a.py:4:5", "a.py", [MLG202.split(" ", 1)[1]]),
    ]
    [b] = list(suites["b.py"])
    [failure] = b.result
    assert isinstance(failure, Failure)
    assert failure.type == "MLG000"
    assert failure.text.startswith("b.py:4:")


def test_junit_report_with_no_findings_has_one_passing_case(tmp_path: Path) -> None:
    write(tmp_path, {"c.py": "x = 1\n"})
    done = mlgate(tmp_path, "--format", "junit", ".")
    xml = JUnitXml.fromstring(done.stdout)
    [suite] = list(xml)
    [case] = list(suite)
    assert (suite.name, suite.tests, suite.failures, case.name, case.result) == (
        "mlgate",
        1,
        0,
        "1 files checked",
        [],
    )
