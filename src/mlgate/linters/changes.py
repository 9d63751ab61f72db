"""Which lines changed since the merge base with a reference (`mlgate lint --changed-since REF`).

The changed lines come from `git diff -U0` between the merge base and the working tree, with
rename detection, plus every line of untracked files. A finding counts as changed when any line
of its span changed or lines were deleted inside it; the span of a function-level finding is the
whole function (see `mlgate.linters.anchors`), so a function that grew in its middle is caught.
"""

from __future__ import annotations

import codecs
import re
import sys
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

from mlgate.errors import UsageError
from mlgate.linters.vcs import git, git_output, repo_root

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_WHOLE_FILE = ((1, sys.maxsize),)
_DIFF = (
    *("diff", "-U0", "-M", "--no-color", "--no-ext-diff", "--no-textconv"),
    *("--src-prefix=a/", "--dst-prefix=b/"),
)


class FileChanges(NamedTuple):
    """Changed lines of one file: inclusive ranges added or modified, and deletion points.

    `deleted_after` holds new-file line numbers after which old lines were removed.
    """

    added: tuple[tuple[int, int], ...]
    deleted_after: tuple[int, ...] = ()

    def touches(self, start: int, end: int) -> bool:
        """Whether a line in `start..end` changed, or lines were removed after one of them."""
        index = bisect_left(self.added, (start, 0))
        if index > 0 and self.added[index - 1][1] >= start:
            return True
        if index < len(self.added) and self.added[index][0] <= end:
            return True
        point = bisect_left(self.deleted_after, start)
        return point < len(self.deleted_after) and self.deleted_after[point] <= end


class ChangeSet(NamedTuple):
    """The changed lines of a work tree since `base`, by path relative to `root`."""

    root: Path
    base: str
    files: Mapping[str, FileChanges]

    def for_path(self, path: Path) -> FileChanges | None:
        """The changes of `path` (absolute or relative to the working directory), if any."""
        try:
            relative = path.resolve().relative_to(self.root)
        except ValueError:
            return None  # outside the repository: nothing in it changed since the base
        return self.files.get(relative.as_posix())


#: `~N`, `^N` or `@{N}` after a ref: a commit counted back from it.
_RELATIVE = re.compile(r"[~^]|@\{[0-9]+\}")


def changed_since(ref: str, cwd: Path) -> ChangeSet:
    """Lines added or changed in the work tree at `cwd` since the merge base of `ref` and HEAD."""
    root = repo_root(cwd)
    if root is None:
        raise UsageError(f"--changed-since needs a git repository, and {cwd} is not in one")
    root = root.resolve()
    base = merge_base(ref, root)
    diff = git_output([*_DIFF, base, "--"], root)
    files = dict(parse_diff(diff.splitlines()))
    untracked = git_output(["ls-files", "--others", "--exclude-standard", "-z"], root)
    files.update((name, FileChanges(_WHOLE_FILE)) for name in untracked.split("\0") if name)
    return ChangeSet(root, base, files)


def merge_base(ref: str, root: Path) -> str:
    """The merge base of `ref` and HEAD, or a UsageError saying what to fetch."""
    if git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root).returncode != 0:
        raise UsageError(f"--changed-since {ref}: {_missing_commit(ref, root)}")
    result = git(["merge-base", ref, "HEAD"], root)
    if result.returncode == 0:
        return result.stdout.strip()
    shallow = git_output(["rev-parse", "--is-shallow-repository"], root).strip() == "true"
    why = "this clone is shallow" if shallow else "the histories are unrelated"
    raise UsageError(
        f"--changed-since {ref}: no merge base with HEAD ({why}); fetch the history "
        f"with `fetch-depth: 0` in actions/checkout or `git fetch origin {_branch(ref)}`"
    )


def _missing_commit(ref: str, root: Path) -> str:
    """Why `ref` names no commit, and what to do about it."""
    if git(["rev-parse", "--verify", "--quiet", "HEAD"], root).returncode != 0:
        return "this repository has no commit yet; commit once, then lint what changed since"
    relative = _RELATIVE.search(ref)
    if relative:
        return (
            f"no such commit: the history of {ref[: relative.start()] or 'HEAD'} in this clone is "
            "shorter than that; with a shallow clone, fetch more (`git fetch --deepen N` or "
            "`fetch-depth: 0`), else name an older commit"
        )
    return (
        f"no such commit in this clone; fetch it (`git fetch origin {_branch(ref)}`) or check "
        "out with `fetch-depth: 0`"
    )


def _branch(ref: str) -> str:
    return ref.removeprefix("refs/remotes/").removeprefix("origin/")


def parse_diff(lines: Iterable[str]) -> Iterator[tuple[str, FileChanges]]:
    """(path, changes) for every file with hunks in a `git diff -U0` with a/ b/ prefixes."""
    path: str | None = None
    added: list[tuple[int, int]] = []
    deleted: list[int] = []
    for item in _headers_and_hunks(lines):
        if isinstance(item, tuple):
            _record(item, added, deleted)
            continue
        if path is not None:
            yield path, FileChanges(tuple(added), tuple(deleted))
        path, added, deleted = _new_path(item), [], []
    if path is not None:
        yield path, FileChanges(tuple(added), tuple(deleted))


def _record(hunk: tuple[int, int], added: list[tuple[int, int]], deleted: list[int]) -> None:
    start, count = hunk
    if count:
        added.append((start, start + count - 1))
    else:
        deleted.append(start)


def _headers_and_hunks(lines: Iterable[str]) -> Iterator[str | tuple[int, int]]:
    """The `+++` names and the (new start, new count) of each hunk; hunk bodies are skipped."""
    body = 0
    for line in lines:
        if body > 0:
            body -= 0 if line.startswith("\\") else 1
            continue
        match = _HUNK.match(line)
        if match:
            old, start, new = match.groups()
            count = 1 if new is None else int(new)
            body = (1 if old is None else int(old)) + count
            yield int(start), count
        elif line.startswith("+++ "):
            yield line[4:]


def _new_path(name: str) -> str | None:
    """The path of a `+++` header: None for a deleted file; C-quoted names unquoted."""
    name = name.rstrip("\t")
    if name.startswith('"'):
        raw = codecs.escape_decode(name[1:-1].encode("utf-8", "surrogateescape"))[0]
        name = raw.decode("utf-8", "surrogateescape")
    return None if name == "/dev/null" else name.removeprefix("b/")
