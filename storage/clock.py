"""The one place that asks the time: a :class:`Clock` the engine, sender, rate limits and stores
take, real by default and set by hand in tests (so expiry and back-off are tested without
sleeping). Times are timezone-aware UTC; :func:`local_date` is the day in Vietnam, which rules,
deadlines and windows are counted in; :class:`QuietHours` the night in Vietnam, when nobody is
sent a reminder (:meth:`QuietHours.next_daytime`)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time as _time
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

__all__ = [
    "LOCAL_TIMEZONE",
    "Clock",
    "ManualClock",
    "QuietHours",
    "SystemClock",
    "local_date",
    "local_time",
    "utcnow",
]

LOCAL_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
IDLE_TURNS = 50  # event-loop turns a manual clock lets pass before it jumps to a sleeper


class Clock(Protocol):
    """What code asks of time: the wall clock (UTC) and a monotonic clock for intervals."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start; never goes back."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time (the sender waiting for its send slot)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return _time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
        self._monotonic = 1000.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._jumper: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    async def sleep(self, seconds: float) -> None:
        """Time passes for whoever waits, as soon as nothing else can run: the waiters are
        woken one by one, the earliest first, each with the clock moved to the end of its wait
        (unless something moved it further already)."""
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()
        heapq.heappush(
            self._sleepers, (self._monotonic + max(0.0, seconds), next(self._order), woken)
        )
        if self._jumper is None or self._jumper.done():
            self._jumper = loop.create_task(self._wake_sleepers())
        await woken

    async def _wake_sleepers(self) -> None:
        while self._sleepers:
            for _ in range(IDLE_TURNS):  # let everything that can run now run first
                await asyncio.sleep(0)
            end, _order, woken = heapq.heappop(self._sleepers)
            if end > self._monotonic:
                self.advance(end - self._monotonic)
            if not woken.done():
                woken.set_result(None)

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


def local_time(day: date, hour: int, minute: int = 0) -> datetime:
    """``hour:minute`` on ``day`` in Vietnam, as UTC."""
    return datetime.combine(day, time(hour, minute), LOCAL_TIMEZONE).astimezone(UTC)


@dataclass(frozen=True)
class QuietHours:
    """The night in Vietnam, from ``start`` o'clock to ``end`` o'clock (21 to 7 by default;
    it may cross midnight); equal hours mean no quiet hours at all."""

    start: int = 21
    end: int = 7

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``"21-7"`` → 21:00 to 07:00 (``OCOP_QUIET_HOURS``)."""
        first, sep, second = text.strip().partition("-")
        if not sep or not first.strip().isdigit() or not second.strip().isdigit():
            raise ValueError(f"quiet hours must look like 21-7, not {text!r}")
        quiet = cls(int(first), int(second))
        if not (0 <= quiet.start <= 23 and 0 <= quiet.end <= 23):
            raise ValueError(f"quiet hours are hours of the day (0 to 23), not {text!r}")
        return quiet

    def contains(self, at: datetime) -> bool:
        """Whether ``at`` falls in the quiet hours (Vietnam time)."""
        hour = at.astimezone(LOCAL_TIMEZONE).hour
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end

    def next_daytime(self, at: datetime) -> datetime:
        """``at`` itself outside the quiet hours, otherwise when they end (in UTC)."""
        if not self.contains(at):
            return at
        local = at.astimezone(LOCAL_TIMEZONE)
        day = local.date() if local.hour < self.end else local.date() + timedelta(days=1)
        return local_time(day, self.end)
