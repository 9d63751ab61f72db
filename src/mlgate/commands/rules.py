"""`mlgate rules`: placeholder until the lint engine lands."""

from __future__ import annotations

import argparse

HELP = "rules (not implemented yet)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments yet."""


def run(args: argparse.Namespace) -> int:
    """Not implemented yet."""
    return 0
