"""The documentation site: it builds with no warning, and it documents every command, option
and configuration key the code accepts."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from mlgate.cli import build_parser
from mlgate.linters.config import known_keys
from mlgate.pipelines import environments, smoke
from mlgate.pipelines.config import PACKAGE_KEYS, SCAN_KEYS

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))
#: Each table of configuration.md and the keys its schema accepts.
SCHEMAS: dict[str, frozenset[str]] = {
    "[tool.mlgate]": frozenset(known_keys())
    | {"profiles", "package", "scan", "environments", "ledger"},
    # linters/profiles.py reads these two and hands every other key to the lint settings.
    "[tool.mlgate.profiles.NAME]": frozenset({"paths", "kind"}),
    "[tool.mlgate.package]": PACKAGE_KEYS,
    "[[tool.mlgate.package.smoke]]": smoke.KEYS,
    "[tool.mlgate.scan]": SCAN_KEYS,
    "[tool.mlgate.environments.ENV]": frozenset(environments._ENVIRONMENT),
    "[tool.mlgate.environments.ENV.approval]": frozenset(environments._APPROVAL),
    "[tool.mlgate.environments.ENV.verify]": frozenset(environments._VERIFY),
    '[tool.mlgate.environments.ENV.target]: kind = "local"': frozenset(environments._LOCAL),
    '[tool.mlgate.environments.ENV.target]: kind = "command"': frozenset(environments._COMMAND),
    "[tool.mlgate.ledger]": frozenset(environments._LEDGER),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built by `mkdocs build --strict` into a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", ROOT / "mkdocs.yml", "-d", out],
        capture_output=True,
        text=True,
        check=False,
        # Material's notice about its end of life is not about this site.
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stderr.splitlines() if "WARNING" in line] == []
    return out


def walk(
    parser: argparse.ArgumentParser, prog: str
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """(`mlgate COMMAND [VERB]`, its parser) for every command and verb under `parser`."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                yield f"{prog} {name}", command
                yield from walk(command, f"{prog} {name}")


def commands() -> dict[str, argparse.ArgumentParser]:
    """Every command and verb, by how it is typed: `mlgate package build`."""
    return dict(walk(build_parser(), "mlgate"))


def undocumented_options(parsers: Mapping[str, argparse.ArgumentParser]) -> list[str]:
    """`COMMAND OPTION` for every argument without help text."""
    return [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, parser in parsers.items()
        for action in parser._actions
        if _silent(action)
    ]


def _silent(action: argparse.Action) -> bool:
    """No help text; a group of verbs is explained by the verbs' own help."""
    if isinstance(action, argparse._SubParsersAction):
        return False
    return not action.help or action.help == argparse.SUPPRESS


def documented_keys(page: str) -> Iterator[tuple[str, str]]:
    """(table heading, key) for each row of each table of configuration.md."""
    heading = ""
    for line in page.splitlines():
        if line.startswith("## "):
            heading = line[3:].replace("`", "")
        elif match := re.match(r"\| `([a-z0-9-]+)` \|", line):
            yield heading, match.group(1)


def key_differences(page: str) -> list[str]:
    """What configuration.md and the schemas disagree on, one line each."""
    found: dict[str, set[str]] = {}
    for heading, key in documented_keys(page):
        found.setdefault(heading, set()).add(key)
    problems = [f"{table}: {key} is not documented" for table, keys in SCHEMAS.items()
                for key in sorted(keys - found.get(table, set()))]  # fmt: skip
    problems += [f"{table}: {key} is documented but not accepted" for table, keys in found.items()
                 for key in sorted(keys - SCHEMAS.get(table, frozenset()))]  # fmt: skip
    return problems


def test_the_site_builds_every_page(site: Path) -> None:
    pages = {path.parent.name for path in site.glob("*/index.html")}
    expected = {path.stem for path in PAGES} - {"index"} | {"rules", "cli", "changelog"}
    assert pages == expected
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "mlgate is a code-quality and release-governance kit" in home
    assert 'href="lint/"' in home
    assert 'href="rules/"' in home


def test_every_command_and_option_is_on_the_command_line_page(site: Path) -> None:
    parsers = commands()
    assert undocumented_options(parsers) == []
    page = (site / "cli" / "index.html").read_text(encoding="utf-8")
    for name, parser in parsers.items():
        anchor = name.replace(" ", "-")
        assert re.search(f'<h[23] id="{anchor}">{name}<', page), name
        for action in parser._actions:
            for option in action.option_strings:
                assert option in page, f"{name} {option}"


def test_every_command_is_explained_in_a_written_page() -> None:
    pages = [*PAGES, ROOT / "README.md"]
    written = "".join(path.read_text(encoding="utf-8") for path in pages)
    assert [name for name in commands() if name not in written] == []


def test_an_argument_without_help_is_reported() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documented", help="it says what it does")
    parser.add_argument("--silent")
    parser.add_argument("--hidden", help=argparse.SUPPRESS)
    assert undocumented_options({"demo": parser}) == [
        "demo --silent",
        "demo --hidden",
    ]


def test_every_configuration_key_is_documented() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert key_differences(page) == []


def test_a_missing_or_unknown_key_is_reported() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    page = page.replace("| `signed` | bool | refuse", "| `sined` | bool | refuse")
    assert key_differences(page) == [
        "[tool.mlgate.ledger]: signed is not documented",
        "[tool.mlgate.ledger]: sined is documented but not accepted",
    ]
