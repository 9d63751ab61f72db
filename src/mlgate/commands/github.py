"""`mlgate github check|reviewers`: the release workflow's checks around GitHub's reviews."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from mlgate.errors import UsageError
from mlgate.pipelines import github
from mlgate.pipelines.environments import release_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`check --env E [--deployer D] [--runner-environment R] [--ephemeral NAMES]`, `reviewers`."""
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=type(parser))
    verbs.required = True
    check = verbs.add_parser("check", help="refuse a release GitHub cannot carry out as asked")
    check.add_argument("--deployer", default="", help="who started the run (triggering actor)")
    check.add_argument("--runner-environment", default="", help="$RUNNER_ENVIRONMENT")
    check.add_argument("--ephemeral", default="", help="environments whose state may be lost")
    check.set_defaults(run=run_check)
    reviewers = verbs.add_parser("reviewers", help="who approved the environment in this run")
    reviewers.add_argument("approvals", type=Path, help="the approvals API answer (JSON)")
    reviewers.add_argument("--github-environment", help="GitHub environment (default: --env)")
    reviewers.set_defaults(run=run_reviewers)
    for verb in (check, reviewers):
        verb.add_argument("--env", required=True, help="the mlgate environment")
        verb.add_argument("--config", type=Path, help="pyproject.toml to read")


def run(args: argparse.Namespace) -> int:  # pragma: no cover - argparse dispatches to the verb
    """Dispatch to the verb (each verb sets its own `run`)."""
    code: int = args.run(args)
    return code


def run_check(args: argparse.Namespace) -> int:
    """Refuse lost state and an impossible review; print notices as workflow commands."""
    env = release_config(args.config, os.environ).environment(args.env)
    hosted = args.runner_environment == "github-hosted"
    github.refuse_lost_state(env, hosted, args.env in args.ephemeral.split())
    if args.deployer:
        github.refuse_self_review(env, args.deployer)
        for note in github.review_notes(env, args.deployer):
            print(f"::notice::{note}")
    print(f"{args.env}: ready to ask for review")
    return 0


def run_reviewers(args: argparse.Namespace) -> int:
    """Print the reviewers who approved, space-separated, as the approvers list spells them."""
    env = release_config(args.config, os.environ).environment(args.env)
    try:
        answer = json.loads(args.approvals.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UsageError(f"{args.approvals}: cannot read the approvals answer ({err})") from err
    logins = github.reviewers(answer, args.github_environment or args.env)
    print(" ".join(github.spelled(login, env.approval.approvers) for login in logins))
    return 0
