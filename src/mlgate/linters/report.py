"""Turning findings into text for people, JSON for scripts, SARIF for code scanning, workflow
annotations for GitHub Actions, a markdown table for a job summary, a GitLab Code Quality report
and JUnit XML for the CI systems that read test reports.

Every renderer takes a `Report` and returns the whole text.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

from mlgate import __version__
from mlgate.linters.base import Violation
from mlgate.linters.docs import REFERENCE_URL, RuleInfo

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_MARKDOWN_ROWS = 500
_BOLD, _RED, _RESET = "\033[1m", "\033[31m", "\033[0m"


class Report(NamedTuple):
    """Findings, how many files were checked, the known rules, and how to show them."""

    violations: list[Violation]
    files: int
    rules: Mapping[str, RuleInfo]
    color: bool = False
    statistics: bool = False
    summary: bool = True


def render(report: Report, fmt: str) -> str:
    """The report in format `fmt` (one of `FORMATS`)."""
    return RENDERERS[fmt](report)


def counts(violations: Iterable[Violation]) -> list[tuple[str, int]]:
    """(code, number of findings) pairs, most frequent first, then by code."""
    tally = Counter(v.code for v in violations)
    return sorted(tally.items(), key=lambda item: (-item[1], item[0]))


def _name(report: Report, code: str) -> str:
    meta = report.rules.get(code)
    return meta.name if meta else code


def _text(report: Report) -> str:
    if report.statistics:
        lines = [f"{n:>6}  {code}  {_name(report, code)}" for code, n in counts(report.violations)]
    else:
        lines = [_text_line(v, report.color) for v in report.violations]
    lines += [_summary(report)] if report.summary else []
    return "".join(line + "\n" for line in lines)


def _text_line(v: Violation, color: bool) -> str:
    if color:
        return f"{_BOLD}{v.path}{_RESET}:{_position(v)}: {_RED}{v.code}{_RESET} {v.message}"
    return f"{v.path}:{_position(v)}: {v.code} {v.message}"


def _position(v: Violation) -> str:
    """`line:col`, or `cell N:line L:col` in a notebook."""
    if v.cell is not None:
        return f"cell {v.cell.number}:line {v.cell.line}:{v.col + 1}"
    return f"{v.line}:{v.col + 1}"


def _summary(report: Report) -> str:
    checked = f"{report.files} file{'s' if report.files != 1 else ''} checked"
    if not report.files:
        return "Nothing checked: no Python file or notebook found."
    if not report.violations:
        return f"All checks passed ({checked})."
    found, files = len(report.violations), len({v.path for v in report.violations})
    plural = "s" if found != 1 else ""
    return f"Found {found} finding{plural} in {files} file{'s' if files != 1 else ''} ({checked})."


def _json(report: Report) -> str:
    data: list[dict[str, Any]]
    if report.statistics:
        data = [
            {"code": code, "name": _name(report, code), "count": n}
            for code, n in counts(report.violations)
        ]
    else:
        data = [_json_finding(report, v) for v in report.violations]
    return json.dumps(data, indent=2) + "\n"


def _json_finding(report: Report, v: Violation) -> dict[str, Any]:
    meta = report.rules.get(v.code)
    found = {
        "path": v.path,
        "line": v.line,
        "column": v.col + 1,
        "code": v.code,
        "name": meta.name if meta else v.code,
        "message": v.message,
        "url": meta.url if meta else None,
    }
    if v.cell is not None:
        found.update(cell=v.cell.number, cell_line=v.cell.line)
    return found


def _github(report: Report) -> str:
    return "".join(
        f"::error file={_property(v.path)},line={v.line},col={v.col + 1},"
        f"title={_property(v.code)}::{_data(v.message)}\n"
        for v in report.violations
    )


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _markdown(report: Report) -> str:
    if not report.files:
        return "### mlgate lint\n\nNothing checked: no Python file or notebook found.\n"
    if not report.violations:
        return f"### mlgate lint\n\nNo findings in {report.files} files checked.\n"
    found, files = len(report.violations), len({v.path for v in report.violations})
    tally = counts(report.violations)
    lines = [
        "### mlgate lint\n",
        f"**{found} findings** in {files} of {report.files} files checked.\n",
        "| Code | Rule | Findings |",
        "| --- | --- | ---: |",
        *(f"| {_md_code(report, c)} | {_name(report, c)} | {n} |" for c, n in tally),
        "\n<details><summary>Findings</summary>\n",
        *_markdown_findings(report.violations),
        "\n</details>",
    ]
    return "\n".join(lines) + "\n"


def _md_code(report: Report, code: str) -> str:
    meta = report.rules.get(code)
    return f"[{code}]({meta.url})" if meta else code


def _markdown_findings(violations: list[Violation]) -> list[str]:
    rows = ["| Location | Code | Message |", "| --- | --- | --- |"]
    rows.extend(
        f"| `{_md(v.path)}:{_position(v)}` | {v.code} | {_md(v.message)} |"
        for v in violations[:_MARKDOWN_ROWS]
    )
    if len(violations) > _MARKDOWN_ROWS:
        rows.append(f"\n... and {len(violations) - _MARKDOWN_ROWS} more.")
    return rows


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _sarif(report: Report) -> str:
    metas = list(report.rules.values())
    index = {meta.code: position for position, meta in enumerate(metas)}
    driver = {
        "name": "mlgate",
        "version": __version__,
        "semanticVersion": __version__,
        "informationUri": REFERENCE_URL,
        "rules": [_sarif_rule(meta) for meta in metas],
    }
    run = {
        "tool": {"driver": driver},
        "results": [_sarif_result(v, index) for v in report.violations],
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2) + "\n"


def _sarif_rule(meta: RuleInfo) -> dict[str, Any]:
    return {
        "id": meta.code,
        "name": meta.name,
        "shortDescription": {"text": meta.summary},
        "fullDescription": {"text": meta.summary},
        "help": {"text": meta.page, "markdown": meta.page},
        "helpUri": meta.url,
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": [meta.category]},
    }


def _sarif_result(v: Violation, index: Mapping[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": v.code,
        "level": "error",
        "message": {"text": v.message},
        "locations": [{"physicalLocation": _sarif_location(v)}],
    }
    if v.code in index:
        result["ruleIndex"] = index[v.code]
    if v.cell is not None:
        result["properties"] = {"cell": v.cell.number, "cellLine": v.cell.line}
    return result


def _sarif_location(v: Violation) -> dict[str, Any]:
    path = Path(v.path)
    if path.is_absolute():
        artifact = {"uri": path.as_uri()}
    else:
        artifact = {"uri": quote(path.as_posix()), "uriBaseId": "%SRCROOT%"}
    region = {"startLine": v.line}
    if v.cell is None:  # in a notebook the column is in the cell, not in the file's line
        region["startColumn"] = v.col + 1
    return {"artifactLocation": artifact, "region": region}


def _gitlab(report: Report) -> str:
    """GitLab Code Quality: the subset of the Code Climate format GitLab reads."""
    seen: Counter[str] = Counter()
    issues = []
    for v in report.violations:
        identity = f"{v.path}\0{v.code}\0{v.message}"
        seen[identity] += 1  # identical findings in one file stay distinct, in order
        digest = hashlib.sha256(f"{identity}\0{seen[identity]}".encode()).hexdigest()
        issues.append({
            "description": f"{v.code} {v.message}",
            "check_name": v.code,
            "fingerprint": digest,
            "severity": "major",
            "location": {"path": v.path, "lines": {"begin": v.line}},
        })  # fmt: skip
    return json.dumps(issues, indent=2) + "\n"


def _junit(report: Report) -> str:
    """JUnit XML: one test suite per file with findings, one failed test case per finding."""
    by_file: dict[str, list[Violation]] = {}
    for v in report.violations:
        by_file.setdefault(v.path, []).append(v)
    found = str(len(report.violations))
    root = ET.Element("testsuites", name="mlgate", tests=found, failures=found, errors="0")
    for path, violations in by_file.items():
        count = str(len(violations))
        suite = ET.SubElement(root, "testsuite", name=path, tests=count, failures=count, errors="0")
        for v in violations:
            _junit_case(suite, report, v)
    if not by_file:
        suite = ET.SubElement(root, "testsuite", name="mlgate", tests="1", failures="0", errors="0")
        ET.SubElement(suite, "testcase", name=f"{report.files} files checked", classname="mlgate")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _junit_case(suite: ET.Element, report: Report, v: Violation) -> None:
    where = f"{v.path}:{_position(v)}"
    case = ET.SubElement(
        suite, "testcase", name=f"{v.code} {_name(report, v.code)} at {where}",
        classname=v.path, file=v.path, line=str(v.line),
    )  # fmt: skip
    failure = ET.SubElement(case, "failure", message=v.message, type=v.code)
    failure.text = f"{where}: {v.code} {v.message}"


RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": _text,
    "json": _json,
    "sarif": _sarif,
    "github": _github,
    "markdown": _markdown,
    "gitlab": _gitlab,
    "junit": _junit,
}
FORMATS = tuple(RENDERERS)
