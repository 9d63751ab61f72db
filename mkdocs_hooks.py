"""MkDocs hooks for mlgate's documentation site (named in mkdocs.yml, run by `mkdocs build`).

Some pages are generated rather than written, so they cannot drift: the home page is README.md,
`rules.md` is the rule reference `python -m mlgate.linters.docs` writes to linters/README.md,
`cli.md` is every command's `--help` from the argparse parsers `mlgate` itself runs, and
`changelog.md` is CHANGELOG.md. Links to files outside docs/ (they work on GitHub) are rewritten
to the page that holds them on the site, or to the file on GitHub.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

from mlgate.cli import build_parser

ROOT = Path(__file__).resolve().parent
REPOSITORY = "https://github.com/mlgate/mlgate/blob/main/"
#: Files outside docs/ that are pages of the site.
ON_SITE = {"linters/README.md": "rules.md", "CHANGELOG.md": "changelog.md", "README.md": "index.md"}
_FROM_DOCS = re.compile(r"\]\(\.\./([^)#\s]+)")
_FROM_ROOT = re.compile(r"\]\((?![a-z]+:|#|/)([^)#\s]+)")


def commands(parser: argparse.ArgumentParser, prog: str) -> Iterator[tuple[str, Any]]:
    """(`mlgate COMMAND [VERB]`, its parser) for every command and verb under `parser`."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                command.prog = f"{prog} {name}"
                yield command.prog, command
                yield from commands(command, command.prog)


def cli_page() -> str:
    """Markdown for every `mlgate` command: its help, as `mlgate COMMAND --help` prints it."""
    parts = ["# Command line\n", "Every command's `--help`, generated from mlgate's parsers.\n"]
    for prog, command in commands(build_parser(), "mlgate"):
        level = "#" * prog.count(" ")
        parts.append(f"#{level} {prog}\n\n```text\n{command.format_help().rstrip()}\n```\n")
    return "\n".join(parts)


def _site_link(path: str) -> str:
    """Where a link to `path` (relative to the repository root) points on the site."""
    if path.startswith("docs/"):
        return path.removeprefix("docs/")
    return ON_SITE.get(path, REPOSITORY + path)


def on_files(files: Files, config: Any) -> Files:
    """Add the generated pages."""
    rules = (ROOT / "linters" / "README.md").read_text(encoding="utf-8")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    for name, content in {
        "rules.md": rules,
        "cli.md": cli_page(),
        "changelog.md": changelog,
    }.items():
        files.append(File.generated(config, name, content=content))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """The README as the home page; links out of docs/ pointed at the site or at GitHub."""
    if page.file.src_uri == "index.md":
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        return _FROM_ROOT.sub(lambda m: "](" + _site_link(m.group(1)), readme)
    return _FROM_DOCS.sub(lambda m: "](" + _site_link(m.group(1)), markdown)
