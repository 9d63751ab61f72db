"""`mlgate ledger verify|seal`: check an environment's release ledger; sign one that predates
the ledger key."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mlgate import release
from mlgate.pipelines.ledger import Ledger

_VERIFY = "check the hash chain (and, with MLGATE_LEDGER_KEY, the signatures) of a ledger"
_SEAL = (
    "sign a ledger that predates the ledger key as it stands: verify its chain, then append a "
    "`seal` entry signed with MLGATE_LEDGER_KEY; later entries are signed as they are written"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `verify` and `seal` sub-verbs with --env and --config (and --by for seal)."""
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=type(parser))
    verbs.required = True
    verify = verbs.add_parser("verify", help=_VERIFY, description=_VERIFY)
    seal = verbs.add_parser("seal", help="sign a ledger that predates the key", description=_SEAL)
    seal.add_argument("--by", help="who vouches for the entries (default: $GITHUB_ACTOR or $USER)")
    for verb in (verify, seal):
        verb.add_argument("--env", required=True, help="environment name")
        verb.add_argument("--config", type=Path, help="pyproject.toml to read")


def run(args: argparse.Namespace) -> int:
    """Verify the chain, or seal it; GateError (exit 1) names the first broken line."""
    settings = release.settings(args.env, args.config, getattr(args, "by", None), os.environ)
    ledger = settings.config.ledger(settings.config.environment(args.env).name)
    if args.verb == "seal":
        return _seal(settings, ledger)
    report = release.verify_ledger(settings)
    note = f" ({report.note})" if report.note else ""
    checked = ledger.key is not None or ledger.ssh is not None
    signed = ", signatures valid" if checked and report.entries and not report.note else ""
    print(f"{ledger.path}: {len(report.entries)} entries, chain intact{signed}{note}")
    return 0


def _seal(settings: release.Settings, ledger: Ledger) -> int:
    entry = release.seal_ledger(settings)
    if entry is None:
        state = "the last entry is signed" if ledger.path.exists() else "empty"
        print(f"{ledger.path}: nothing to seal, {state}")
        return 0
    print(
        f"{ledger.path}: sealed entries {entry.data['entries']} with entry {entry.seq}, "
        f"signed by the ledger key on behalf of {entry.by}"
    )
    return 0
