"""The engine on real files: decoding, parsing, MLG000, `# noqa`, rule selection per file."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sample_rules import SAMPLE_RULES

from mlgate.linters.base import (
    Example,
    FileContext,
    Finding,
    Fix,
    Option,
    Options,
    Rule,
    Violation,
)
from mlgate.linters.config import LintConfig
from mlgate.linters.engine import apply_noqa, check_source, check_tree, split_lines
from mlgate.linters.registry import build_options
from mlgate.linters.run import lint_paths
from workspace import write


def lint(root: Path, files: dict[str, str | bytes], **settings: object) -> list[tuple[object, ...]]:
    """Write `files` and lint them all; (path, line, col, code) of each finding."""
    write(root, files)
    config = LintConfig(root, **settings)  # type: ignore[arg-type]
    result = lint_paths(sorted(files), config, SAMPLE_RULES)
    assert result.files == len(files)
    return [(v.path, v.line, v.col, v.code) for v in result.violations]


def messages(root: Path, files: dict[str, str | bytes]) -> list[Violation]:
    write(root, files)
    return lint_paths(sorted(files), LintConfig(root), SAMPLE_RULES).violations


def test_rules_get_their_node_types(here: Path) -> None:
    source = "boom()\n\ndef f():\n    global x\n    return [boom(y) for y in x]\n"
    assert lint(here, {"a.py": source}, options=build_options({"max-function-lines": 1})) == [
        ("a.py", 1, 0, "MLG901"),
        ("a.py", 3, 0, "MLG902"),
        ("a.py", 4, 4, "MLG903"),
        ("a.py", 5, 12, "MLG901"),
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xef\xbb\xbfboom()\n", [("a.py", 1, 0, "MLG901")]),
        (b"# -*- coding: latin-1 -*-\nx = '\xe9'\nboom()\n", [("a.py", 3, 0, "MLG901")]),
        (b"#!/bin/python\n# vim: set fileencoding=cp1252 :\nboom()\n", [("a.py", 3, 0, "MLG901")]),
        (b"", []),
        (b"\n\n", []),
        (b"x = 1\rboom()\r\n\x0cboom()\n", [("a.py", 2, 0, "MLG901"), ("a.py", 3, 1, "MLG901")]),
    ],
)
def test_encodings_and_line_endings(here: Path, data: bytes, expected: list[object]) -> None:
    assert lint(here, {"a.py": data}) == expected


def test_split_lines_counts_lines_as_python_does() -> None:
    assert split_lines("a\rb\r\nc\x0cd\u2028e\n") == ("a", "b", "c\x0cd\u2028e")
    assert split_lines("") == ()
    assert split_lines("a") == ("a",)


@pytest.mark.parametrize(
    ("data", "position", "message"),
    [
        (b"x = 1\ny = '\xff'\n", (2, 5), "cannot decode: byte 0xff is not valid utf-8; declare "
         "the encoding (PEP 263) or re-save the file"),
        (b"# coding: klingon\nx = 1\n", (1, 0), "cannot decode: unknown encoding: klingon"),
        (b"\xef\xbb\xbf# coding: latin-1\n", (1, 0), "cannot decode: encoding problem: "
         "utf-8"),
        (b"def f(:\n    pass\n", (1, 6), "syntax error: invalid syntax"),
        (b"x = (\n", (1, 4), "syntax error: '(' was never closed"),
        (b"x = 1\nif x:\nprint(x)\n", (3, 0), "syntax error: expected an indented block after "
         "'if' statement on line 2"),
    ],
)  # fmt: skip
def test_unreadable_files_are_one_mlg000_each(
    here: Path, data: bytes, position: tuple[int, int], message: str
) -> None:
    found = messages(here, {"bad.py": data, "good.py": "boom()\n"})
    assert found == [
        Violation("bad.py", *position, "MLG000", message),
        Violation("good.py", 1, 0, "MLG901", "call to boom"),
    ]


def test_null_bytes_are_mlg000(here: Path) -> None:
    assert messages(here, {"nul.py": b"x = 1\ny = 2\x00\n"}) == [
        Violation("nul.py", 2, 5, "MLG000", "syntax error: a null byte in the source")
    ]


def test_a_folder_named_like_a_file_is_walked(here: Path) -> None:
    write(here, {"dir.py/inner.py": "boom()\n"})
    found = lint_paths(["dir.py"], LintConfig(here), SAMPLE_RULES)
    assert (found.files, [v.path for v in found.violations]) == (1, ["dir.py/inner.py"])


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_a_file_that_cannot_be_read_is_mlg000(here: Path) -> None:
    found = lint_paths(["/proc/self/mem"], LintConfig(here), SAMPLE_RULES).violations
    assert found == [
        Violation("/proc/self/mem", 1, 0, "MLG000", "cannot read the file: Input/output error")
    ]


NEW_SYNTAX = {
    (3, 10): "match x:\n    case [1, *rest]:\n        boom()\n    case _:\n        pass\n",
    (3, 11): "try:\n    pass\nexcept* ValueError:\n    boom()\n",
    (3, 12): "type Alias[T] = list[T]\ndef f[T](x: T) -> T:\n    return boom(x)\n",
    (3, 14): "name = 'x'\ngreeting = t'hello {name}'\nboom()\n",
}


@pytest.mark.parametrize("version", sorted(NEW_SYNTAX))
def test_newer_syntax_is_checked_or_reported(here: Path, version: tuple[int, int]) -> None:
    source = NEW_SYNTAX[version]
    codes = {v.code for v in messages(here, {"new.py": source})}
    assert codes == ({"MLG901"} if sys.version_info >= version else {"MLG000"})


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("boom()  # noqa", False),
        ("boom()  # NOQA", False),
        ("boom()  # noqa: MLG901", False),
        ("boom()  # noqa:MLG902,MLG901", False),
        ("boom()  # noqa: MLG9", False),
        ("boom()  # noqa: MLG902", True),
        ("boom()  # noqa: E501 MLG901", False),
        ("boom()  # noqa: mlg901", True),
        ("boom()  # noqa : MLG901", False),
        ("boom()  # no qa", True),
        ("boom()", True),
    ],
)
def test_noqa_on_the_reported_line(here: Path, line: str, kept: bool) -> None:
    found = lint(here, {"a.py": line + "\n"})
    assert found == ([("a.py", 1, 0, "MLG901")] if kept else [])


def test_noqa_for_a_function_finding_sits_on_the_def_line(here: Path) -> None:
    source = (
        "@decorator\n"
        "def f():  # noqa: MLG902\n"
        "    x = 1\n"
        "    return x\n"
        "async def g():\n"
        "    x = 1  # noqa\n"
        "    return x\n"
    )
    found = lint(here, {"a.py": source}, options=build_options({"max-function-lines": 1}))
    assert found == [("a.py", 5, 0, "MLG902")]


def test_select_ignore_and_per_file_ignores(here: Path) -> None:
    files: dict[str, str | bytes] = {
        "src/a.py": "boom()\nglobal x\n",
        "tests/test_a.py": "boom()\nglobal x\n",
        "tests/broken.py": "def (\n",
        "src/broken.py": "def (\n",
    }
    assert lint(here, files, select=("MLG901",), per_file_ignores=(("tests/", ("MLG9",)),)) == [
        ("src/a.py", 1, 0, "MLG901"),
        ("src/broken.py", 1, 4, "MLG000"),
        ("tests/broken.py", 1, 4, "MLG000"),
    ]
    assert lint(
        here,
        files,
        ignore=("MLG903",),
        per_file_ignores=(("test_*.py", ("MLG901",)), ("broken.py", ("MLG000",))),
    ) == [("src/a.py", 1, 0, "MLG901")]
    assert lint(here, files, ignore=("MLG0", "MLG901")) == [
        ("src/a.py", 2, 0, "MLG903"),
        ("tests/test_a.py", 2, 0, "MLG903"),
    ]


def test_check_source_and_check_tree_skip_noqa() -> None:
    source = "boom()  # noqa\n"
    assert check_source(source, "x.py", Options(), SAMPLE_RULES) == [
        Violation("x.py", 1, 0, "MLG901", "call to boom")
    ]
    assert check_source("(", "x.py", Options(), SAMPLE_RULES)[0].code == "MLG000"
    ctx = FileContext("x.py", ("boom()",), ast.parse("boom()"), Options())
    assert check_tree(ctx, {}) == []


def test_noqa_covers_the_lines_joined_by_a_token_as_in_flake8(here: Path) -> None:
    # flake8 joins the lines of a multi-line token (string, backslash continuation); a
    # newline inside brackets still ends the line it searches.
    source = (
        "boom() + \\\n"
        "    1  # noqa: MLG901\n"
        'boom(); s = """\n'
        '# noqa"""\n'
        "x = boom(  # noqa\n"
        "    boom(),\n"
        ")\n"
    )
    assert lint(here, {"a.py": source}) == [("a.py", 6, 4, "MLG901")]


def test_noqa_falls_back_to_the_line_when_tokens_fail() -> None:
    found = [Violation("a.py", 1, 0, "MLG901", "m"), Violation("a.py", 2, 0, "MLG901", "m")]
    lines = ("x = 1  # noqa", "y = '''")
    assert apply_noqa(found, lines, "\n".join(lines)) == found[1:]
    assert apply_noqa(found, lines, "no marker") == found


@pytest.mark.parametrize(
    ("directive", "kept"),
    [
        ("# mlgate: noqa", []),
        ("  #MLGATE=NOQA generated by protoc", []),
        ("# mlgate: noqa: MLG901", [3]),
        ("# mlgate: noqa:mlg9 , MLG000", []),
        ("# mlgate: noqa: MLG903 generated", [1, 2]),
        ("# flake8: noqa", []),
        ("# flake8: noqa: MLG901", []),  # flake8 skips the file whatever follows
        ("\t# FLAKE8=NOQA", []),
        ("#flake8: noqa", [1, 2, 3]),  # flake8 wants exactly one space after the hash
        ("x = 1  # mlgate: noqa", [1, 2, 3]),  # not a comment line of its own
        ("# mlgate: noqa: nothing-valid", [1, 2, 3]),
        ("# mlgate: noqanope", [1, 2, 3]),
    ],
)
def test_a_file_level_directive_exempts_the_whole_file(
    here: Path, directive: str, kept: list[int]
) -> None:
    source = f"boom()\nboom()\nglobal x\n{directive}\n"
    assert [line for _, line, _, _ in lint(here, {"a.py": source})] == kept


def test_a_file_level_directive_exempts_an_unparsable_file_as_flake8_skips_it(here: Path) -> None:
    files: dict[str, str | bytes] = {
        "a.py": "# flake8: noqa\ndef (\n",
        "b.py": "# mlgate: noqa: MLG000\ndef (\n",
        "c.py": "# mlgate: noqa: MLG9\ndef (\n",
    }
    assert lint(here, files) == [("c.py", 2, 4, "MLG000")]


def test_a_tree_too_deep_for_the_parser_is_mlg000_and_the_run_goes_on(here: Path) -> None:
    deep = "total = " + " + ".join(["a"] * 2950) + "\n"
    found = messages(here, {"deep.py": deep, "good.py": "boom()\n"})
    assert [(v.path, v.line, v.code) for v in found] == [
        ("deep.py", 1, "MLG000"),
        ("good.py", 1, "MLG901"),
    ]
    assert found[0].message.startswith("cannot parse: RecursionError: maximum recursion depth")


class _CrashingRule:
    """MLG909 crashes: a rule with a bug, raising on every module it is given."""

    CODE = "MLG909"
    NAME = "crashes"
    CATEGORY = "maintainability"
    OPTIONS: tuple[Option[Any], ...] = ()
    FIX: Fix | None = None
    NODE_TYPES: tuple[type[ast.AST], ...] = (ast.Module,)
    VALID: tuple[Example, ...] = ()
    INVALID: tuple[Example, ...] = ()

    def check(self, node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
        """Fails the way a rule's bug would."""
        if "crash" in ctx.lines[0]:
            raise RecursionError("maximum recursion depth exceeded")
        yield from ()


def test_a_rule_that_raises_is_mlg000_for_that_file_only(here: Path) -> None:
    write(here, {"a.py": "crash()\nboom()\n", "b.py": "boom()\n"})
    rules: dict[str, Rule] = {**SAMPLE_RULES, "MLG909": _CrashingRule()}
    found = lint_paths(["a.py", "b.py"], LintConfig(here), rules).violations
    assert found == [
        Violation(
            "a.py", 1, 0, "MLG000",
            "mlgate could not check this file: RecursionError: maximum recursion depth "
            "exceeded (please report this)",
        ),
        Violation("b.py", 1, 0, "MLG901", "call to boom"),
    ]  # fmt: skip
