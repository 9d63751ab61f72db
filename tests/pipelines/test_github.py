"""The release workflow's GitHub checks: reviews from the approvals API, lost state, self-review."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlgate.cli import main
from mlgate.errors import UsageError
from mlgate.pipelines.github import reviewers, same_login, spelled

#: GET /repos/{o}/{r}/actions/runs/{id}/approvals, as GitHub answers it (fields trimmed).
ANSWER: list[dict[str, Any]] = [
    {
        "state": "approved",
        "comment": "ship it",
        "environments": [{"id": 1, "name": "Production"}],
        "user": {"login": "Bob"},
    },
    {"state": "rejected", "environments": [{"name": "production"}], "user": {"login": "mallory"}},
    {"state": "approved", "environments": [{"name": "staging"}], "user": {"login": "alice"}},
    {
        "state": "approved",
        "environments": [{"name": "staging"}, {"name": "production"}],
        "user": {"login": "BOB"},
    },
]

PYPROJECT = """\
[tool.mlgate.environments.production]
target = { kind = "command", deploy = ["d"], rollback = ["r"] }
approval = { approvers = ["bob", "Carol"], min-approvals = 2 }

[tool.mlgate.environments.solo]
target = { kind = "command", deploy = ["d"], rollback = ["r"] }
approval = { approvers = ["carol"] }

[tool.mlgate.environments.box]
approval = { required = false }
"""


def test_reviewers_are_the_approvals_of_one_environment_compared_case_insensitively() -> None:
    assert reviewers(ANSWER, "production") == ["Bob"]
    assert reviewers(ANSWER, "STAGING") == ["alice", "BOB"]
    assert reviewers(ANSWER, "qa") == []
    assert reviewers([], "production") == []
    assert same_login("Bob", "bOB")
    assert spelled("BOB", ["alice", "bob"]) == "bob"
    assert spelled("dave", ["alice", "bob"]) == "dave"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"approvals": []}, "must be a JSON list of reviews"),
        (["x"], "holds something that is not a JSON object"),
        ([{"state": "approved", "environments": [{"name": "p"}], "user": {}}], "no user.login"),
        ([{"state": "approved", "environments": "p"}], "not a JSON object"),
        ([{"state": "approved", "environments": None}], "not a JSON object"),
        ([{"state": "approved", "environments": 5}], "not a JSON object"),
        ([{"state": "approved", "environments": [5]}], "not a JSON object"),
    ],
)
def test_an_unexpected_answer_is_refused(answer: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        reviewers(answer, "p")


def mlgate(tmp_path: Path, *argv: str) -> int:
    project = tmp_path / "pyproject.toml"
    project.write_text(PYPROJECT, encoding="utf-8")
    return main(["github", *argv, "--config", str(project)])


def test_reviewers_prints_the_approvers_spelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = tmp_path / "approvals.json"
    answer.write_text(json.dumps(ANSWER), encoding="utf-8")
    assert mlgate(tmp_path, "reviewers", str(answer), "--env", "production") == 0
    assert capsys.readouterr().out == "bob\n"
    args = ("reviewers", str(answer), "--env", "production", "--github-environment", "staging")
    assert mlgate(tmp_path, *args) == 0
    assert capsys.readouterr().out == "alice bob\n"
    answer.write_text("{", encoding="utf-8")
    assert mlgate(tmp_path, "reviewers", str(answer), "--env", "production") == 2
    assert capsys.readouterr().err.startswith(f"mlgate: error: {answer}: cannot read the approvals")


def test_check_explains_the_review_before_anyone_is_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mlgate(tmp_path, "check", "--env", "production", "--deployer", "CAROL") == 0
    assert capsys.readouterr().out.splitlines() == [
        "::notice::CAROL started this release: another reviewer must approve it",
        "::notice::'production' needs 2 approvals: the GitHub environment review is one, the "
        "other 1 must be recorded with `mlgate approve` (on the ledger) before this run",
        "production: ready to ask for review",
    ]


def test_check_refuses_when_the_only_approver_started_the_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mlgate(tmp_path, "check", "--env", "solo", "--deployer", "Carol") == 1
    assert capsys.readouterr().err == (
        "mlgate: error: Carol started this release and is the only approver of 'solo', who may "
        "not approve their own release (allow-self-approval = false); add another approver or "
        "have another approver start the release\n"
    )
    assert mlgate(tmp_path, "check", "--env", "solo", "--deployer", "dave") == 0


def test_check_refuses_the_local_target_on_a_github_hosted_runner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hosted = ("check", "--env", "box", "--runner-environment", "github-hosted")
    assert mlgate(tmp_path, *hosted) == 1
    err = capsys.readouterr().err
    assert err.startswith("mlgate: error: environment 'box' uses the local target, whose ")
    assert "self-hosted deploy host (the `runs-on` input) or use a command target" in err
    assert err.count("\n") == 1
    assert mlgate(tmp_path, *hosted, "--ephemeral", "qa box") == 0
    assert capsys.readouterr().out == "box: ready to ask for review\n"
    assert mlgate(tmp_path, "check", "--env", "box", "--runner-environment", "self-hosted") == 0
    assert (
        mlgate(tmp_path, "check", "--env", "production", "--runner-environment", "github-hosted")
        == 0
    )


@pytest.mark.parametrize("login", ["a b", "*", "-alice", "bob\nmallory", "", "al!ce", "b\u00f6b"])
def test_a_login_github_would_never_give_is_refused(login: str) -> None:
    answer = [{"state": "approved", "environments": [{"name": "p"}], "user": {"login": login}}]
    message = f"the approvals answer names {login!r}, which is not a GitHub login"
    if not login:
        message = "an approval in the approvals answer has no user.login"
    with pytest.raises(UsageError) as err:
        reviewers(answer, "p")
    assert str(err.value) == message


def test_hostile_reviewers_exit_2_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = tmp_path / "approvals.json"
    hostile = [{"state": "approved", "environments": None, "user": {"login": "bob"}}]
    answer.write_text(json.dumps(hostile), encoding="utf-8")
    assert mlgate(tmp_path, "reviewers", str(answer), "--env", "production") == 2
    assert capsys.readouterr().err == (
        "mlgate: error: the approvals answer holds something that is not a JSON object\n"
    )
    globbing = [
        {"state": "approved", "environments": [{"name": "production"}], "user": {"login": "*"}}
    ]
    answer.write_text(json.dumps(globbing), encoding="utf-8")
    assert mlgate(tmp_path, "reviewers", str(answer), "--env", "production") == 2
    assert capsys.readouterr().err == (
        "mlgate: error: the approvals answer names '*', which is not a GitHub login\n"
    )
