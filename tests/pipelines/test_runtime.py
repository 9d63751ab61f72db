"""The real clock and the ledger's time stamps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from mlgate.pipelines.runtime import SystemClock, parse_stamp, stamp


def test_system_clock() -> None:
    clock = SystemClock()
    before = clock.monotonic()
    clock.sleep(0.01)
    clock.sleep(-1)
    assert clock.monotonic() - before >= 0.01
    assert clock.now().tzinfo is timezone.utc


def test_stamp_round_trip() -> None:
    moment = datetime(2026, 11, 27, 11, 0, 1, 250000, tzinfo=timezone(timedelta(hours=1)))
    assert stamp(moment) == "2026-11-27T10:00:01.250Z"
    assert parse_stamp(stamp(moment)) == moment
