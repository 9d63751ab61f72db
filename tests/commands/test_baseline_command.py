"""`mlgate baseline` and `mlgate lint` with a baseline: the ratchet, in a real git repository."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitrepo import GitRepo
from mlgate.cli import main

SOURCE = """\
def count():
    global A
    A = 1


def reset():
    global B
    B = 0
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.write("pyproject.toml", "[tool.mlgate]\n")
    repo.write("src/a.py", SOURCE)
    monkeypatch.chdir(repo.root)
    return repo


def _baseline(repo: GitRepo) -> list[tuple[str, str, str, int]]:
    data = json.loads((repo.root / ".mlgate-baseline.json").read_text(encoding="utf-8"))
    return [(f["path"], f["code"], f["symbol"], f["count"]) for f in data["findings"]]


def test_baseline_then_only_new_findings_fail(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["baseline"]) == 0
    assert capsys.readouterr().out.endswith(
        ".mlgate-baseline.json: 2 finding(s) recorded (was 0)\n"
    )
    assert _baseline(project) == [
        ("src/a.py", "MLG302", "count", 1),
        ("src/a.py", "MLG302", "reset", 1),
    ]
    project.write("src/a.py", "import os\n\n\n" + SOURCE)
    assert main(["lint"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "All checks passed (1 file checked).\n"
    assert "mlgate: 2 finding(s) known to the baseline" in captured.err
    project.write("src/a.py", SOURCE.replace("    A = 1\n", "    A = 1\n    global A\n"))
    assert main(["lint"]) == 1
    assert capsys.readouterr().out.splitlines()[0].startswith("src/a.py:4:5: MLG302")


def test_fixed_entries_are_reported_and_ratcheted(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["baseline"])
    project.write("src/a.py", SOURCE.replace("    global A\n", ""))
    assert main(["lint"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[1:] == [
        "mlgate: 1 baseline finding(s) no longer occur (fixed); run `mlgate baseline` to ratchet:",
        "mlgate:   src/a.py: MLG302 in count",
    ]
    assert main(["baseline"]) == 0
    assert _baseline(project) == [("src/a.py", "MLG302", "reset", 1)]


def test_growth_is_refused_unless_allowed(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["baseline"])
    before = (project.root / ".mlgate-baseline.json").read_text(encoding="utf-8")
    project.write("src/b.py", "def more():\n    global C\n")
    assert main(["baseline"]) == 1
    assert "1 finding(s) are not in the baseline (first: src/b.py:2: MLG302)" in (
        capsys.readouterr().err
    )
    assert (project.root / ".mlgate-baseline.json").read_text(encoding="utf-8") == before
    assert main(["baseline", "--allow-growth"]) == 0
    assert ("src/b.py", "MLG302", "more", 1) in _baseline(project)


def test_subset_run_keeps_other_entries(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write("lib/c.py", "def other():\n    global D\n")
    main(["baseline"])
    project.write("src/a.py", "")
    assert main(["baseline", "src"]) == 0
    assert _baseline(project) == [("lib/c.py", "MLG302", "other", 1)]


def test_git_mv_keeps_entries(project: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    main(["baseline"])
    project.commit("baseline")
    project.git("mv", "src/a.py", "src/renamed.py")
    assert main(["lint"]) == 0
    assert "2 finding(s) known to the baseline" in capsys.readouterr().err


def test_baseline_none_and_missing_file(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["baseline", "--baseline", "custom.json"])
    capsys.readouterr()
    assert main(["lint", "--baseline", "custom.json"]) == 0
    assert main(["lint", "--baseline", "none"]) == 1
    assert main(["lint", "--baseline", "missing.json"]) == 2
    assert "--baseline missing.json: no such file" in capsys.readouterr().err
    assert main(["baseline", "--baseline", "none"]) == 2
