"""`mlgate lint --changed-since` on real git histories, shallow clones included."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gitrepo import GitRepo
from mlgate.cli import main


def _function(name: str, body_lines: int, insert_at: int = -1, extra: int = 0) -> str:
    body = [f"    x += {n}\n" for n in range(body_lines)]
    if insert_at >= 0:
        body[insert_at:insert_at] = [f"    x -= {n}\n" for n in range(extra)]
    return f"def {name}(x):\n{''.join(body)}    return x\n"


HANDLER = """\
def save(store, model):
    try:
        store.put(model)
    except Exception:
        store.rollback()
        raise
"""


@pytest.fixture
def feature(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.write("pyproject.toml", "[tool.mlgate]\n")
    repo.write("pkg/grow.py", _function("grow", 18) + "\n\n" + _function("old_long", 22))
    repo.write("pkg/handler.py", HANDLER)
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    monkeypatch.chdir(repo.root)
    return repo


def test_function_grown_in_its_middle_is_reported(
    feature: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    grown = _function("grow", 18, insert_at=9, extra=3)
    feature.write("pkg/grow.py", grown + "\n\n" + _function("old_long", 22))
    feature.commit("grow")
    assert main(["lint", "--changed-since", "main", "--no-cache"]) == 1
    assert capsys.readouterr().out == (
        "pkg/grow.py:1:1: MLG101 function `grow` has 22 code lines (limit 20)\n"
        "Found 1 finding in 1 file (1 file checked).\n"
    )
    assert main(["lint", "--no-cache"]) == 1
    assert capsys.readouterr().out.splitlines()[:2] == [
        "pkg/grow.py:1:1: MLG101 function `grow` has 22 code lines (limit 20)",
        "pkg/grow.py:26:1: MLG101 function `old_long` has 23 code lines (limit 20)",
    ]


def test_deleted_reraise_reports_the_unchanged_except_line(
    feature: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    feature.write("pkg/handler.py", HANDLER.replace("        raise\n", ""))
    assert main(["lint", "--changed-since", "main", "--format", "json"]) == 1
    found = json.loads(capsys.readouterr().out)
    assert [(f["path"], f["line"], f["column"], f["code"]) for f in found] == [
        ("pkg/handler.py", 4, 5, "MLG202")
    ]


def test_nothing_changed_nothing_checked(
    feature: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint", "--changed-since", "main"]) == 0
    out, err = capsys.readouterr()
    assert out == "Nothing checked: no Python file or notebook found.\n"
    assert err == "mlgate: warning: no Python file or notebook changed since main in .\n"


def test_shallow_clone_without_the_base(
    feature: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    feature.write("pkg/new.py", "x = 1\n")
    feature.commit("feature")
    feature.git("checkout", "-q", "main")
    feature.write("pkg/other.py", "y = 1\n")
    feature.commit("main moves on")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--no-single-branch", "-b", "feature",
         f"file://{feature.root}", str(clone)],
        check=True,
    )  # fmt: skip
    monkeypatch.chdir(clone)
    assert main(["lint", "--changed-since", "origin/main"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "this clone is shallow" in err
    assert "`fetch-depth: 0`" in err
    assert "`git fetch origin main`" in err


def test_only_changed_files_under_the_paths_and_not_excluded(
    feature: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    glob = "def f():\n    global A\n    A = 1\n"
    feature.write("pyproject.toml", '[tool.mlgate]\nextend-exclude = ["pkg/vendored/"]\n')
    for name in ("pkg/vendored/v.py", "other/o.py", "pkg/n.py"):
        feature.write(name, glob)
    feature.write("pkg/notes.txt", "global A\n")
    (feature.root / "pkg/handler.py").unlink()
    assert main(["lint", "--changed-since", "main", "--no-cache", "pkg"]) == 1
    assert capsys.readouterr().out == (
        "pkg/n.py:2:5: MLG302 `global A` hides module state in the function; "
        "pass it in and return it\n"
        "Found 1 finding in 1 file (1 file checked).\n"
    )
