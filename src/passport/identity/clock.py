"""Time, injectable: tests move a fake clock instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time as naive UTC (the storage convention)."""

    def now(self) -> datetime:
        """The current time, naive UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current time, naive UTC, to the microsecond."""
        return datetime.now(UTC).replace(tzinfo=None)
