"""The README: a user's quick start whose commands the CLI accepts, then the contributor
commands CI runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from mlgate.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
TEMPLATE = ROOT / "src" / "mlgate" / "templates" / "workflows" / "mlgate-pr.yml"


def blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", text, flags=re.DOTALL)


def section(title: str) -> str:
    """The README's text under `## title`, up to the next `## ` heading."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_the_readme_opens_with_what_mlgate_is() -> None:
    headings = re.findall(r"^## (.+)$", README, flags=re.MULTILINE)
    assert headings == [
        "Install",
        "Set up a repository",
        "Lint",
        "Release a model",
        "Contributing to mlgate",
    ]
    assert README.split("\n\n")[1].startswith("mlgate is a code-quality and release-governance")


def test_the_contributor_commands_are_the_ones_ci_runs() -> None:
    lint, tests = blocks(section("Contributing to mlgate"))
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert lint == "python -m pip install . && mlgate lint src"
    assert "mlgate lint src" in ci
    assert tests in ci


def user_commands() -> list[str]:
    """Every `mlgate ...` line of the user sections' shell blocks, comments dropped."""
    text = README[: README.index("\n## Contributing to mlgate\n")]
    lines = (line.split("#")[0].strip() for block in blocks(text) for line in block.splitlines())
    return [line for line in lines if line.startswith("mlgate ")]


@pytest.mark.parametrize("command", user_commands())
def test_the_cli_accepts_every_command_the_readme_shows(command: str) -> None:
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert args.command == command.split()[1]


def test_the_readme_shows_the_release_on_the_example_in_five_commands() -> None:
    [release] = blocks(section("Release a model"))
    commands = [line.split("#")[0].strip() for line in release.splitlines()]
    assert commands[0] == "cd examples/iris"
    assert [command.split()[:2] for command in commands[1:]] == [
        ["python", "train.py"],
        ["mlgate", "package"],
        ["mlgate", "approve"],
        ["mlgate", "deploy"],
        ["mlgate", "releases"],
    ]


def test_the_install_is_pinned_to_the_commit_the_templates_use() -> None:
    [pin] = re.findall(r"@([0-9a-f]{40}) # v", TEMPLATE.read_text(encoding="utf-8"))
    [install] = blocks(section("Install"))
    assert install == f'python -m pip install "mlgate @ git+https://github.com/mlgate/mlgate@{pin}"'
