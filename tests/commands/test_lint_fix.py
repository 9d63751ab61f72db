"""`mlgate lint --fix` and `--show-fixes` rewriting real files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import mlgate.linters
from mlgate.cli import main
from workspace import write

BEFORE = """\
import logging

import torch
import yaml

logger = logging.getLogger(__name__)


def load(path, stream):
    try:
        model = torch.load(path)
    except:  # keep this comment
        logger.error("cannot load %s", path)
        raise
    try:
        config = yaml.load(stream)
    except Exception as err:
        logger.error("bad config: %s", err)
        return None
    return model, config
"""
AFTER = (
    BEFORE.replace("torch.load(path)", "torch.load(path, weights_only=True)")
    .replace("except:", "except BaseException:")
    .replace("yaml.load(stream)", "yaml.safe_load(stream)")
    .replace('logger.error("bad config', 'logger.exception("bad config')
)


def test_fix_rewrites_and_relints(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {"pkg/load.py": BEFORE, "pkg/clean.py": "x = 1\n"})
    assert main(["lint", "--no-cache"]) == 1
    found = [line.split(" ")[:2] for line in capsys.readouterr().out.splitlines()[:-1]]
    assert found == [
        ["pkg/load.py:11:17:", "MLG401"],
        ["pkg/load.py:12:5:", "MLG201"],
        ["pkg/load.py:16:18:", "MLG401"],
        ["pkg/load.py:18:9:", "MLG204"],
    ]
    assert main(["lint", "--fix"]) == 0
    captured = capsys.readouterr()
    assert (repo / "pkg/load.py").read_text(encoding="utf-8") == AFTER
    assert captured.err == "mlgate: fixed 4 finding(s) in 1 file(s)\n"
    assert captured.out == "All checks passed (2 files checked).\n"


def test_show_fixes_prints_a_diff_and_writes_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo, {"pkg/load.py": BEFORE})
    assert main(["lint", "--show-fixes"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("--- a/pkg/load.py\n+++ b/pkg/load.py\n")
    assert (
        "-        model = torch.load(path)\n"
        "-    except:  # keep this comment\n"
        "+        model = torch.load(path, weights_only=True)\n"
        "+    except BaseException:  # keep this comment\n"
    ) in captured.out
    assert captured.err == "mlgate: 4 fix(es) in 1 file(s); --fix applies them\n"
    assert (repo / "pkg/load.py").read_text(encoding="utf-8") == BEFORE


def test_nothing_to_fix(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {"pkg/clean.py": "x = 1\n", "pkg/glob.py": "def f():\n    global A\n"})
    assert main(["lint", "--show-fixes"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["lint", "--fix"]) == 1
    assert capsys.readouterr().err == ""


def test_fix_keeps_encoding_and_line_ends(repo: Path) -> None:
    source = "# -*- coding: latin-1 -*-\r\ntry:\r\n    x = 'é'\r\nexcept:\r\n    raise\r\n"
    (repo / "legacy.py").write_bytes(source.encode("latin-1"))
    main(["lint", "--fix", "legacy.py"])
    fixed = source.replace("except:", "except BaseException:")
    assert (repo / "legacy.py").read_bytes() == fixed.encode("latin-1")


def test_fix_needs_libcst(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delitem(sys.modules, "mlgate.linters.fix", raising=False)
    monkeypatch.delattr(mlgate.linters, "fix", raising=False)
    monkeypatch.setitem(sys.modules, "libcst", None)
    assert main(["lint", "--fix"]) == 2
    assert "pip install 'mlgate[fix]'" in capsys.readouterr().err


def test_fix_and_show_fixes_together_is_a_usage_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint", "--fix", "--show-fixes"]) == 2
    assert "pick one" in capsys.readouterr().err


NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Loading, with `except:`\n"]},
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "source": [
                "%matplotlib inline\n",
                "import logging\n",
                "import torch\n",
                "logger = logging.getLogger(__name__)",
            ],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [{"name": "stdout", "output_type": "stream", "text": ["except:\n"]}],
            "source": [
                "try:\n",
                "    model = torch.load('model.pt')\n",
                "except:  # é, kept\n",
                "    logger.error('cannot load')\n",
                "    raise",
            ],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "source": "try:\n    x = 1\nexcept:\n    raise\n",
        },
    ],
    "metadata": {"language_info": {"name": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def notebook_text(ascii_only: bool) -> str:
    """The notebook as Jupyter writes it (indent 1), or escaped as some other tools write it."""
    return json.dumps(NOTEBOOK, indent=1, ensure_ascii=ascii_only) + "\n"


@pytest.mark.parametrize("ascii_only", [False, True])
def test_fix_rewrites_notebook_cells_in_place(
    repo: Path, capsys: pytest.CaptureFixture[str], ascii_only: bool
) -> None:
    before = notebook_text(ascii_only)
    write(repo, {"nb/load.ipynb": before})
    assert main(["lint", "--show-fixes", "nb/load.ipynb"]) == 1
    assert capsys.readouterr().err == "mlgate: 3 fix(es) in 1 file(s); --fix applies them\n"
    assert main(["lint", "--fix", "--select", "MLG2,MLG4", "nb/load.ipynb"]) == 0
    assert capsys.readouterr().err == "mlgate: fixed 3 finding(s) in 1 file(s)\n"
    after = (repo / "nb/load.ipynb").read_text(encoding="utf-8")
    cells = json.loads(after)["cells"]
    assert cells[2]["source"] == [
        "try:\n",
        "    model = torch.load('model.pt', weights_only=True)\n",
        "except BaseException:  # é, kept\n",
        "    logger.error('cannot load')\n",  # re-raised: MLG204 does not apply
        "    raise",
    ]
    assert cells[3]["source"] == "try:\n    x = 1\nexcept BaseException:\n    raise\n"
    changed = [
        (old, new)
        for old, new in zip(before.splitlines(), after.splitlines(), strict=True)
        if old != new
    ]
    assert len(changed) == 3  # two lines of cell 3 and the one line holding all of cell 4
    assert json.loads(after)["cells"][2]["outputs"] == NOTEBOOK["cells"][2]["outputs"]  # type: ignore[index]


def test_a_notebook_fix_that_cannot_be_placed_is_left_out(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cell = "try:\n    x = 1\nexcept:\n    raise\ntry:\n    y = 1\nexcept:\n    raise\n"
    text = json.dumps({"cells": [{"cell_type": "code", "source": cell}]}) + "\n"
    write(repo, {"twice.ipynb": text})
    assert main(["lint", "--fix", "twice.ipynb"]) == 1  # the same `except:` twice on one line
    assert capsys.readouterr().err == ""
    assert (repo / "twice.ipynb").read_text(encoding="utf-8") == text
