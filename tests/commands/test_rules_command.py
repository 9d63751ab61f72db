"""`mlgate rules` and `mlgate rule CODE`."""

from __future__ import annotations

import json

import pytest

from mlgate.cli import main
from mlgate.linters.docs import all_rule_infos
from mlgate.linters.registry import RULES


def test_rules_lists_every_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    codes = [line.split()[0] for line in lines if line.startswith("MLG")]
    assert codes == sorted(RULES)
    assert lines[0].startswith("MLG000  unparsable-file")


def test_rules_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [item["code"] for item in data] == [info.code for info in all_rule_infos(RULES)]
    assert data[0] == {
        "code": "MLG000",
        "name": "unparsable-file",
        "summary": "a file that could not be read, decoded or parsed.",
        "url": "https://github.com/mlgate/mlgate/blob/main/linters/README.md#mlg000",
    }


def test_rule_prints_the_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rule", "mlg000"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "# MLG000 unparsable-file\n\na file that could not be read, decoded or parsed.\n\n"
        "## What it does\n"
    )
    assert out.endswith("only `ignore` or `per-file-ignores` can turn it off.\n")


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_rule_has_a_page(capsys: pytest.CaptureFixture[str], code: str) -> None:
    assert main(["rule", code]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# {code} {RULES[code].NAME}\n\n")
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert heading in out


def test_unknown_rule_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rule", "MLG999"]) == 2
    assert capsys.readouterr().err == (
        "mlgate: error: unknown rule 'MLG999'; `mlgate rules` lists the codes\n"
    )
