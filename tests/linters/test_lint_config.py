"""`[tool.mlgate]` lint keys: validation, defaults, overrides and code selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate.config import RawConfig
from mlgate.errors import ConfigError
from mlgate.linters.base import Options
from mlgate.linters.config import (
    DEFAULT_EXCLUDE,
    LintConfig,
    build_lint_config,
    enabled_codes,
    known_keys,
    load_lint_config,
    with_overrides,
)
from mlgate.linters.registry import OPTIONS, build_options
from mlgate.linters.rules.function_too_long import MAX_LINES
from mlgate.linters.rules.too_many_parameters import MAX_PARAMETERS

CODES = ("MLG000", "MLG101", "MLG102", "MLG201", "MLG202", "MLG401")


def build(table: dict[str, object]) -> LintConfig:
    return build_lint_config(RawConfig(table, Path("/p/pyproject.toml")), CODES)


def test_defaults() -> None:
    config = build({})
    assert config == LintConfig(Path("/p"))
    assert config.select == ("MLG",)
    assert config.exclude == DEFAULT_EXCLUDE
    assert config.options == Options()


def test_every_key_is_read() -> None:
    config = build(
        {
            "select": ["MLG1"],
            "extend-select": ["MLG401"],
            "ignore": ["MLG102"],
            "exclude": ["notebooks/"],
            "extend-exclude": ["*_pb2.py"],
            "force-exclude": True,
            "per-file-ignores": {"tests/**": ["MLG101", "MLG2"]},
            "max-function-lines": 30,
            "max-parameters": 7,
            "logger-objects": ["app.log"],
            "torch-min-version": "2.6",
            "package": {"name": "whatever"},
            "environments": {"prod": {}},
        }
    )
    assert config.select == ("MLG1",)
    assert config.extend_select == ("MLG401",)
    assert config.ignore == ("MLG102",)
    assert config.exclude == ("notebooks/",)
    assert config.extend_exclude == ("*_pb2.py",)
    assert config.force_exclude is True
    assert config.per_file_ignores == (("tests/**", ("MLG101", "MLG2")),)
    assert config.options == build_options(
        {
            "max-function-lines": 30,
            "max-parameters": 7,
            "logger-objects": ("app.log",),
            "torch-min-version": "2.6",
        }
    )


def test_every_option_field_is_a_key() -> None:
    keys = known_keys()
    assert set(OPTIONS) <= set(keys)
    assert "per-file-ignores" in keys
    assert list(keys) == sorted(keys)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"max-function-line": 3},
            "/p/pyproject.toml: [tool.mlgate] max-function-line: unknown key; "
            "did you mean `max-function-lines`?",
        ),
        (
            {"max_function_lines": 3},
            "/p/pyproject.toml: [tool.mlgate] max_function_lines: unknown key; "
            "did you mean `max-function-lines`?",
        ),
        (
            {"max-function-lines": "20"},
            "/p/pyproject.toml: [tool.mlgate] max-function-lines must be a whole number >= 0, "
            "not '20'",
        ),
        (
            {"max-function-lines": True},
            "/p/pyproject.toml: [tool.mlgate] max-function-lines must be a whole number >= 0, "
            "not True",
        ),
        (
            {"max-parameters": -1},
            "/p/pyproject.toml: [tool.mlgate] max-parameters must be a whole number >= 0, not -1",
        ),
        (
            {"logger-objects": "log"},
            "/p/pyproject.toml: [tool.mlgate] logger-objects must be a list of strings, not 'log'",
        ),
        (
            {"torch-min-version": 2.6},
            "/p/pyproject.toml: [tool.mlgate] torch-min-version must be a string, not 2.6",
        ),
        (
            {"exclude": "build"},
            "/p/pyproject.toml: [tool.mlgate] exclude must be a list of strings, not 'build'",
        ),
        (
            {"select": ["MLG999"]},
            "/p/pyproject.toml: [tool.mlgate] select: unknown rule code 'MLG999'; "
            "`mlgate rules` lists the codes (a prefix such as MLG2 selects a group)",
        ),
        (
            {"ignore": ["mlg101"]},
            "/p/pyproject.toml: [tool.mlgate] ignore: unknown rule code 'mlg101'; "
            "`mlgate rules` lists the codes (a prefix such as MLG2 selects a group)",
        ),
        (
            {"per-file-ignores": ["tests/**"]},
            "/p/pyproject.toml: [tool.mlgate] per-file-ignores must be a table of "
            "glob = [codes], not ['tests/**']",
        ),
        (
            {"per-file-ignores": {"tests/**": ["E501"]}},
            "/p/pyproject.toml: [tool.mlgate] per-file-ignores.'tests/**': unknown rule code "
            "'E501'; `mlgate rules` lists the codes (a prefix such as MLG2 selects a group)",
        ),
    ],
)
def test_invalid_settings_name_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build(table)
    assert str(caught.value) == message


def test_long_values_are_shortened_and_unknown_keys_listed() -> None:
    with pytest.raises(ConfigError) as caught:
        build({"logger-objects": [1] * 40})
    shortened = "[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ..."
    assert str(caught.value).endswith(f"must be a list of strings, not {shortened}")
    with pytest.raises(ConfigError) as caught:
        build_lint_config(RawConfig({"zzz": 1}, None), CODES)
    assert str(caught.value) == f"zzz: unknown key; known keys: {', '.join(known_keys())}"


def test_overrides_replace_select_and_add_to_ignore() -> None:
    config = build({"select": ["MLG1"], "extend-select": ["MLG4"], "ignore": ["MLG101"]})
    changed = with_overrides(config, CODES, "MLG2, MLG102", "MLG202")
    assert changed.select == ("MLG2", "MLG102")
    assert changed.extend_select == ()
    assert changed.ignore == ("MLG101", "MLG202")
    assert with_overrides(config, CODES, None, None) == config
    with pytest.raises(ConfigError, match=r"^--select: unknown rule code 'XYZ1'"):
        with_overrides(config, CODES, "XYZ1", None)


@pytest.mark.parametrize(
    ("select", "extend", "ignore", "expected"),
    [
        (["MLG"], [], [], {"MLG000", "MLG101", "MLG102", "MLG201", "MLG202", "MLG401"}),
        (["MLG1"], ["MLG401"], [], {"MLG101", "MLG102", "MLG401"}),
        (["MLG"], [], ["MLG2"], {"MLG000", "MLG101", "MLG102", "MLG401"}),
        (["MLG"], [], ["MLG2", "MLG10"], {"MLG000", "MLG401"}),
        (["MLG202"], [], ["MLG2"], {"MLG202"}),
        (["MLG2"], [], ["MLG2"], set()),
    ],
)
def test_longest_prefix_decides(
    select: list[str], extend: list[str], ignore: list[str], expected: set[str]
) -> None:
    config = build({"select": select, "extend-select": extend, "ignore": ignore})
    assert enabled_codes(config, CODES) == expected


def test_load_reads_the_nearest_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.mlgate]\nmax-function-lines = 12\n", encoding="utf-8"
    )
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    config = load_lint_config(None, [], None, None)
    assert config.root == tmp_path
    assert MAX_LINES.of(config.options) == 12
    other = tmp_path / "other.toml"
    other.write_text("[tool.mlgate]\nmax-parameters = 2\n", encoding="utf-8")
    config = load_lint_config(other, [], None, "MLG000")
    assert (MAX_LINES.of(config.options), MAX_PARAMETERS.of(config.options)) == (20, 2)
    assert config.ignore == ("MLG000",)


def test_values_the_rules_reject_name_the_file() -> None:
    with pytest.raises(ConfigError) as caught:
        build({"function-lines-include": ["comments"]})
    assert str(caught.value).startswith(
        "/p/pyproject.toml: [tool.mlgate] function-lines-include: unknown 'comments'; use "
    )
