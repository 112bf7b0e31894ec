"""The one place that asks the time: a :class:`Clock` the engine, sender, rate limits and stores
take, real by default and set by hand in tests (so expiry and back-off are tested without
sleeping). Times are timezone-aware UTC; :func:`local_date` is the day in Vietnam, which rules,
deadlines and windows are counted in."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

__all__ = ["LOCAL_TIMEZONE", "Clock", "ManualClock", "SystemClock", "local_date", "utcnow"]

LOCAL_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock(Protocol):
    """What code asks of time: the wall clock (UTC) and a monotonic clock for intervals."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start; never goes back."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
        self._monotonic = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float = 0.0, **delta: float) -> None:
        """Move both clocks forward by ``seconds`` (and/or ``timedelta`` keywords)."""
        step = timedelta(seconds=seconds, **delta)
        self._now += step
        self._monotonic += step.total_seconds()


SYSTEM_CLOCK = SystemClock()


def utcnow() -> datetime:
    """The current time by the real clock (for column defaults and code without a clock)."""
    return SYSTEM_CLOCK.now()


def local_date(clock: Clock = SYSTEM_CLOCK) -> date:
    """Today's date in Vietnam by ``clock``."""
    return clock.now().astimezone(LOCAL_TIMEZONE).date()
