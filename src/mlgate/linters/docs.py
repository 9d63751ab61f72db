"""Rule documentation: each rule module's docstring is its page.

`mlgate rule CODE` prints one page, SARIF output carries them as rule help, and the top-level
`linters/README.md` is generated from all of them:

    python -m mlgate.linters.docs            # rewrite linters/README.md and README's table
    python -m mlgate.linters.docs --check    # exit 1 when either is stale
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from mlgate.linters.atomic import write_atomic
from mlgate.linters.base import Rule
from mlgate.linters.registry import RULES

#: Where the generated reference is published; each rule has an anchor named after its code.
REFERENCE_URL = "https://github.com/mlgate/mlgate/blob/main/linters/README.md"
REFERENCE_PATH = Path("linters") / "README.md"
TABLE_START = "<!-- rules-table:start -->"
TABLE_END = "<!-- rules-table:end -->"

UNPARSABLE_PAGE = """MLG000 unparsable-file: a file that could not be read, decoded or parsed.

## What it does
Reports a Python file mlgate could not check: it cannot be read, its bytes are not valid in
its encoding (UTF-8 unless a byte-order mark or a PEP 263 coding cookie says otherwise), or the
running Python cannot parse it (a syntax error, or an expression nested deeper than the parser
allows, such as a generated 3,000-term sum). The finding gives the position and the parser's
message. A file mlgate fails to check after parsing it (a tree deeper than Python's stack, or a
bug in a rule) is reported the same way, with the exception's type and message and a request to
report it. The other files are still checked, and their findings reported.

## Why is this bad?
A file no tool can parse is a file no rule checks: other linters often skip it silently (flake8
with a narrow `--select` exits 0). It usually means a syntax error, a file written for another
Python version, or a file saved in an undeclared encoding.

## Use instead
Fix the syntax error, declare the encoding (`# -*- coding: latin-1 -*-` on the first or second
line), or, for a deliberately broken fixture, exclude the file (`exclude`) or ignore the code for
it (`per-file-ignores = {"tests/fixtures/broken.py" = ["MLG000"]}`).

MLG000 is reported whatever `select` says; only `ignore` or `per-file-ignores` can turn it off.
"""


class RuleInfo(NamedTuple):
    """A rule's code, name and documentation page (markdown)."""

    code: str
    name: str
    page: str

    @property
    def summary(self) -> str:
        """The page's first line without the `CODE name:` prefix."""
        first = self.page.split("\n", 1)[0]
        for prefix in (f"{self.code} {self.name}", self.code, self.name):
            if first.startswith(prefix):
                first = first[len(prefix) :].lstrip(" :-\u2014")
                break
        return first.strip()

    @property
    def url(self) -> str:
        """The page's address in the published reference."""
        return f"{REFERENCE_URL}#{self.code.lower()}"


def rule_info(rule: Rule) -> RuleInfo:
    """The documentation of one rule module."""
    return RuleInfo(rule.CODE, rule.NAME, inspect.cleandoc(rule.__doc__ or rule.NAME))


def all_rule_infos(rules: Mapping[str, Rule]) -> list[RuleInfo]:
    """MLG000 and every rule, by code."""
    unparsable = RuleInfo("MLG000", "unparsable-file", UNPARSABLE_PAGE.strip())
    return [unparsable, *(rule_info(rules[code]) for code in sorted(rules))]


def find_rule(code: str, rules: Mapping[str, Rule]) -> RuleInfo | None:
    """The documentation for `code` (any case), or None when there is no such rule."""
    wanted = code.strip().upper()
    return next((info for info in all_rule_infos(rules) if info.code == wanted), None)


def render_table(rules: Mapping[str, Rule], link: str = "") -> list[str]:
    """A markdown table of all rules; codes link to `link` + `#code`."""
    return [
        "| Code | Name | What it flags |",
        "| --- | --- | --- |",
        *(
            f"| [{i.code}]({link}#{i.code.lower()}) | {i.name} | {_cell(i.summary)} |"
            for i in all_rule_infos(rules)
        ),
    ]


def render_reference(rules: Mapping[str, Rule]) -> str:
    """The text of `linters/README.md`: a table of all rules, then each rule's page."""
    infos = all_rule_infos(rules)
    parts = [
        "# mlgate rules\n",
        "<!-- Generated from the rule modules: `python -m mlgate.linters.docs`. Do not edit. -->\n",
        *render_table(rules),
    ]
    for info in infos:
        parts.extend(("", f'<a id="{info.code.lower()}"></a>', ""))
        parts.append(f"## {info.code} {info.name}\n")
        parts.append(info.summary)
        parts.extend(("", _demote_headings(info.page)) if "\n" in info.page else ())
    return "\n".join(parts) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _demote_headings(page: str) -> str:
    """The page below its title line, with markdown headings one level deeper."""
    lines, fenced = [], False
    for line in page.split("\n")[1:]:
        fenced = fenced != line.lstrip().startswith("```")
        lines.append("#" + line if line.startswith("#") and not fenced else line)
    return "\n".join(lines).strip()


def with_readme_table(readme: str, rules: Mapping[str, Rule]) -> str:
    """`readme` with the text between the rules-table markers replaced by the rules table."""
    head, found, rest = readme.partition(TABLE_START)
    _, found_end, tail = rest.partition(TABLE_END)
    if not (found and found_end):
        return readme
    table = "\n".join(render_table(rules, str(REFERENCE_PATH)))
    return f"{head}{TABLE_START}\n{table}\n{TABLE_END}{tail}"


def main(argv: Sequence[str] | None = None, rules: Mapping[str, Rule] | None = None) -> int:
    """Write `linters/README.md` and README's rules table (`--check`: exit 1 when stale)."""
    parser = argparse.ArgumentParser(prog="python -m mlgate.linters.docs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check, exit 1 when stale")
    parser.add_argument("--output", type=Path, default=REFERENCE_PATH, help="reference to write")
    parser.add_argument("--readme", type=Path, default=Path("README.md"), help="README to update")
    args = parser.parse_args(argv)
    chosen = RULES if rules is None else rules
    readme = _read(args.readme)
    targets = [(args.output, render_reference(chosen))]
    if readme is not None:
        targets.append((args.readme, with_readme_table(readme, chosen)))
    stale = [path for path, text in targets if _read(path) != text]
    if args.check:
        print(f"stale: {', '.join(map(str, stale))}" if stale else "up to date", file=sys.stderr)
        return 1 if stale else 0
    for path, text in targets:
        if path in stale:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, text)
    return 0


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


if __name__ == "__main__":
    raise SystemExit(main())
