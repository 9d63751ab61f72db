"""`mlgate init`: write the workflows, add the pre-commit hooks and merge `[tool.mlgate]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlgate.init_repo import MANUAL_STEPS, Action, detect, init_repo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`mlgate init [PATH] [--force]`."""
    parser.add_argument(
        "path", nargs="?", default=".", type=Path, help="repository root (default: .)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace workflow files and [tool.mlgate] values that differ from the templates "
        "(.pre-commit-config.yaml is always merged, never replaced)",
    )


def run(args: argparse.Namespace) -> int:
    """Write what is missing, report each file, then list what must be done by hand."""
    root: Path = args.path
    actions = init_repo(root, force=args.force)
    print(f"mlgate init: {root.resolve()}")
    for action in actions:
        print(f"  {_describe(action)}")
    if not any(action.wrote for action in actions):
        print("Nothing written: the repository already has what mlgate init writes.")
    for note in detect(root):
        print(f"Note: {note}")
    print("To do by hand:")
    for number, step in enumerate(MANUAL_STEPS, start=1):
        print(f"  {number}. {step}")
    return 0


def _describe(action: Action) -> str:
    text = f"{action.verb:<9} {action.path}"
    return f"{text}: {action.detail}" if action.detail else text
