"""Changed lines since a merge base, read from real git repositories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitrepo import GitRepo
from mlgate.errors import UsageError
from mlgate.linters.changes import FileChanges, changed_since, parse_diff

BASE = "".join(f"line{n} = {n}\n" for n in range(1, 11))


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.write("a.py", BASE)
    repo.write("old name.py", BASE)
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def test_modified_added_and_deleted_lines(repo: GitRepo) -> None:
    lines = BASE.splitlines(keepends=True)
    lines[2] = "line3 = 33\n"
    lines[6:8] = []
    lines.append("extra = 1\n")
    repo.write("a.py", "".join(lines))
    repo.commit()
    changes = changed_since("main", repo.root).files["a.py"]
    assert changes == FileChanges(added=((3, 3), (9, 9)), deleted_after=(6,))


def test_uncommitted_and_untracked_files_count(repo: GitRepo) -> None:
    repo.write("a.py", BASE.replace("line5 = 5", "line5 = 55"))
    repo.write("pkg/new.py", "x = 1\n")
    files = changed_since("main", repo.root).files
    assert files["a.py"].added == ((5, 5),)
    assert files["pkg/new.py"].touches(1, 1)
    assert files["pkg/new.py"].touches(1000, 2000)


def test_rename_keeps_only_the_edited_lines(repo: GitRepo) -> None:
    repo.git("mv", "old name.py", "new name.py")
    repo.write("new name.py", BASE.replace("line9 = 9", "line9 = 99"))
    repo.commit("rename")
    files = changed_since("main", repo.root).files
    assert files == {"new name.py": FileChanges(((9, 9),))}


def test_pure_rename_and_deletion_change_nothing(repo: GitRepo) -> None:
    repo.git("mv", "a.py", "b.py")
    repo.git("rm", "-q", "old name.py")
    repo.commit("move")
    assert changed_since("main", repo.root).files == {}


def test_merge_base_not_the_tip_of_ref(repo: GitRepo) -> None:
    repo.write("a.py", BASE.replace("line1 = 1", "line1 = 11"))
    repo.commit("feature work")
    repo.git("checkout", "-q", "main")
    repo.write("a.py", BASE.replace("line2 = 2", "line2 = 22"))
    repo.commit("main moved on")
    repo.git("checkout", "-q", "feature")
    changes = changed_since("main", repo.root)
    assert changes.files["a.py"].added == ((1, 1),)
    assert changes.for_path(repo.root / "a.py") == changes.files["a.py"]


def test_non_ascii_and_quoted_names(repo: GitRepo) -> None:
    repo.write("données/tab\tname.py", "x = 1\n")
    repo.commit("odd names")
    files = changed_since("main", repo.root).files
    assert files["données/tab\tname.py"].added == ((1, 1),)


def test_for_path_outside_the_repository(repo: GitRepo, tmp_path: Path) -> None:
    changes = changed_since("main", repo.root)
    assert changes.for_path(tmp_path / "elsewhere.py") is None


def test_touches_ranges_and_deletion_points() -> None:
    changes = FileChanges(added=((5, 7), (20, 20)), deleted_after=(12,))
    assert changes.touches(1, 5)
    assert changes.touches(7, 9)
    assert changes.touches(6, 6)
    assert changes.touches(10, 12)
    assert not changes.touches(8, 11)
    assert not changes.touches(13, 19)
    assert not changes.touches(21, 30)


def test_hunk_bodies_that_look_like_headers_are_skipped() -> None:
    diff = [
        "diff --git a/x.py b/x.py",
        "--- a/x.py",
        "+++ b/x.py",
        "@@ -1 +1,2 @@",
        "-old",
        "+++ b/fake.py",
        "+@@ -1 +1 @@",
        "\\ No newline at end of file",
        "diff --git a/gone.py b/gone.py",
        "--- a/gone.py",
        "+++ /dev/null",
        "@@ -1,3 +0,0 @@",
        "-a",
        "-b",
        "-c",
    ]
    assert dict(parse_diff(diff)) == {"x.py": FileChanges(((1, 2),))}


def test_shallow_clone_says_to_fetch_the_base(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("a.py", BASE + "more = 1\n")
    repo.commit("feature")
    repo.git("checkout", "-q", "main")
    repo.write("b.py", "y = 2\n")
    repo.commit("main moved")
    clone = tmp_path / "clone"
    url = f"file://{repo.root}"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--no-single-branch", "-b", "feature", url, clone],
        check=True,
    )
    with pytest.raises(UsageError, match=r"shallow.*fetch-depth: 0.*git fetch origin main"):
        changed_since("origin/main", clone)


def test_unknown_ref_says_to_fetch_it(repo: GitRepo) -> None:
    with pytest.raises(UsageError, match=r"origin/nope: no such commit.*git fetch origin nope"):
        changed_since("origin/nope", repo.root)


def test_unrelated_histories(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "--orphan", "island")
    repo.commit("island")
    with pytest.raises(UsageError, match="histories are unrelated"):
        changed_since("main", repo.root)


def test_outside_a_repository(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="needs a git repository"):
        changed_since("main", tmp_path)
