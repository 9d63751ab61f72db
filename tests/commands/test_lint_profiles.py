"""Path profiles through `mlgate lint`: per-path rules, --show-profile, MLG303, config errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate.cli import main
from workspace import write

PYPROJECT = """\
[tool.mlgate]
max-function-lines = 20

[tool.mlgate.profiles.production]
kind = "production"
paths = ["src/**"]
max-function-lines = 3
per-file-ignores = {"src/app/legacy.py" = ["MLG101"]}

[tool.mlgate.profiles.experiments]
kind = "experiment"
paths = ["experiments/**", "notebooks/**"]
ignore = ["MLG101", "MLG302"]
"""
FOUR_LINES = "def f():\n    a = 1\n    b = 2\n    c = 3\n    return a + b + c\n"
GLOBAL = "def g():\n    global STATE\n    STATE = 1\n"


@pytest.fixture
def project(here: Path) -> Path:
    write(
        here,
        {
            "pyproject.toml": PYPROJECT,
            "src/app/serve.py": "from experiments.tune import best\n\n\n" + FOUR_LINES,
            "src/app/legacy.py": FOUR_LINES,
            "experiments/tune.py": FOUR_LINES + "\n\n" + GLOBAL,
            "tools/script.py": FOUR_LINES + "\n\n" + GLOBAL,
        },
    )
    return here


def test_each_path_gets_its_profile(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--no-cache"]) == 1
    assert capsys.readouterr().out == (
        "src/app/serve.py:1:1: MLG303 production code imports `experiments.tune` from "
        "experiment code (`experiments/tune.py`); move what it needs into production code\n"
        "src/app/serve.py:4:1: MLG101 function `f` has 4 code lines (limit 3)\n"
        "tools/script.py:9:5: MLG302 `global STATE` hides module state in the function; "
        "pass it in and return it\n"
        "Found 3 findings in 2 files (4 files checked).\n"
    )


def test_show_profile(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--show-profile", "src/app/legacy.py"]) == 0
    assert capsys.readouterr().out == (
        "src/app/legacy.py: profile 'production', kind production (paths: src/**)\n"
        "rules (per-file-ignores: MLG101): MLG000, MLG102, MLG201, MLG202, MLG203, MLG204, "
        "MLG301, MLG302, MLG303, MLG401\n"
        "options:\n"
        "  experiment-paths = ('experiments/**', 'notebooks/**')\n"
        "  max-function-lines = 3\n"
    )
    assert main(["lint", "--show-profile", "tools/script.py"]) == 0
    assert capsys.readouterr().out == (
        "tools/script.py: no profile: the [tool.mlgate] settings\n"
        "rules: MLG000, MLG101, MLG102, MLG201, MLG202, MLG203, MLG204, MLG301, MLG302, "
        "MLG303, MLG401\n"
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('kind = "prod"\npaths = ["a/**"]', "`kind` must be one of 'production', 'experiment'"),
        ("paths = []", "`paths` must be a non-empty list of globs"),
        ('paths = ["a/**"]\nexclude = ["b"]', "`exclude` applies to the whole project"),
        ('paths = ["a/**"]\nforce-exclude = true', "`force-exclude` applies to the whole project"),
        ('paths = ["a/**"]\nmax-function-line = 3', "in profile 'p': "),
        ('paths = ["a/**"]\nmax-function-lines = "3"', "in profile 'p': "),
    ],
)
def test_profile_errors(
    here: Path, capsys: pytest.CaptureFixture[str], table: str, message: str
) -> None:
    write(here, {"pyproject.toml": f"[tool.mlgate.profiles.p]\n{table}\n", "a.py": ""})
    assert main(["lint"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_profiles_must_be_tables(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(here, {"pyproject.toml": "[tool.mlgate]\nprofiles = 3\n", "a.py": ""})
    assert main(["lint"]) == 2
    assert "must hold tables [tool.mlgate.profiles.NAME]" in capsys.readouterr().err
    write(here, {"pyproject.toml": "[tool.mlgate.profiles]\np = 3\n"})
    assert main(["lint"]) == 2
    assert "[tool.mlgate.profiles.p] must be a table" in capsys.readouterr().err


def test_select_on_the_command_line_reaches_profiles(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint", "--select", "MLG303", "--no-cache"]) == 1
    found = capsys.readouterr().out.splitlines()
    assert [line.split(" ")[:2] for line in found[:-1]] == [["src/app/serve.py:1:1:", "MLG303"]]
