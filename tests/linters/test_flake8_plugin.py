"""The flake8 plugin: prefixed options through flake8's own option manager, same findings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from flake8.main.application import Application
from flake8.options.manager import OptionManager

from mlgate.linters.flake8_plugin import _DECLARATIONS, Plugin
from mlgate.linters.registry import OPTIONS, build_options
from workspace import write


def test_options_arrive_through_flake8(here: Path) -> None:
    write(here, {"a.py": "x = 1\n"})
    app = Application()
    app.run(
        [
            "--select=MLG",
            "--mlgate-max-function-lines=7",
            "--mlgate-logger-objects=app.log, audit",
            "--mlgate-torch-min-version=2.6",
            "a.py",
        ]
    )
    assert app.exit_code() == 0
    assert Plugin.plan is not None
    assert Plugin.plan.base.config.options == build_options(
        {
            "max-function-lines": 7,
            "logger-objects": ("app.log", "audit"),
            "torch-min-version": "2.6",
        }
    )


def test_option_names_are_prefixed() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flake8", "--help"], capture_output=True, text=True, check=True
    )
    assert "--mlgate-max-function-lines" in done.stdout
    assert "--mlgate-error-reporters" in done.stdout
    assert "\n  --max-function-lines" not in done.stdout


def test_config_file_options_and_bad_values(here: Path) -> None:
    write(here, {"a.py": "x = 1\n", ".flake8": "[flake8]\nmlgate-max-parameters = 2\n"})
    command = [sys.executable, "-m", "flake8", "--select", "MLG", "a.py"]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, "")
    bad = [sys.executable, "-m", "flake8", "--mlgate-max-function-lines", "many", "a.py"]
    done = subprocess.run(bad, check=False, capture_output=True, text=True)
    assert done.returncode != 0
    assert "--mlgate-max-function-lines: invalid int value: 'many'" in done.stderr


@pytest.mark.parametrize("tree_is_module", [True, False])
def test_plugin_runs_only_on_modules(tree_is_module: bool) -> None:
    import ast

    source = "def f():\n    global A\n"
    tree: ast.AST = ast.parse(source) if tree_is_module else ast.Expression(ast.Constant(1))
    found = [
        (line, col, text.split(" ")[0])
        for line, col, text, _ in Plugin(tree, "a.py", source.splitlines(True)).run()
    ]
    assert found == ([(2, 4, "MLG302")] if tree_is_module else [])


def test_file_level_directives_under_flake8(here: Path) -> None:
    body = "try:\n    x = 1\nexcept:\n    pass\n"
    write(
        here,
        {
            "plain.py": body,
            "mlgate_all.py": "# mlgate: noqa\n" + body,
            "mlgate_codes.py": "# mlgate: noqa: MLG201\n" + body,
            "flake8_all.py": "# flake8: noqa\n" + body,
        },
    )
    command = [sys.executable, "-m", "flake8", "--select", "MLG", "."]
    done = subprocess.run(command, cwd=here, check=False, capture_output=True, text=True)
    found = sorted(line.split(" ")[0] + line.split(" ")[1] for line in done.stdout.splitlines())
    assert found == [
        "./mlgate_codes.py:4:1:MLG202",
        "./plain.py:3:1:MLG201",
        "./plain.py:3:1:MLG202",
    ]


TEAM = """\
[tool.mlgate]
max-function-lines = 3
per-file-ignores = { "tools/**" = ["MLG201"] }

[tool.mlgate.profiles.production]
kind = "production"
paths = ["src/**"]
max-function-lines = 2
ignore = ["MLG202"]

[tool.mlgate.profiles.experiments]
kind = "experiment"
paths = ["experiments/**"]
ignore = ["MLG101"]
"""
FOUR_LINES = "def f(x):\n    a = x\n    b = a\n    c = b\n    return c\n"
SWALLOW = "try:\n    x = 1\nexcept:\n    pass\n"
IMPORTS_EXPERIMENT = "from experiments import trial\n"


def flake8_and_mlgate(here: Path, *flake8_args: str) -> tuple[list[str], list[str]]:
    """(path:line:col:code) of each finding, from real flake8 and from `mlgate lint`."""
    command = [sys.executable, "-m", "flake8", "--select", "MLG", *flake8_args, "."]
    flake8 = subprocess.run(command, cwd=here, check=False, capture_output=True, text=True)
    assert flake8.returncode in (0, 1), flake8.stderr
    lint = [sys.executable, "-m", "mlgate", "lint", "--no-cache", "--format", "json", "."]
    ours = subprocess.run(lint, cwd=here, check=False, capture_output=True, text=True)
    assert ours.returncode in (0, 1), ours.stderr
    theirs = sorted(
        line.removeprefix("./").split(" ")[0].rstrip(":") + ":" + line.split(" ")[1]
        for line in flake8.stdout.splitlines()
    )
    mine = sorted(
        f"{f['path']}:{f['line']}:{f['column']}:{f['code']}" for f in json.loads(ours.stdout)
    )
    return theirs, mine


def test_the_plugin_applies_the_teams_settings_and_profiles(here: Path) -> None:
    write(
        here,
        {
            "pyproject.toml": TEAM,
            "src/app.py": FOUR_LINES + SWALLOW + IMPORTS_EXPERIMENT,
            "experiments/trial.py": FOUR_LINES + SWALLOW,
            "tools/run.py": FOUR_LINES + SWALLOW,
            "lib.py": FOUR_LINES,
        },
    )
    theirs, mine = flake8_and_mlgate(here)
    assert theirs == mine
    assert mine == [
        "experiments/trial.py:8:1:MLG201",
        "experiments/trial.py:8:1:MLG202",
        "lib.py:1:1:MLG101",
        "src/app.py:10:1:MLG303",
        "src/app.py:1:1:MLG101",
        "src/app.py:8:1:MLG201",
        "tools/run.py:1:1:MLG101",
        "tools/run.py:8:1:MLG202",
    ]
    theirs, _ = flake8_and_mlgate(here, "--mlgate-max-function-lines=10")
    assert [finding for finding in theirs if finding.endswith("MLG101")] == []


def test_a_bad_team_setting_stops_flake8_with_one_line(here: Path) -> None:
    bad = "[tool.mlgate]\nmax-function-line = 3\n"
    write(here, {"pyproject.toml": bad, "a.py": "def f():\n    return 1\n"})
    command = [sys.executable, "-m", "flake8", "--select", "MLG", "a.py"]
    done = subprocess.run(command, cwd=here, check=False, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.endswith(
        "[tool.mlgate] max-function-line: unknown key; did you mean `max-function-lines`?\n"
    )
    assert done.stderr.count("\n") == 1
    other = here / "other.toml"
    other.write_text("[tool.mlgate]\nmax-function-lines = 0\n", encoding="utf-8")
    command.append(f"--mlgate-config={other}")
    done = subprocess.run(command, cwd=here, check=False, capture_output=True, text=True)
    expected = "a.py:1:1: MLG101 function `f` has 1 code lines (limit 0)\n"
    assert (done.returncode, done.stdout) == (1, expected)
    command[-1] = "--mlgate-config=missing.toml"
    done = subprocess.run(command, cwd=here, check=False, capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (
        2,
        "mlgate: error: --mlgate-config missing.toml: no such file; pass a pyproject.toml path\n",
    )


def test_every_option_type_has_a_flake8_declaration_bool_included() -> None:
    manager = OptionManager(version="1", plugin_versions="", parents=[], formatter_names=[])
    assert {type(option.default) for option in OPTIONS.values()} <= set(_DECLARATIONS)
    manager.add_option("--mlgate-flag", default=None, parse_from_config=True, **_DECLARATIONS[bool])
    given, absent = manager.parse_args(["--mlgate-flag"]), manager.parse_args([])
    assert (given.mlgate_flag, absent.mlgate_flag) == (True, None)
