"""`mlgate ledger verify|seal`: check an environment's release ledger; sign one that predates
the ledger key."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mlgate.errors import UsageError
from mlgate.pipelines.environments import release_config
from mlgate.pipelines.ledger import Ledger, Record, append, verify_chain
from mlgate.pipelines.runtime import SystemClock, stamp
from mlgate.pipelines.stage import actor

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
    config = release_config(args.config, os.environ)
    ledger = config.ledger(config.environment(args.env).name)
    if args.verb == "seal":
        return _seal(ledger, args.by)
    report = verify_chain(ledger)
    note = f" ({report.note})" if report.note else ""
    signed = ", signatures valid" if ledger.key is not None and report.entries else ""
    print(f"{ledger.path}: {len(report.entries)} entries, chain intact{signed}{note}")
    return 0


def _seal(ledger: Ledger, by: str | None) -> int:
    if ledger.key is None:
        raise UsageError(
            "mlgate ledger seal signs with the ledger key: set MLGATE_LEDGER_KEY to it first"
        )
    entries = verify_chain(ledger, sealing=True).entries
    if not entries or entries[-1].sig:
        print(
            f"{ledger.path}: nothing to seal, {'the last entry is signed' if entries else 'empty'}"
        )
        return 0
    # verify_chain refuses an unsigned entry after a signed one: none of them is signed
    data = {"entries": f"1-{len(entries)}", "count": len(entries)}
    record = Record("seal", actor(by, os.environ), "", data)
    entry = append(ledger, record, stamp(SystemClock().now()))
    print(
        f"{ledger.path}: sealed entries {data['entries']} with entry {entry.seq}, "
        f"signed by the ledger key on behalf of {entry.by}"
    )
    return 0
