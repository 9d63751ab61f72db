"""The release ledger kept on a dedicated git branch: one commit per entry, pushed by CI.

A GitHub-hosted runner forgets everything when its job ends, so the release workflow keeps the
ledger on a branch of the repository (`mlgate-ledger` by default). `pull` clones that branch
into a folder (or starts it when the remote does not have it yet); the mlgate commands append to
the `<env>.jsonl` files there through MLGATE_LEDGER_DIR; `push` turns every appended line into
one commit (the `<env>.head` record rides with the last one) and pushes. A push that loses the
race against another environment's job is rebased on the remote branch and tried again: the
environments write different files, so the rebase is clean. Committed lines are never rewritten:
a ledger file whose committed part changed is refused, as is a last line without its newline
(an interrupted write, see `mlgate ledger verify`). Pulling into an existing clone refuses a
remote branch that no longer contains what the clone last saw of it (a force push that rewound
the ledger to an older, validly signed state); a fresh clone cannot tell, see docs/releases.md.

A clone pulled with `publish` pushes each entry as soon as it is written (`publish_appended`,
called by the ledger after every durable append): the write-ahead entry of a deployment reaches
the remote before traffic is switched, so a rollback job on a fresh runner finds it even when the
deploy job's runner died. A push that fails then is a warning: the entry is durable in the clone
and the job's last push tries again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from mlgate.errors import GateError

DEFAULT_BRANCH = "mlgate-ledger"
_IDENTITY = ("-c", "user.name=mlgate ledger", "-c", "user.email=mlgate-ledger@localhost")
_REJECTED = ("[rejected]", "fetch first", "non-fast-forward")
#: Inside the clone's `.git`: the branch every new entry is pushed to at once.
PUBLISH_MARKER = "mlgate-publish"


Completed = subprocess.CompletedProcess[str]


class Appended(NamedTuple):
    """Lines appended to one ledger file since its last commit."""

    name: str
    committed: str
    lines: tuple[str, ...]


def git(cwd: Path | None, *args: str, stdin: str | None = None) -> str:
    """Run git in `cwd` and return its stdout; a failure is a GateError with git's message."""
    done = _run(cwd, *args, stdin=stdin)
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise GateError(f"git {args[0]} failed in {cwd or Path.cwd()}: {' '.join(message[-2:])}")
    return done.stdout


def _run(cwd: Path | None, *args: str, stdin: str | None = None) -> Completed:
    return subprocess.run(
        ["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True, check=False
    )


def remote_url(remote: str) -> str:
    """The URL of the working directory's git remote `remote`, or `remote` itself (a URL)."""
    done = _run(None, "remote", "get-url", remote)
    return done.stdout.strip() if done.returncode == 0 else remote


def pull(directory: Path, remote: str, branch: str = DEFAULT_BRANCH) -> str:
    """Bring `directory` up to date with the ledger branch; say what was done."""
    if (directory / ".git").exists():
        if not _remote_has(directory, "origin", branch):
            return f"{directory}: {branch} is not on the remote yet; the first push creates it"
        _fetch_fast_forward(directory, branch)
        git(directory, "rebase", "--quiet", "FETCH_HEAD")
        return f"{directory}: updated from {branch}"
    if _remote_has(None, remote, branch):
        git(None, "clone", "--quiet", "--branch", branch, "--single-branch", remote, str(directory))
        return f"{directory}: cloned {branch} from {remote}"
    directory.mkdir(parents=True, exist_ok=True)
    git(directory, "init", "--quiet")
    git(directory, "symbolic-ref", "HEAD", f"refs/heads/{branch}")
    git(directory, "remote", "add", "origin", remote)
    return f"{directory}: {branch} is not on {remote} yet; the first push creates it"


def _fetch_fast_forward(directory: Path, branch: str) -> None:
    """Fetch `branch`; GateError when it no longer contains what this clone last saw of it."""
    tracking = f"refs/remotes/origin/{branch}"
    seen = _run(directory, "rev-parse", "--verify", "--quiet", tracking).stdout.strip()
    git(directory, "fetch", "--quiet", "origin", branch)
    if (
        not seen
        or _run(directory, "merge-base", "--is-ancestor", seen, "FETCH_HEAD").returncode == 0
    ):
        return
    raise GateError(
        f"{directory}: the ledger branch {branch} no longer contains {seen[:12]}, which this "
        "clone pulled before: its history was rewound or rewritten (a force push restoring an "
        "older ledger?); refusing to continue from it: restore the branch, then pull again"
    )


def publish_each(directory: Path, branch: str) -> None:
    """Make the ledger clone in `directory` push every entry as soon as it is appended."""
    (directory / ".git" / PUBLISH_MARKER).write_text(branch + "\n", encoding="utf-8")


def publish_appended(folder: Path) -> None:
    """Push the entries just appended in `folder`, when it is a clone that publishes each."""
    try:
        branch = (folder / ".git" / PUBLISH_MARKER).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return  # a plain ledger folder, or a clone pushed only at the end of the job
    try:
        push(folder, branch)
    except GateError as err:
        print(f"mlgate: warning: ledger entry not pushed yet ({err})", file=sys.stderr)


def _remote_has(cwd: Path | None, remote: str, branch: str) -> bool:
    return bool(git(cwd, "ls-remote", "--heads", remote, f"refs/heads/{branch}").strip())


def push(directory: Path, branch: str = DEFAULT_BRANCH, attempts: int = 3) -> list[str]:
    """Commit each new ledger entry in `directory` as one commit and push; return the subjects."""
    if not (directory / ".git").is_dir():
        raise GateError(
            f"{directory} is not a clone of the ledger branch: pull it first "
            "(`mlgate ledger-branch pull`)"
        )
    subjects = commit_entries(directory)
    if _run(directory, "rev-parse", "--verify", "--quiet", "HEAD").returncode != 0:
        return subjects  # nothing was ever recorded: there is no branch to push
    for _ in range(attempts):
        done = _run(directory, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        if done.returncode == 0:
            return subjects
        if not any(marker in done.stderr for marker in _REJECTED):
            raise GateError(f"git push of the ledger failed: {done.stderr.strip()}")
        _rebase_on_remote(directory, branch)
    raise GateError(
        f"the ledger branch {branch} kept moving during {attempts} pushes; run the push again"
    )


def _rebase_on_remote(directory: Path, branch: str) -> None:
    git(directory, "fetch", "--quiet", "origin", branch)
    if _run(directory, "rebase", "--quiet", "FETCH_HEAD").returncode != 0:
        _run(directory, "rebase", "--abort")
        raise GateError(
            f"the ledger branch {branch} has other entries for the same environment: two "
            "deployments of one environment ran at once; check their concurrency group"
        )


def commit_entries(directory: Path) -> list[str]:
    """Commit every line appended to a `*.jsonl` ledger file, one commit per line."""
    subjects: list[str] = []
    for name in _changed(directory, "*.jsonl"):
        appended = _appended(directory, name)
        for count in range(1, len(appended.lines) + 1):
            subjects.append(_commit_line(directory, appended, count))
    heads = _changed(directory, "*.head")
    if heads:
        git(directory, "add", "--", *heads)
        subjects.append(_commit(directory, "ledger: head records", ""))
    return subjects


def _changed(directory: Path, pattern: str) -> list[str]:
    """Files matching `pattern` that differ from the last commit or are new, sorted."""
    status = git(directory, "status", "--porcelain", "-z", "--untracked-files=all", "--", pattern)
    return sorted(entry[3:] for entry in status.split("\0") if entry)


def _appended(directory: Path, name: str) -> Appended:
    shown = _run(directory, "show", f"HEAD:{name}")
    committed = shown.stdout if shown.returncode == 0 else ""
    current = (directory / name).read_text(encoding="utf-8")
    if not current.startswith(committed):
        raise GateError(
            f"{directory / name}: entries already on the ledger branch were changed or removed; "
            "refusing to commit it (run `mlgate ledger verify`)"
        )
    added = current[len(committed) :]
    if added and not added.endswith("\n"):
        raise GateError(
            f"{directory / name}: the last line is incomplete, an interrupted write; "
            "run `mlgate ledger verify` and repair it before pushing"
        )
    return Appended(name, committed, tuple(added.splitlines(keepends=True)))


def _commit_line(directory: Path, appended: Appended, count: int) -> str:
    """Commit the file as it was after its `count`-th appended line; the work tree is untouched."""
    text = appended.committed + "".join(appended.lines[:count])
    blob = git(directory, "hash-object", "-w", "--stdin", stdin=text).strip()
    git(directory, "update-index", "--add", "--cacheinfo", f"100644,{blob},{appended.name}")
    line = appended.lines[count - 1]
    return _commit(directory, _subject(appended.name, line), line)


def _commit(directory: Path, subject: str, body: str) -> str:
    identity = () if _has_identity(directory) else _IDENTITY
    git(directory, *identity, "commit", "--quiet", "--no-verify", "-m", subject, "-m", body or "-")
    return subject


def _has_identity(directory: Path) -> bool:
    if os.environ.get("GIT_COMMITTER_EMAIL") and os.environ.get("GIT_AUTHOR_EMAIL"):
        return True
    return _run(directory, "config", "user.email").returncode == 0


def _subject(name: str, line: str) -> str:
    """`ledger production: deploy-end sha256:0123abcd4567 by alice (entry 7)`."""
    environment = Path(name).stem
    try:
        entry = json.loads(line)
        words = (entry["kind"], str(entry["digest"])[:19], "by", entry["by"])
        return f"ledger {environment}: {' '.join(w for w in words if w)} (entry {entry['seq']})"
    except (ValueError, KeyError, TypeError):
        return f"ledger {environment}: entry"  # `mlgate ledger verify` judges the line itself
