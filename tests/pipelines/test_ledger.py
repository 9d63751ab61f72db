"""The hash-chained, append-only release ledger."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from mlgate.errors import GateError
from mlgate.pipelines.ledger import (
    GENESIS,
    Ledger,
    Record,
    append,
    ledger_for,
    read_entries,
    seal,
    verify_chain,
)

AT = "2026-11-27T10:00:00.000Z"


def _fill(ledger: Ledger, count: int) -> None:
    for number in range(count):
        append(ledger, Record("approval", f"user{number}", "sha256:ab", {"n": number}), AT)


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return ledger_for(tmp_path / "ledger", "prod")


def _lines(ledger: Ledger) -> list[str]:
    return ledger.path.read_text().splitlines(keepends=True)


def test_entries_chain_to_each_other(ledger: Ledger) -> None:
    _fill(ledger, 3)
    entries = read_entries(ledger)
    assert [entry.seq for entry in entries] == [1, 2, 3]
    assert entries[0].prev == GENESIS
    assert entries[1].prev == entries[0].hash
    assert entries[2].hash == seal(entries[2].body())
    assert entries[2].data == {"n": 2}
    report = verify_chain(ledger)
    assert (len(report.entries), report.note) == (3, "")
    assert json.loads(ledger.head_path.read_text()) == {"hash": entries[2].hash, "seq": 3}


def test_missing_ledger_is_empty(ledger: Ledger) -> None:
    assert read_entries(ledger) == []
    assert verify_chain(ledger).entries == ()


def test_unknown_kind_is_a_bug(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="unknown ledger entry kind 'deploy'"):
        append(ledger, Record("deploy", "a", "", {}), AT)


def test_edit_detected(ledger: Ledger) -> None:
    _fill(ledger, 3)
    lines = _lines(ledger)
    lines[1] = lines[1].replace('"by":"user1"', '"by":"mallory"')
    ledger.path.write_text("".join(lines))
    with pytest.raises(GateError, match=r"prod.jsonl:2: entry does not match its hash \(edited"):
        verify_chain(ledger)


def test_deletion_detected(ledger: Ledger) -> None:
    _fill(ledger, 3)
    lines = _lines(ledger)
    ledger.path.write_text(lines[0] + lines[2])
    with pytest.raises(GateError, match=r"prod.jsonl:2: entry has seq 3 where 2 was expected"):
        verify_chain(ledger)


def test_reorder_detected(ledger: Ledger) -> None:
    _fill(ledger, 3)
    lines = _lines(ledger)
    ledger.path.write_text(lines[0] + lines[2] + lines[1])
    with pytest.raises(GateError, match=r"prod.jsonl:2: entry has seq 3"):
        verify_chain(ledger)


def test_renumbered_entries_still_break_the_chain(ledger: Ledger) -> None:
    _fill(ledger, 3)
    lines = _lines(ledger)
    ledger.path.write_text(lines[0] + lines[2].replace('"seq":3', '"seq":2'))
    with pytest.raises(GateError, match=r"prod.jsonl:2: entry does not chain to the one before"):
        verify_chain(ledger)


def test_truncation_detected_by_head(ledger: Ledger) -> None:
    _fill(ledger, 3)
    ledger.path.write_text("".join(_lines(ledger)[:1]))
    with pytest.raises(GateError, match="head record names entry 3 but the file ends at entry 1"):
        verify_chain(ledger)


def test_missing_head_detected(ledger: Ledger) -> None:
    _fill(ledger, 1)
    ledger.head_path.unlink()
    with pytest.raises(GateError, match=r"prod.head is missing"):
        verify_chain(ledger)


def test_unreadable_head_detected(ledger: Ledger) -> None:
    _fill(ledger, 1)
    ledger.head_path.write_text("{")
    with pytest.raises(GateError, match=r"prod.head: unreadable"):
        verify_chain(ledger)


def test_head_one_behind_is_an_interrupted_append(ledger: Ledger) -> None:
    _fill(ledger, 2)
    first = read_entries(ledger)[0]
    ledger.head_path.write_text(json.dumps({"hash": first.hash, "seq": 1}))
    assert verify_chain(ledger).note == (
        "the last append was interrupted before the head record was updated"
    )


def test_partial_last_line_detected(ledger: Ledger) -> None:
    _fill(ledger, 2)
    size = len(_lines(ledger)[0])
    with ledger.path.open("a") as handle:
        handle.write('{"seq":3,"ki')
    message = rf"the last line \(from byte {2 * size}\) is incomplete"
    with pytest.raises(GateError, match=message):
        verify_chain(ledger)
    with pytest.raises(GateError, match=message):
        append(ledger, Record("approval", "a", "", {}), AT)


@pytest.mark.parametrize(
    "line",
    [
        "not json",
        '{"seq": 1}',
        "[1]",
        '{"seq": "1", "kind": "x", '
        '"at": "", "by": "", "digest": "", "data": {}, "prev": "", "hash": ""}',
    ],
)
def test_malformed_line_detected(ledger: Ledger, line: str) -> None:
    ledger.path.parent.mkdir(parents=True)
    ledger.path.write_text(line + "\n")
    with pytest.raises(GateError, match=r"prod.jsonl:1: (not a|malformed) ledger entry"):
        read_entries(ledger)


def _append_many(path: str, who: str) -> None:
    for number in range(20):
        append(Ledger(Path(path)), Record("approval", who, "", {"n": number}), AT)


def test_concurrent_appends_keep_the_chain(ledger: Ledger) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(ledger.path), name)) for name in "ab"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(verify_chain(ledger).entries) == 40
