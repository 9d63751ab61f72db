"""The GitHub side of a release: what the release workflow checks before a reviewer is asked,
and the environment reviews GitHub's approvals API reports.

GitHub logins are case-insensitive: they are compared case-folded, and a reviewer is recorded
under the spelling of the project's approvers list, so `Bob` approving on GitHub is the `bob`
of `[tool.mlgate.environments.production.approval] approvers`. A login is accepted only as
GitHub spells one (letters, digits and hyphens, not starting with a hyphen), so nothing printed
for a shell to loop over can split, glob, pass as an option or start another output line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from mlgate.errors import GateError, UsageError
from mlgate.pipelines.environments import Environment

LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")


def same_login(first: str, second: str) -> bool:
    """Whether two GitHub logins name the same account."""
    return first.casefold() == second.casefold()


def reviewers(answer: object, environment: str) -> list[str]:
    """The logins that approved `environment`, from `GET .../actions/runs/{id}/approvals`.

    `answer` is the decoded JSON: a list of reviews, each with `state`, `environments` (objects
    with a `name`) and `user.login`. Rejections and other environments are left out.
    """
    if not isinstance(answer, list):
        raise UsageError("the approvals answer must be a JSON list of reviews")
    unique: dict[str, str] = {}
    for item in answer:
        if _approves(item, environment):
            unique.setdefault(_login(item).casefold(), _login(item))
    return sorted(unique.values(), key=str.casefold)


def _approves(item: object, environment: str) -> bool:
    review = _table(item)
    listed = review.get("environments", [])
    entries = listed if isinstance(listed, list) else [listed]  # each must be an object
    names = [_table(entry).get("name") for entry in entries]
    on_it = any(isinstance(name, str) and same_login(name, environment) for name in names)
    return review.get("state") == "approved" and on_it


def _login(item: object) -> str:
    login = _table(_table(item).get("user")).get("login")
    if not isinstance(login, str) or not login:
        raise UsageError("an approval in the approvals answer has no user.login")
    if not LOGIN.fullmatch(login):
        raise UsageError(f"the approvals answer names {login!r}, which is not a GitHub login")
    return login


def _table(value: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise UsageError("the approvals answer holds something that is not a JSON object")
    return value


def spelled(login: str, approvers: Sequence[str]) -> str:
    """`login` as the approvers list spells it (itself when the list does not name it)."""
    return next((name for name in approvers if same_login(name, login)), login)


def refuse_lost_state(env: Environment, hosted: bool, ephemeral: bool) -> None:
    """Refuse the local target on a GitHub-hosted runner unless the environment is ephemeral."""
    if hosted and env.target.kind == "local" and not ephemeral:
        raise GateError(
            f"environment {env.name!r} uses the local target, whose releases and state vanish "
            "with this GitHub-hosted runner (a rollback job could not restore them); run the "
            "deploy jobs on a self-hosted deploy host (the `runs-on` input) or use a command "
            "target, or list the environment in `ephemeral-environments` if it is a throwaway"
        )


def refuse_self_review(env: Environment, deployer: str) -> None:
    """Refuse before a reviewer is asked when the only possible reviewer is the deployer."""
    policy = env.approval
    others = [name for name in policy.approvers if not same_login(name, deployer)]
    if policy.required and policy.approvers and not others and not policy.allow_self_approval:
        raise GateError(
            f"{deployer} started this release and is the only approver of {env.name!r}, who "
            "may not approve their own release (allow-self-approval = false); add another "
            "approver or have another approver start the release"
        )


def review_notes(env: Environment, deployer: str) -> list[str]:
    """What the job log should say about the review of a release `deployer` started."""
    policy = env.approval
    notes = []
    if policy.required and not policy.allow_self_approval:
        notes.append(f"{deployer} started this release: another reviewer must approve it")
    if policy.required and policy.min_approvals > 1:
        notes.append(
            f"{env.name!r} needs {policy.min_approvals} approvals: the GitHub environment "
            f"review is one, the other {policy.min_approvals - 1} must be recorded with "
            "`mlgate approve` (on the ledger) before this run"
        )
    return notes
