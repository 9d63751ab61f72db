"""The side effects the release stages depend on, each behind a small Protocol.

`SystemClock` is the real clock. Tests pass their own clock where time matters (approval
expiry); everything else runs for real.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    """Wall time for records, monotonic time for measuring, and sleeping."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`."""
        time.sleep(max(seconds, 0.0))


def stamp(moment: datetime) -> str:
    """`moment` as the ISO 8601 UTC text the ledger stores."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_stamp(text: str) -> datetime:
    """The inverse of `stamp`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
