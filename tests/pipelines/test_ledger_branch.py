"""The ledger on a git branch: real ledgers, a real bare remote, real concurrent pushes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mlgate.cli import main
from mlgate.errors import GateError
from mlgate.pipelines.ledger import Record, append, ledger_for, verify_chain
from mlgate.pipelines.ledger_branch import _subject, commit_entries, pull, push, remote_url

DIGEST = "sha256:" + "ab12" * 16


@pytest.fixture(autouse=True)
def identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits by a known person, whatever the machine's git configuration says."""
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Release Bot")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "bot@example.com")


def git(cwd: Path, *args: str) -> str:
    """git's stdout."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def bare_remote(tmp_path: Path) -> Path:
    """An empty bare repository standing in for GitHub."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    return remote


def record(directory: Path, env: str, kind: str, at: str = "2026-11-27T10:00:00.000Z") -> None:
    """Append one real ledger entry."""
    append(ledger_for(directory, env), Record(kind, "alice", DIGEST, {"n": 1}), at)


def subjects(remote: Path, branch: str = "mlgate-ledger") -> list[str]:
    """Commit subjects on the remote branch, oldest first."""
    return git(remote, "log", "--reverse", "--format=%s", branch).splitlines()


def test_each_entry_becomes_one_commit_on_a_new_branch(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    ledger = tmp_path / "ledger"
    assert pull(ledger, str(remote)) == (
        f"{ledger}: mlgate-ledger is not on {remote} yet; the first push creates it"
    )
    for kind in ("approval", "deploy-start", "deploy-end"):
        record(ledger, "production", kind)
    (ledger / "production.lock").write_text("held", encoding="utf-8")
    pushed = push(ledger)
    expected = [
        f"ledger production: {kind} sha256:ab12ab12ab12 by alice (entry {seq})"
        for seq, kind in enumerate(("approval", "deploy-start", "deploy-end"), 1)
    ]
    assert pushed == [*expected, "ledger: head records"]
    assert subjects(remote) == pushed
    assert git(remote, "ls-tree", "--name-only", "mlgate-ledger").split() == [
        "production.head",
        "production.jsonl",
    ]
    second = git(remote, "show", "mlgate-ledger~2:production.jsonl").splitlines()
    kinds = [line.split('"kind":"')[1].split('"')[0] for line in second]
    assert kinds == ["approval", "deploy-start"]


def test_a_fresh_clone_verifies_and_continues_the_chain(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    first = tmp_path / "first"
    pull(first, str(remote))
    record(first, "staging", "deploy-start")
    push(first)
    second = tmp_path / "second"
    assert pull(second, str(remote)) == f"{second}: cloned mlgate-ledger from {remote}"
    record(second, "staging", "deploy-end")
    push(second)
    entries = verify_chain(ledger_for(second, "staging")).entries
    assert [(e.seq, e.kind, e.by) for e in entries] == [
        (1, "deploy-start", "alice"),
        (2, "deploy-end", "alice"),
    ]
    assert pull(first, str(remote)) == f"{first}: updated from mlgate-ledger"
    assert verify_chain(ledger_for(first, "staging")).note == ""
    assert subjects(remote)[-2] == (
        "ledger staging: deploy-end sha256:ab12ab12ab12 by alice (entry 2)"
    )


def test_a_push_that_lost_the_race_is_rebased_and_retried(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    seed = tmp_path / "seed"
    pull(seed, str(remote))
    record(seed, "staging", "deploy-start")
    push(seed)
    staging, production = tmp_path / "staging", tmp_path / "production"
    pull(staging, str(remote))
    pull(production, str(remote))
    record(staging, "staging", "deploy-end")
    record(production, "production", "approval")
    push(staging)
    push(production)
    assert [line.split(":")[0] for line in subjects(remote)] == [
        "ledger staging",
        "ledger",
        "ledger staging",
        "ledger",
        "ledger production",
        "ledger",
    ]
    pull(staging, str(remote))
    approvals = verify_chain(ledger_for(staging, "production")).entries
    assert [(e.seq, e.kind) for e in approvals] == [(1, "approval")]


def test_two_writers_of_one_environment_are_refused(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    one, two = tmp_path / "one", tmp_path / "two"
    pull(one, str(remote))
    record(one, "production", "approval")
    push(one)
    pull(two, str(remote))
    record(one, "production", "deploy-start")
    record(two, "production", "deploy-start", "2026-11-27T10:00:01.000Z")
    push(one)
    with pytest.raises(GateError, match="two deployments of one environment ran at once"):
        push(two)
    assert git(two, "status", "--porcelain").strip() == ""


def test_rewritten_history_is_refused(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    ledger = tmp_path / "ledger"
    pull(ledger, str(remote))
    record(ledger, "production", "approval")
    push(ledger)
    path = ledger / "production.jsonl"
    path.write_text(path.read_text(encoding="utf-8").replace("alice", "mallory"), encoding="utf-8")
    with pytest.raises(GateError, match="entries already on the ledger branch were changed"):
        commit_entries(ledger)


def test_an_interrupted_write_is_not_pushed(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    ledger = tmp_path / "ledger"
    pull(ledger, str(remote))
    record(ledger, "production", "approval")
    with (ledger / "production.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"kind":"deploy-st')
    with pytest.raises(GateError, match="the last line is incomplete, an interrupted write"):
        push(ledger)
    assert git(remote, "branch", "--list").strip() == ""


def test_nothing_recorded_pushes_nothing(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    ledger = tmp_path / "ledger"
    pull(ledger, str(remote))
    assert push(ledger) == []
    assert git(remote, "branch", "--list").strip() == ""


def test_an_unreadable_line_still_gets_its_own_commit(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    ledger = tmp_path / "ledger"
    pull(ledger, str(remote))
    (ledger / "qa.jsonl").write_text("not json\n", encoding="utf-8")
    assert push(ledger) == ["ledger qa: entry"]


def test_a_push_to_a_missing_remote_is_a_clear_error(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    pull(ledger, str(bare_remote(tmp_path)))
    record(ledger, "production", "approval")
    git(ledger, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    with pytest.raises(GateError, match="git push of the ledger failed"):
        push(ledger)


def test_remote_url_reads_a_remote_name_or_takes_a_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    git(repo, "remote", "add", "origin", "https://example.invalid/team/model.git")
    monkeypatch.chdir(repo)
    assert remote_url("origin") == "https://example.invalid/team/model.git"
    assert remote_url("/srv/ledger.git") == "/srv/ledger.git"


def test_the_command_pulls_and_pushes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    remote = bare_remote(tmp_path)
    ledger = tmp_path / "ledger"
    assert main(["ledger-branch", "pull", str(ledger), "--remote", str(remote)]) == 0
    record(ledger, "staging", "deploy-start")
    assert main(["ledger-branch", "push", str(ledger), "--branch", "mlgate-ledger"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{ledger}: mlgate-ledger is not on {remote} yet; the first push creates it",
        "committed: ledger staging: deploy-start sha256:ab12ab12ab12 by alice (entry 1)",
        "committed: ledger: head records",
        f"{ledger}: ledger branch mlgate-ledger pushed (2 new commits)",
    ]


def test_a_git_failure_is_one_line_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ledger").mkdir()
    (tmp_path / "ledger" / "notes.txt").write_text("x", encoding="utf-8")
    remote = bare_remote(tmp_path)
    seed = tmp_path / "seed"
    pull(seed, str(remote))
    record(seed, "qa", "approval")
    push(seed)
    assert main(["ledger-branch", "pull", str(tmp_path / "ledger"), "--remote", str(remote)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mlgate: error: git clone failed in ")
    assert "already exists and is not an empty directory" in err


def test_a_seal_entry_has_no_digest_in_its_commit_subject() -> None:
    line = json.dumps({"kind": "seal", "digest": "", "by": "carol", "seq": 2})
    assert _subject("production.jsonl", line) == "ledger production: seal by carol (entry 2)"


def test_a_publishing_clone_pushes_each_entry_as_it_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = bare_remote(tmp_path)
    ledger = tmp_path / "ledger"
    assert main(["ledger-branch", "pull", str(ledger), "--remote", str(remote), "--publish"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"{ledger}: every new entry is pushed to mlgate-ledger as it is written"
    )
    record(ledger, "production", "approval")
    assert subjects(remote) == [
        "ledger production: approval sha256:ab12ab12ab12 by alice (entry 1)",
        "ledger: head records",
    ]
    record(ledger, "production", "deploy-start")
    assert subjects(remote)[-2] == (
        "ledger production: deploy-start sha256:ab12ab12ab12 by alice (entry 2)"
    )
    fresh = tmp_path / "fresh"
    pull(fresh, str(remote))
    assert verify_chain(ledger_for(fresh, "production")).entries[-1].kind == "deploy-start"


def test_a_failed_publish_is_a_warning_and_the_last_push_catches_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = bare_remote(tmp_path)
    ledger = tmp_path / "ledger"
    assert main(["ledger-branch", "pull", str(ledger), "--remote", str(remote), "--publish"]) == 0
    git(ledger, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    record(ledger, "production", "deploy-start")
    err = capsys.readouterr().err
    assert err.startswith("mlgate: warning: ledger entry not pushed yet (git push of the ledger")
    assert verify_chain(ledger_for(ledger, "production")).entries[-1].kind == "deploy-start"
    git(ledger, "remote", "set-url", "origin", str(remote))
    assert push(ledger) == []
    assert subjects(remote)[0] == (
        "ledger production: deploy-start sha256:ab12ab12ab12 by alice (entry 1)"
    )


def test_a_clone_without_publish_pushes_only_when_asked(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    ledger = tmp_path / "ledger"
    pull(ledger, str(remote))
    record(ledger, "production", "approval")
    assert git(remote, "branch", "--list") == ""
    plain = tmp_path / "plain"
    record(plain, "production", "approval")  # not a git clone at all
    assert not (plain / ".git").exists()


def test_pushing_a_folder_that_was_never_pulled_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GateError, match=r"is not a clone of the ledger branch: pull it first"):
        push(tmp_path / "never-pulled")


def test_a_ledger_branch_rewound_by_a_force_push_is_refused(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    ledger = tmp_path / "ledger"
    pull(ledger, str(remote))
    record(ledger, "production", "approval")
    push(ledger)
    old = git(remote, "rev-parse", "mlgate-ledger").strip()
    record(ledger, "production", "deploy-start")
    push(ledger)
    seen = git(remote, "rev-parse", "mlgate-ledger").strip()
    # /tmp/rt2a/old.jsonl+old.head: an older, validly signed state restored on the remote
    git(remote, "update-ref", "refs/heads/mlgate-ledger", old)
    with pytest.raises(GateError) as err:
        pull(ledger, str(remote))
    assert str(err.value) == (
        f"{ledger}: the ledger branch mlgate-ledger no longer contains {seen[:12]}, which this "
        "clone pulled before: its history was rewound or rewritten (a force push restoring an "
        "older ledger?); refusing to continue from it: restore the branch, then pull again"
    )
    assert len(verify_chain(ledger_for(ledger, "production")).entries) == 2
