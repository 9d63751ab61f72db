"""The hash-chained, append-only release ledger."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from mlgate.errors import ConfigError, GateError
from mlgate.pipelines.environments import ledger_key
from mlgate.pipelines.ledger import (
    GENESIS,
    Ledger,
    Record,
    append,
    canonical,
    ledger_for,
    read_entries,
    seal,
    sign,
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
    head = json.loads(ledger.head_path.read_text())
    assert head == {"env": "prod", "hash": entries[2].hash, "seq": 3}


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


# --- signing with the ledger key -----------------------------------------------------------

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def _signed(ledger: Ledger, key: bytes = KEY, signed: bool = True) -> Ledger:
    return ledger._replace(key=key, signed=signed)


def test_a_key_signs_every_entry_and_the_head(ledger: Ledger) -> None:
    _fill(_signed(ledger), 2)
    entries = read_entries(ledger)
    assert [entry.sig for entry in entries] == [sign(KEY, e.hash.encode()) for e in entries]
    head = json.loads(ledger.head_path.read_text())
    named = {"env": "prod", "hash": entries[1].hash, "seq": 2}
    assert head["sig"] == sign(KEY, canonical(named))
    assert verify_chain(_signed(ledger)).note == ""
    assert verify_chain(ledger).note == "signatures not checked: MLGATE_LEDGER_KEY is not set"
    with pytest.raises(GateError, match=r"prod.jsonl:1: entry's signature is not the ledger key"):
        verify_chain(_signed(ledger, OTHER_KEY))


def test_an_unsigned_ledger_verifies_as_before(ledger: Ledger) -> None:
    _fill(ledger, 2)
    assert "sig" not in _lines(ledger)[0]
    assert verify_chain(ledger).note == ""
    assert verify_chain(ledger._replace(signed=True)).note == (
        "signatures not checked: MLGATE_LEDGER_KEY is not set"
    )


def test_rewriting_the_chain_without_the_key_is_detected(ledger: Ledger) -> None:
    _fill(_signed(ledger), 2)
    rewritten = [entry._replace(by="mallory", sig="") for entry in read_entries(ledger)]
    ledger.path.unlink()
    ledger.head_path.unlink()
    for entry in rewritten:  # a forger with write access re-seals every entry, unsigned
        append(ledger, Record(entry.kind, entry.by, entry.digest, entry.data), entry.at)
    assert verify_chain(ledger).note == ""
    with pytest.raises(GateError, match=r"entry 2, the last one, is not signed with the ledger"):
        verify_chain(_signed(ledger))
    lines = _lines(ledger)
    entry = json.loads(lines[1]) | {"sig": sign(OTHER_KEY, b"x")}
    ledger.path.write_text(lines[0] + canonical(entry).decode() + "\n")
    with pytest.raises(GateError, match=r"prod.jsonl:2: entry's signature is not the ledger key"):
        verify_chain(_signed(ledger))


def test_an_unsigned_entry_after_signed_ones_is_tampering(ledger: Ledger) -> None:
    _fill(_signed(ledger), 2)
    append(ledger, Record("approval", "mallory", "sha256:ab", {}), AT)  # no key
    with pytest.raises(GateError, match=r"prod.jsonl:3: entry without a signature after signed"):
        verify_chain(_signed(ledger))


def test_a_signed_project_refuses_writers_without_the_key(ledger: Ledger) -> None:
    with pytest.raises(GateError, match=r"signed = true\) and MLGATE_LEDGER_KEY is not set"):
        append(ledger._replace(signed=True), Record("approval", "a", "", {}), AT)
    assert not ledger.path.exists()


def test_a_ledger_that_predates_the_key_is_sealed_once(ledger: Ledger) -> None:
    _fill(ledger, 2)
    keyed = _signed(ledger)
    with pytest.raises(GateError, match=r"`mlgate ledger seal --env prod`"):
        verify_chain(keyed)
    with pytest.raises(GateError, match=r"entry 2, the last one, is not signed"):
        append(keyed, Record("approval", "a", "", {}), AT)
    sealing = verify_chain(keyed, sealing=True).entries
    assert [(e.seq, bool(e.sig)) for e in sealing] == [(1, False), (2, False)]
    append(keyed, Record("seal", "carol", "", {"entries": "1-2"}), AT)
    append(keyed, Record("approval", "alice", "sha256:ab", {}), AT)
    assert [bool(entry.sig) for entry in verify_chain(keyed).entries] == [False, False, True, True]


def test_a_head_without_its_signature_is_tampering(ledger: Ledger) -> None:
    _fill(_signed(ledger), 1)
    head = json.loads(ledger.head_path.read_text())
    ledger.head_path.write_text(json.dumps({"hash": head["hash"], "seq": 1}))
    with pytest.raises(GateError, match=r"prod.head: the head record's signature is not"):
        verify_chain(_signed(ledger))
    unkeyed = verify_chain(ledger)  # without the key only the chain is checked
    assert [e.seq for e in unkeyed.entries] == [1]
    assert unkeyed.note == "signatures not checked: MLGATE_LEDGER_KEY is not set"


@pytest.mark.parametrize(
    ("value", "key"), [("", None), ("  \n", None), (" " + "x" * 32 + "\n", b"x" * 32)]
)
def test_the_key_comes_from_the_environment(value: str, key: bytes | None) -> None:
    assert ledger_key({"MLGATE_LEDGER_KEY": value}) == key
    assert ledger_key({}) is None


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^MLGATE_LEDGER_KEY has 6 characters: use at least 32"):
        ledger_key({"MLGATE_LEDGER_KEY": "secret"})
