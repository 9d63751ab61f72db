"""The flake8 plugin: prefixed options through flake8's own option manager, same findings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from flake8.main.application import Application

from mlgate.linters.base import Options
from mlgate.linters.flake8_plugin import Plugin
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
    assert Plugin.options == Options(
        max_function_lines=7, logger_objects=("app.log", "audit"), torch_min_version="2.6"
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

    tree: ast.AST = ast.parse("x = 1\n") if tree_is_module else ast.Expression(ast.Constant(1))
    assert list(Plugin(tree, "a.py", ["x = 1\n"]).run()) == []


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
