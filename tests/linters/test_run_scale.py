"""Corners of cached and adoption runs that the command tests do not reach."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate.cli import main
from mlgate.linters.adoption import stale_lines
from mlgate.linters.baseline import Comparison, Fingerprint
from mlgate.linters.config import LintConfig
from mlgate.linters.registry import RULES
from mlgate.linters.run import RunOptions, decode, lint_files
from workspace import write


@pytest.mark.parametrize(
    "payload", ["x", {"violations": [[1]], "anchors": []}, {"violations": []}, None]
)
def test_payloads_this_version_did_not_write_are_rejected(payload: object) -> None:
    assert decode(payload) is None


def test_a_vanished_file_is_one_mlg000_with_the_cache_on(here: Path) -> None:
    result = lint_files(["gone.py"], LintConfig(here), RULES, RunOptions(cache=True))
    assert [(v.path, v.code, v.message) for v in result.violations] == [
        ("gone.py", "MLG000", "cannot read the file: No such file or directory")
    ]


def test_stale_lines_are_capped() -> None:
    fixed = tuple((Fingerprint(f"m{n:02}.py", "MLG302", "f", "d"), 1) for n in range(12))
    lines = list(stale_lines(Comparison((), (), fixed), limit=10))
    assert lines[0].startswith("12 baseline finding(s) no longer occur")
    assert lines[-1] == "  ... and 2 more"
    assert len(lines) == 12


def test_unfixable_form_of_a_fixable_rule_is_left(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = "import torch\n\nmodel = torch.load(path, weights_only=False)\n"
    write(here, {"m.py": source})
    assert main(["lint", "--fix"]) == 1
    assert (here / "m.py").read_text(encoding="utf-8") == source
    assert "MLG401" in capsys.readouterr().out
