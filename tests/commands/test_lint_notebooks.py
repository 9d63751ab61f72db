"""Notebooks through `mlgate lint`: positions by cell in text, file lines in SARIF and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgate.cli import main
from workspace import write

NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Tuning\n"]},
        {
            "cell_type": "code",
            "execution_count": 1,
            "metadata": {},
            "outputs": [],
            "source": ["%matplotlib inline\n", "!pip install numpy\n", "import pickle\n"],
        },
        {
            "cell_type": "code",
            "execution_count": 2,
            "metadata": {},
            "outputs": [],
            "source": ["def step():\n", "    global RATE\n", "    RATE = 0.1\n"],
        },
    ],
    "metadata": {"language_info": {"name": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture
def notebook(here: Path) -> Path:
    text = json.dumps(NOTEBOOK, indent=1)
    write(here, {"pyproject.toml": "[tool.mlgate]\n", "nb/tune.ipynb": text})
    return here / "nb" / "tune.ipynb"


def _file_line(notebook: Path, text: str) -> int:
    lines = notebook.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if text in line)


def test_text_shows_cell_and_line(notebook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        "nb/tune.ipynb:cell 3:line 2:5: MLG302 `global RATE` hides module state in the "
        "function; pass it in and return it"
    )


def test_json_and_sarif_point_at_the_file_line(
    notebook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _file_line(notebook, "global RATE")
    assert main(["lint", "--format", "json"]) == 1
    [found] = json.loads(capsys.readouterr().out)
    assert (found["line"], found["cell"], found["cell_line"], found["column"]) == (line, 3, 2, 5)
    assert main(["lint", "--format", "sarif"]) == 1
    [result] = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": line}
    assert result["properties"] == {"cell": 3, "cellLine": 2}


def test_broken_notebook_is_one_mlg000(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(here, {"bad.ipynb": "{not json", "ok.ipynb": json.dumps({"cells": []})})
    assert main(["lint"]) == 1
    assert (
        capsys.readouterr()
        .out.splitlines()[0]
        .startswith("bad.ipynb:1:1: MLG000 cannot read the notebook: not a notebook: invalid JSON")
    )
