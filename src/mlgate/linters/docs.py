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
from mlgate.linters.registry import RULES, declared_options

#: Where the generated reference is published; each rule has an anchor named after its code.
REFERENCE_URL = "https://github.com/mlgate/mlgate/blob/main/linters/README.md"
REFERENCE_PATH = Path("linters") / "README.md"
TABLE_START = "<!-- rules-table:start -->"
TABLE_END = "<!-- rules-table:end -->"
#: The rule options' rows of the configuration reference, between these markers.
CONFIGURATION_PATH = Path("docs") / "configuration.md"
OPTIONS_START = "<!-- rule-options:start -->"
OPTIONS_END = "<!-- rule-options:end -->"
_KIND_NAMES = {int: "int", str: "string", bool: "bool", tuple: "list"}


class RuleInfo(NamedTuple):
    """A rule's code, name, documentation page (markdown) and category (its SARIF tag)."""

    code: str
    name: str
    page: str
    category: str = "maintainability"

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
    page = inspect.cleandoc(rule.__doc__ or rule.NAME)
    return RuleInfo(rule.CODE, rule.NAME, page, rule.CATEGORY)


def all_rule_infos(rules: Mapping[str, Rule]) -> list[RuleInfo]:
    """Every rule, by code."""
    return [rule_info(rules[code]) for code in sorted(rules)]


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
    return _between(readme, TABLE_START, TABLE_END, render_table(rules, str(REFERENCE_PATH)))


def render_options_table(rules: Mapping[str, Rule]) -> list[str]:
    """A markdown table of every rule option: key, kind, the rules reading it, help, default."""
    owners: dict[str, list[str]] = {}
    for code in sorted(rules):
        for option in rules[code].OPTIONS:
            owners.setdefault(option.name, []).append(code)
    return [
        "| Key | Value | Meaning |",
        "| --- | --- | --- |",
        *(
            f"| `{name}` | {_KIND_NAMES[type(option.default)]} | {', '.join(owners[name])}: "
            f"{_cell(option.help)} (default {_toml(option.default)}) |"
            for name, option in declared_options(rules).items()
        ),
    ]


def with_options_table(page: str, rules: Mapping[str, Rule]) -> str:
    """`page` with the text between the rule-options markers replaced by the options table."""
    return _between(page, OPTIONS_START, OPTIONS_END, render_options_table(rules))


def _between(text: str, start: str, end: str, lines: list[str]) -> str:
    head, found, rest = text.partition(start)
    _, found_end, tail = rest.partition(end)
    if not (found and found_end):
        return text
    return f"{head}{start}\n{chr(10).join(lines)}\n{end}{tail}"


def _toml(value: object) -> str:
    """A default as `[tool.mlgate]` spells it; a long list is shown by its length."""
    if isinstance(value, tuple) and len(value) > 2:
        return f"{len(value)} built-in names"
    if isinstance(value, tuple):
        return "`[" + ", ".join(f'"{item}"' for item in value) + "]`"
    shown = str(value).lower() if isinstance(value, bool) else repr(value).replace("'", '"')
    return f"`{shown}`"


def main(argv: Sequence[str] | None = None, rules: Mapping[str, Rule] | None = None) -> int:
    """Write `linters/README.md` and README's rules table (`--check`: exit 1 when stale)."""
    parser = argparse.ArgumentParser(prog="python -m mlgate.linters.docs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check, exit 1 when stale")
    parser.add_argument("--output", type=Path, default=REFERENCE_PATH, help="reference to write")
    parser.add_argument("--readme", type=Path, default=Path("README.md"), help="README to update")
    parser.add_argument(
        "--configuration", type=Path, default=CONFIGURATION_PATH, help="reference to update"
    )
    args = parser.parse_args(argv)
    targets = _targets(args, RULES if rules is None else rules)
    stale = [path for path, text in targets if _read(path) != text]
    if args.check:
        print(f"stale: {', '.join(map(str, stale))}" if stale else "up to date", file=sys.stderr)
        return 1 if stale else 0
    for path, text in targets:
        if path in stale:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, text)
    return 0


def _targets(args: argparse.Namespace, rules: Mapping[str, Rule]) -> list[tuple[Path, str]]:
    """Each generated file and the text it should have."""
    targets = [(args.output, render_reference(rules))]
    updates = ((args.readme, with_readme_table), (args.configuration, with_options_table))
    for path, update in updates:
        text = _read(path)
        if text is not None:
            targets.append((path, update(text, rules)))
    return targets


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


if __name__ == "__main__":
    raise SystemExit(main())
