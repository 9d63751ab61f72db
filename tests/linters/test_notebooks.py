"""Notebooks as Python: joined code cells, neutralised IPython syntax, the map back to cells."""

from __future__ import annotations

import ast
import json

import pytest

from mlgate.linters.notebooks import CellLine, InvalidNotebookError, read_notebook


def notebook(*cells: tuple[str, str], language: str = "python") -> str:
    """An nbformat 4 notebook as Jupyter writes it (one JSON string per source line)."""
    return json.dumps(
        {
            "cells": [
                {
                    "cell_type": kind,
                    "metadata": {},
                    "source": source.splitlines(keepends=True),
                    **({"execution_count": None, "outputs": []} if kind == "code" else {}),
                }
                for kind, source in cells
            ],
            "metadata": {"language_info": {"name": language}},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
        indent=1,
    )


def test_code_cells_joined_with_cell_numbers_among_all_cells() -> None:
    text = notebook(("markdown", "# Title\n"), ("code", "import os\nx = 1"), ("code", "y = 2\n"))
    nb = read_notebook(text)
    assert nb.source == "import os\nx = 1\ny = 2\n"
    assert [(c.cell, c.line) for c in nb.lines] == [(2, 1), (2, 2), (3, 1)]
    raw = text.splitlines()
    for cell_line, code in zip(nb.lines, nb.source.splitlines(), strict=True):
        assert json.dumps(code)[:-1] in raw[cell_line.raw_line - 1]


def test_magics_shell_escapes_and_help_are_neutralised() -> None:
    cell = (
        "%matplotlib inline\n"
        "!pip install \\\n"
        "    numpy\n"
        "files = !ls\n"
        "len?\n"
        "for f in files:\n"
        "    %time load(f)\n"
        "x = 10 % 3  # what?\n"
    )
    nb = read_notebook(notebook(("code", cell)))
    assert nb.source.splitlines() == [
        "pass",
        "pass",
        "pass",
        "pass",
        "pass",
        "for f in files:",
        "    pass",
        "x = 10 % 3  # what?",
    ]
    ast.parse(nb.source)


def test_cell_magics() -> None:
    nb = read_notebook(
        notebook(("code", "%%bash\n  echo hi\n"), ("code", "%%time\nfit()\n"), ("code", "%%\n"))
    )
    assert nb.source == "pass\npass\npass\nfit()\npass\n"


def test_single_string_sources_and_empty_cells() -> None:
    data = json.loads(notebook(("code", "")))
    data["cells"].append({"cell_type": "code", "source": "a = 1\nb = 2", "outputs": []})
    text = json.dumps(data, indent=1)
    nb = read_notebook(text)
    assert nb.source == "a = 1\nb = 2\n"
    assert nb.lines[0].cell == nb.lines[1].cell == 2
    assert nb.lines[0].raw_line == nb.lines[1].raw_line


def test_locate_beyond_the_end() -> None:
    nb = read_notebook(notebook(("code", "x = (\n")))
    assert nb.locate(1) == CellLine(1, 1, nb.lines[0].raw_line)
    assert nb.locate(2) == CellLine(1, 2, nb.lines[0].raw_line)
    assert read_notebook(notebook()).locate(1) == CellLine(1, 1, 1)


def test_other_languages_have_no_python() -> None:
    assert read_notebook(notebook(("code", "x <- 1\n"), language="R")).source == ""


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{", "invalid JSON"),
        ("[]", "no `cells` list"),
        ('{"cells": [1]}', "a cell is not an object"),
        ('{"cells": [{"cell_type": "code", "source": [1]}]}', "a cell source is not text"),
    ],
)
def test_invalid_notebooks(text: str, why: str) -> None:
    with pytest.raises(InvalidNotebookError, match=why):
        read_notebook(text)
