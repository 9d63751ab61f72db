"""libcst rewrites: each fix, formatting kept, unsafe forms left alone, the optional import."""

from __future__ import annotations

import sys

import pytest

import mlgate.linters
from mlgate.errors import UsageError
from mlgate.linters.autofix import load_fixer, may_fix
from mlgate.linters.base import Example, Options, Violation
from mlgate.linters.engine import check_source
from mlgate.linters.fix import fix_source, unified_diff
from mlgate.linters.registry import RULES, build_options


def _fixable_examples() -> list[object]:
    return [
        pytest.param(example, id=f"{code}-invalid-{index}")
        for code, rule in RULES.items()
        if rule.FIX is not None
        for index, example in enumerate(rule.INVALID)
    ]


@pytest.mark.parametrize("example", _fixable_examples())
def test_rule_examples_fix_to_their_fixed_source(example: Example) -> None:
    options = build_options(dict(example.options))  # type: ignore[arg-type]
    found = check_source(example.source, "example.py", options, RULES)
    result = fix_source(example.source, found)
    assert result.after == example.fixed
    remaining = list(example.expected)
    for violation in result.resolved:
        remaining.remove((violation.line, violation.code))
    again = check_source(result.after, "example.py", options, RULES)
    assert sorted((v.line, v.code) for v in again) == sorted(remaining)


def _at(source: str, code: str, line: int, text: str) -> Violation:
    """A violation at the first occurrence of `text` on `line` (byte column, as ast gives)."""
    prefix = source.splitlines()[line - 1].split(text)[0]
    return Violation("m.py", line, len(prefix.encode()), code, "m", fixable=True)


def _fixed(source: str, *violations: Violation) -> str:
    result = fix_source(source, violations)
    assert (result.after != source) == bool(result.resolved)
    return result.after


def test_bare_except_becomes_exception_or_base_exception() -> None:
    source = "try:\n    a()\nexcept:  # keep\n    b()\ntry:\n    a()\nexcept :\n    raise\n"
    fixed = _fixed(source, _at(source, "MLG201", 3, "except"), _at(source, "MLG201", 7, "except"))
    assert fixed == (
        "try:\n    a()\nexcept Exception:  # keep\n    b()\n"
        "try:\n    a()\nexcept BaseException:\n    raise\n"
    )


def test_raise_in_nested_function_is_not_a_reraise() -> None:
    source = "try:\n    a()\nexcept:\n    def f():\n        raise\n    class C:\n        pass\n"
    assert _fixed(source, _at(source, "MLG201", 3, "except")).startswith(
        "try:\n    a()\nexcept Exception:\n"
    )


def test_log_error_and_warning_become_exception() -> None:
    source = (
        "try:\n    a()\nexcept Exception as err:\n"
        "    log.error('failed: %s', err)\n"
        "    logger.warning('é %s', err); log.error('x')\n"
    )
    fixed = _fixed(
        source,
        _at(source, "MLG204", 4, "log"),
        _at(source, "MLG204", 5, "logger"),
    )
    assert fixed.splitlines()[3:] == [
        "    log.exception('failed: %s', err)",
        "    logger.exception('é %s', err); log.error('x')",
    ]


@pytest.mark.parametrize(
    "call", ["log.info('x')", "log.error('x', exc_info=False)", "log.error(**kw)", "error('x')"]
)
def test_log_calls_left_alone(call: str) -> None:
    source = f"try:\n    a()\nexcept Exception:\n    {call}\n"
    assert _fixed(source, _at(source, "MLG204", 4, call.split("(", maxsplit=1)[0])) == source


def test_yaml_load_becomes_safe_load_through_aliases() -> None:
    source = "import yaml as y\n\nconfig = y.load(stream)  # trusted?\n"
    fixed = _fixed(source, _at(source, "MLG401", 3, "y.load"))
    assert fixed == "import yaml as y\n\nconfig = y.safe_load(stream)  # trusted?\n"


@pytest.mark.parametrize(
    "call", ["yaml.load(s, Loader=yaml.Loader)", "yaml.load(*args)", "load(s)", "pickle.load(f)"]
)
def test_load_calls_left_alone(call: str) -> None:
    source = f"import pickle\nimport yaml\nfrom yaml import load\nx = {call}\n"
    assert _fixed(source, _at(source, "MLG401", 4, call.split("(", maxsplit=1)[0])) == source


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("torch.load(f)", "torch.load(f, weights_only=True)"),
        ("torch.load()", "torch.load(weights_only=True)"),
        ("torch.load(f,)", "torch.load(f, weights_only=True,)"),
        (
            "torch.load(\n    f,\n    map_location='cpu',\n)",
            "torch.load(\n    f,\n    map_location='cpu',\n    weights_only=True,\n)",
        ),
        ("load(f)", "load(f, weights_only=True)"),
        ("torch.load(f, weights_only=False)", None),
        ("torch.load(f, **opts)", None),
    ],
)
def test_torch_load_gets_weights_only(call: str, expected: str | None) -> None:
    source = f"import torch\nfrom torch import load\nmodel = {call}\n"
    fixed = _fixed(source, _at(source, "MLG401", 3, call.split("(", maxsplit=1)[0]))
    assert fixed == f"import torch\nfrom torch import load\nmodel = {expected or call}\n"


def test_only_the_reported_node_is_rewritten() -> None:
    source = "import torch\na = torch.load(f)\nb = torch.load(g)\n"
    fixed = _fixed(source, _at(source, "MLG401", 3, "torch"), _at(source, "MLG101", 2, "torch"))
    assert fixed == "import torch\na = torch.load(f)\nb = torch.load(g, weights_only=True)\n"


def test_files_libcst_cannot_parse_are_left_alone() -> None:
    source = "try:\n    a()\nexcept:\n    pass\nprint 'old'\n"
    assert _fixed(source, _at(source, "MLG201", 3, "except")) == source


def test_a_fix_that_does_not_parse_is_dropped() -> None:
    source = "import torch\nmodel = torch.load(f for f in files)\n"
    assert _fixed(source, _at(source, "MLG401", 2, "torch")) == source


def test_positions_beyond_the_source_are_ignored() -> None:
    source = "x = 1\n"
    assert (
        fix_source(source, [Violation("m.py", 9, 0, "MLG401", "m", fixable=True)]).after == source
    )


def test_unified_diff() -> None:
    source = "try:\n    a()\nexcept:\n    pass\n"
    result = fix_source(source, [_at(source, "MLG201", 3, "except")])
    assert unified_diff("src/m.py", result) == (
        "--- a/src/m.py\n+++ b/src/m.py\n@@ -1,4 +1,4 @@\n try:\n     a()\n"
        "-except:\n+except Exception:\n     pass\n"
    )


def test_fixer_needs_libcst(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_fixer().fix_source is fix_source
    monkeypatch.delitem(sys.modules, "mlgate.linters.fix")
    monkeypatch.delattr(mlgate.linters, "fix")
    monkeypatch.setitem(sys.modules, "libcst", None)
    with pytest.raises(UsageError, match=r"pip install 'mlgate\[fix\]'"):
        load_fixer()


def test_other_missing_modules_are_not_disguised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "mlgate.linters.fix")
    monkeypatch.delattr(mlgate.linters, "fix")
    monkeypatch.setitem(sys.modules, "libcst.metadata", None)
    with pytest.raises(ModuleNotFoundError, match=r"libcst\.metadata"):
        load_fixer()


_FIXABILITY = """\
import logging
import pickle

import yaml


def f(log, self, stream):
    try:
        g()
    except:
        raise
    try:
        g()
    except Exception:
        self._log.warning("failed")
    try:
        g()
    except Exception:
        log.info("failed")
    try:
        g()
    except Exception:
        logging.getLogger("a long name that the message cuts short to dots").error("x")
    g()
    g()
    g()
    g()
    return yaml.load(stream), pickle.load(stream)
"""


def test_rules_declare_which_findings_a_fix_may_apply_to() -> None:
    found = check_source(_FIXABILITY, "m.py", Options(), RULES)
    assert [(v.line, v.code, may_fix(v)) for v in found] == [
        (7, "MLG101", False),
        (10, "MLG201", True),
        (15, "MLG204", True),
        (19, "MLG204", False),
        (23, "MLG204", True),
        (28, "MLG401", True),
        (28, "MLG401", False),
    ]
    assert "...(...)`" in found[4].message  # the message cuts the logger; the flag does not care


def test_a_finding_not_marked_fixable_is_never_rewritten() -> None:
    source = "try:\n    a()\nexcept:\n    b()\n"
    assert fix_source(source, [Violation("m.py", 3, 0, "MLG201", "m")]).after == source


def test_notebook_fixes_are_written_back_only_line_for_line() -> None:
    from mlgate.linters import fix
    from mlgate.linters.notebook_fix import _written_back, fix_notebook_text
    from mlgate.linters.notebooks import read_notebook

    text = '{"cells": [{"cell_type": "code", "source": ["try:\\n", "    x = 1\\n", "except:\\n"]}]}'
    notebook = read_notebook(text)
    assert _written_back(text, notebook, notebook.source.replace("except:", "except E:")) == (
        text.replace("except:", "except E:")
    )
    assert _written_back(text, notebook, notebook.source + "pass\n") is None
    twice = '{"cells": [{"cell_type": "code", "source": ["a = 1\\n", "a = 1\\n"]}]}'
    assert _written_back(twice, read_notebook(twice), "a = 1\nb = 1\n") is None  # which one?
    assert fix_notebook_text("{not json", [], fix) is None


def test_a_long_or_spaced_logger_is_still_fixed() -> None:
    source = (
        "import logging\n\n\ndef f():\n    try:\n        g()\n    except Exception:\n"
        "        logging.getLogger('my app').error('failed')\n"
        "        return None\n"
    )
    found = [v for v in check_source(source, "m.py", Options(), RULES) if v.code == "MLG204"]
    assert [(v.line, v.code) for v in found] == [(8, "MLG204")]
    assert may_fix(found[0])
    assert fix_source(source, found).after == source.replace("').error(", "').exception(")
