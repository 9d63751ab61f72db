"""The baseline file, counted matching, the ratchet and renames in real git repositories."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from gitrepo import GitRepo
from mlgate.errors import ConfigError, GateError
from mlgate.linters.base import Violation
from mlgate.linters.baseline import (
    Comparison,
    Fingerprint,
    carry_renames,
    compare,
    git_renames,
    read_baseline,
    render,
    updated,
    write_baseline,
)

A = Fingerprint("src/a.py", "MLG202", "Trainer.fit", "d1")
B = Fingerprint("src/b.py", "MLG101", "main", "d2")


def _finding(fp: Fingerprint, line: int) -> tuple[Violation, Fingerprint]:
    return Violation(fp.path, line, 0, fp.code, "m"), fp


def test_counted_matching_flags_a_second_identical_finding() -> None:
    findings = [_finding(A, 10), _finding(A, 30), _finding(B, 1)]
    result = compare(findings, Counter({A: 1, B: 1}), {"src/a.py", "src/b.py"})
    assert result == Comparison(
        new=(findings[1][0],), known=(findings[0][0], findings[2][0]), fixed=()
    )


def test_fixed_entries_only_for_checked_paths() -> None:
    baseline = Counter({A: 2, B: 1})
    result = compare([_finding(A, 3)], baseline, {"src/a.py"})
    assert result.fixed == ((A, 1),)
    assert compare([], baseline, {"src/a.py", "src/b.py"}).fixed == ((A, 2), (B, 1))


def test_update_refuses_growth_and_keeps_unchecked_paths() -> None:
    old = Counter({A: 1, B: 1})
    with pytest.raises(GateError, match=r"1 finding\(s\).*src/a.py:8: MLG202.*--allow-growth"):
        updated(old, [_finding(A, 3), _finding(A, 8)], {"src/a.py"}, allow_growth=False)
    grown = updated(old, [_finding(A, 3), _finding(A, 8)], {"src/a.py"}, allow_growth=True)
    assert grown == Counter({A: 2, B: 1})
    assert updated(old, [], {"src/a.py"}, allow_growth=False) == Counter({B: 1})
    assert updated(None, [_finding(A, 3)], {"src/a.py"}, allow_growth=False) == Counter({A: 1})


def test_file_is_sorted_one_entry_per_line_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "sub" / ".mlgate-baseline.json"
    write_baseline(path, Counter({B: 1, A: 2}))
    text = path.read_text(encoding="utf-8")
    assert text == render(Counter({A: 2, B: 1}))
    lines = text.splitlines()
    assert lines[3] == (
        '    {"path": "src/a.py", "code": "MLG202", "symbol": "Trainer.fit", '
        '"hash": "d1", "count": 2},'
    )
    assert read_baseline(path) == Counter({A: 2, B: 1})
    assert list(path.parent.iterdir()) == [path]


def test_empty_and_missing_baselines(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    assert read_baseline(path) is None
    write_baseline(path, Counter({A: 0}))
    assert json.loads(path.read_text(encoding="utf-8")) == {"version": 1, "findings": []}
    assert read_baseline(path) == Counter()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("not json", "Expecting value"),
        ('{"version": 2, "findings": []}', "unsupported version 2"),
        ('{"version": 1, "findings": {}}', "findings must be a list"),
        ('{"version": 1, "findings": [{"path": "a"}]}', "'code'"),
        ('{"version": 1, "findings": [["x"]]}', "list indices"),
        (
            '{"version": 1, "findings": [{"path": "a", "code": "b", "symbol": "c", '
            '"hash": "d", "count": true}]}',
            "malformed entry",
        ),
    ],
)
def test_corrupt_baseline_is_a_config_error(tmp_path: Path, text: str, why: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"not an mlgate baseline.*{why}.*mlgate baseline"):
        read_baseline(path)


def test_a_baseline_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_bytes(b'{"version": 1, "findings": ["\xff"]}')
    with pytest.raises(ConfigError, match=r"not an mlgate baseline.*can't decode byte 0xff"):
        read_baseline(path)


def test_unreadable_baseline_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read baseline"):
        read_baseline(tmp_path)


def test_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    write_baseline(path, Counter({A: 1}))
    with pytest.raises(UnicodeEncodeError):
        write_baseline(path, Counter({A._replace(symbol="\udcff"): 1}))
    assert read_baseline(path) == Counter({A: 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json"]


def test_git_mv_carries_entries(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    project = repo.root / "proj"
    repo.write("proj/src/a.py", "x = 1\n" * 20)
    repo.write("proj/src/b.py", "y = 2\n" * 20)
    write_baseline(project / ".mlgate-baseline.json", Counter({A: 1, B: 1}))
    repo.commit("baseline")
    repo.git("mv", "proj/src/a.py", "proj/src/renamed.py")
    repo.commit("rename")
    repo.git("mv", "proj/src/b.py", "outside.py")
    renames = git_renames(project / ".mlgate-baseline.json", project)
    assert renames == {"src/a.py": "src/renamed.py"}
    assert carry_renames(Counter({A: 1, B: 1}), renames) == Counter(
        {A._replace(path="src/renamed.py"): 1, B: 1}
    )


def test_staged_rename_with_uncommitted_baseline(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("a.py", "x = 1\n" * 20)
    repo.write("c.py", "z = 1\n")
    repo.commit("start")
    repo.git("mv", "a.py", "b.py")
    repo.write("c.py", "z = 2\n")
    assert git_renames(repo.root / ".mlgate-baseline.json", repo.root) == {"a.py": "b.py"}


def test_no_renames_without_git_or_commits(tmp_path: Path) -> None:
    assert git_renames(tmp_path / "b.json", tmp_path) == {}
    repo = GitRepo(tmp_path / "repo")
    assert git_renames(repo.root / "b.json", repo.root) == {}
