"""The hook manifest, this repository's own hooks and the rule registry stay in step."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from mlgate.cli import build_parser
from mlgate.linters.registry import RULES

ROOT = Path(__file__).resolve().parents[1]


def load(name: str) -> Any:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def test_offered_hooks_run_commands_mlgate_accepts() -> None:
    hooks = {hook["id"]: hook for hook in load(".pre-commit-hooks.yaml")}
    assert hooks["mlgate"]["entry"] == "mlgate lint --force-exclude"
    assert hooks["mlgate"]["types_or"] == ["python", "jupyter"]
    for hook in hooks.values():
        assert hook["language"] == "python"
        program, *arguments = shlex.split(hook["entry"])
        assert program == "mlgate"
        build_parser().parse_args([*arguments, "example.py"])


def test_own_hooks_are_local_and_offline() -> None:
    [repo] = load(".pre-commit-config.yaml")["repos"]
    assert repo["repo"] == "local"
    hooks = {hook["id"]: hook for hook in repo["hooks"]}
    assert set(hooks) == {"ruff", "ruff-format", "mypy", "mlgate"}
    assert all(hook["language"] == "system" for hook in hooks.values())
    assert hooks["mlgate"]["entry"] == "mlgate lint --force-exclude"


def test_registry_is_sorted_and_codes_are_well_formed() -> None:
    assert list(RULES) == sorted(RULES)
    names = [rule.NAME for rule in RULES.values()]
    assert len(set(names)) == len(names)
    for code, rule in RULES.items():
        assert re.fullmatch(r"MLG(000|[1-9][0-9]{2})", code)  # MLG000: a file not checked
        assert code == rule.CODE
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", rule.NAME)
        assert (rule.__doc__ or "").startswith(f"{code} {rule.NAME}: ")


def test_the_model_scan_hook_sees_every_file_as_the_scanner_reads_them() -> None:
    """The scanner identifies files by content (a pickle named `.h5` is a pickle): no filter."""
    hooks = {hook["id"]: hook for hook in load(".pre-commit-hooks.yaml")}
    hook = hooks["mlgate-scan-models"]
    assert (hook.get("files"), hook.get("exclude"), hook["types"]) == (None, None, ["file"])
