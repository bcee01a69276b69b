"""Time as a dependency: the real clock in production, a fast-forward clock in tests."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What time it is, and how to wait; every schedule and rate limit asks this."""

    def now(self) -> datetime:
        """The current time, UTC-aware."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for rate windows)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait this long."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """Virtual time: `sleep` moves the clock forward at once instead of waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2023, 7, 10, 0, 0, tzinfo=UTC)
        self._elapsed = 0.0

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    def advance(self, seconds: float) -> None:
        """Move time forward (tests)."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._elapsed += seconds

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)
