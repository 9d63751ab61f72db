"""Releases read back from the ledger, and their table, markdown and JSON forms."""

from __future__ import annotations

import json
from pathlib import Path

from mlgate.pipelines import history
from mlgate.pipelines.history import Release
from mlgate.pipelines.ledger import Entry, Record, append, ledger_for, read_entries

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64


def record_flow(directory: Path) -> list[Entry]:
    """Deploy A, deploy B which fails its bake and is rolled back, then start deploying B again."""
    ledger = ledger_for(directory, "prod")
    steps = [
        Record("approval", "alice", A, {"expires": "x"}),
        Record("deploy-start", "ci", A, {"type": "deploy", "package": "iris 1.0"}),
        Record(
            "verify",
            "ci",
            A,
            {"deployment": 2, "phase": "candidate", "check": "health", "passed": True},
        ),
        Record("promote", "ci", A, {"deployment": 2}),
        Record("deploy-end", "ci", A, {"deployment": 2, "outcome": "succeeded"}),
        Record("deploy-start", "ci", B, {"type": "deploy", "previous": A, "package": "iris 1.1"}),
        Record(
            "verify",
            "ci",
            B,
            {"deployment": 6, "phase": "bake", "check": "latency", "passed": False},
        ),
        Record(
            "deploy-end", "ci", B, {"deployment": 6, "outcome": "failed", "reason": "p95 | slow"}
        ),
        Record(
            "deploy-start",
            "ci",
            A,
            {"type": "rollback", "previous": B, "undoes": 6, "reason": "p95 | slow"},
        ),
        Record(
            "deploy-end", "ci", A, {"deployment": 9, "outcome": "succeeded", "reason": "p95 | slow"}
        ),
        Record("deploy-start", "bob", B, {"type": "deploy", "previous": A}),
        Record(
            "verify",
            "bob",
            B,
            {"deployment": 11, "phase": "candidate", "check": "smoke", "passed": False},
        ),
        Record("deploy-end", "bob", B, {"deployment": 99, "outcome": "failed"}),
    ]
    for number, step in enumerate(steps):
        append(ledger, step, f"2026-11-27T10:00:{number:02d}.000Z")
    return read_entries(ledger)


def test_releases_follow_the_ledger(tmp_path: Path) -> None:
    found = history.releases(record_flow(tmp_path))
    assert [(r.id, r.type, r.outcome, r.undoes, r.undone_by) for r in found] == [
        (2, "deploy", "succeeded", None, None),
        (6, "deploy", "failed", None, 9),
        (9, "rollback", "succeeded", 6, None),
        (11, "deploy", "unfinished", None, None),
    ]
    assert found[0].last_step == "ended"
    assert found[3].last_step == "candidate check smoke failed"
    assert found[2] == Release(
        id=9,
        type="rollback",
        digest=A,
        previous=B,
        by="ci",
        started="2026-11-27T10:00:08.000Z",
        ended="2026-11-27T10:00:09.000Z",
        outcome="succeeded",
        reason="p95 | slow",
        undoes=6,
        undone_by=None,
        package="iris 1.0",
        last_step="ended",
        switched=True,
        intent=False,
        status="verified",
    )
    assert history.serving(found) == found[2]
    assert history.unfinished(found) == found[3]
    assert history.unfinished(found[:3]) is None
    assert history.serving([]) is None


def test_promote_marks_the_switch(tmp_path: Path) -> None:
    entries = record_flow(tmp_path)[:4]
    assert history.releases(entries)[0].last_step == "traffic switched"


def test_table(tmp_path: Path) -> None:
    found = history.releases(record_flow(tmp_path))
    assert history.as_table(found[1:3]).splitlines() == [
        "#  type      digest        package   by  started                   outcome    note",
        "9  rollback  aaaaaaaaaaaa  iris 1.0  ci  2026-11-27T10:00:08.000Z  succeeded  "
        "undoes #6; p95 | slow",
        "6  deploy    bbbbbbbbbbbb  iris 1.1  ci  2026-11-27T10:00:05.000Z  failed     "
        "rolled back by #9; p95 | slow",
    ]


def test_markdown(tmp_path: Path) -> None:
    found = history.releases(record_flow(tmp_path))
    assert history.as_markdown(found[3:]).splitlines() == [
        "| # | type | digest | package | by | started | outcome | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        "| 11 | deploy | bbbbbbbbbbbb | iris 1.1 | bob | 2026-11-27T10:00:10.000Z | unfinished | "
        "last step: candidate check smoke failed |",
    ]
    assert "p95 \\| slow" in history.as_markdown(found[1:2])


def test_json(tmp_path: Path) -> None:
    found = history.releases(record_flow(tmp_path))
    loaded = json.loads(history.as_json(found))
    assert [item["id"] for item in loaded] == [11, 9, 6, 2]
    assert loaded[1]["undoes"] == 6
    assert history.short("") == "-"


def test_status_and_standing_come_from_the_ledger(tmp_path: Path) -> None:
    found = history.releases(record_flow(tmp_path))
    assert [(r.id, r.status, r.switched) for r in found] == [
        (2, "verified", True),
        (6, "failed", False),
        (9, "verified", True),  # a rollback written before rollbacks recorded `promote`
        (11, "unfinished", False),
    ]
    assert (history.standing(found, A), history.standing(found, B)) == ("verified", "unfinished")
    assert history.standing(found, "sha256:" + "c" * 64) == ""
    assert history.last_good(found, A) is None
    assert history.last_good(found, B) == found[2]
    assert history.last_good(found[:1], "") == found[0]
