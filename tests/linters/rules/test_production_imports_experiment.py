"""MLG303 edge cases beyond the rule's examples: relative imports, glob shapes."""

from __future__ import annotations

import pytest

from mlgate.linters.base import Options
from mlgate.linters.engine import check_source
from mlgate.linters.registry import RULES, build_options

RULE = {"MLG303": RULES["MLG303"]}


def _lines(source: str, path: str, *patterns: str) -> list[int]:
    options = build_options({"experiment-paths": patterns})
    return [v.line for v in check_source(source, path, options, RULE)]


@pytest.mark.parametrize(
    ("source", "path", "expected"),
    [
        ("from .scratch import x\n", "src/app/main.py", [1]),
        ("from ..scratch import x\n", "src/app/sub/main.py", [1]),
        ("from . import scratch\n", "src/app/main.py", [1]),
        ("from . import helpers\n", "src/app/main.py", []),
        ("from .scratch import x\n", "./src/app/main.py", [1]),
        ("from .scratch import x\n", "src\\app\\main.py", [1]),
        ("from . import *\n", "main.py", []),
    ],
)
def test_relative_imports(source: str, path: str, expected: list[int]) -> None:
    assert _lines(source, path, "src/app/scratch/**", "src/app/scratch.py") == expected


def test_literal_file_and_trailing_slash_patterns() -> None:
    source = "import legacy_model\nimport sandbox.run\nimport sandboxes\n"
    assert _lines(source, "a.py", "legacy_model.py", "sandbox/") == [1, 2]


def test_silent_without_experiment_paths() -> None:
    assert check_source("import experiments\n", "a.py", Options(), RULE) == []
