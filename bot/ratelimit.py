"""Rate limits for the sender: a token bucket per chat, and each channel's pool of send slots.

Time comes from a :class:`~storage.clock.Clock` (its monotonic side), so tests move it by hand.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import OrderedDict, deque
from typing import Generic, TypeVar

from storage.clock import SYSTEM_CLOCK, Clock

__all__ = ["PerKeyBuckets", "SlidingWindow", "SlotPool", "TokenBucket"]

EPSILON = 1e-6  # seconds: a wait shorter than this is no wait
CATCH_UP = 0.5  # late sends go at most 1 / 0.5 = twice the pace


class TokenBucket:
    """``rate`` tokens a second, holding at most ``burst``. Not thread-safe (one event loop)."""

    def __init__(self, rate: float, burst: float, clock: Clock = SYSTEM_CLOCK) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.clock = clock
        self.updated = clock.monotonic()

    def _refill(self) -> None:
        now = self.clock.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_time(self) -> float:
        """Seconds until a token is free (0 when one is free now)."""
        if self.rate <= 0:
            return 0.0
        self._refill()
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        if self.rate > 0:
            self._refill()
            self.tokens -= 1


class SlidingWindow:
    """At most ``burst`` events in any ``burst / rate`` seconds: the way a platform counts a
    chat's messages (Telegram: about one a second, a short burst tolerated). Stricter than a
    token bucket of the same rate and burst, which lets a burst and then the rate through
    within one window."""

    def __init__(self, rate: float, burst: float, clock: Clock = SYSTEM_CLOCK) -> None:
        self.rate = rate
        self.limit = max(1, int(burst))
        self.window = self.limit / rate if rate > 0 else 0.0
        self.clock = clock
        self._times: deque[float] = deque()

    def recent(self) -> int:
        """Events within the window now."""
        now = self.clock.monotonic()
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        return len(self._times)

    def room(self) -> int | None:
        """How many more events fit in the window now (None: no limit)."""
        return None if self.rate <= 0 else max(0, self.limit - self.recent())

    def wait_time(self) -> float:
        """Seconds until another event keeps within the limit (0: now)."""
        if self.rate <= 0 or self.recent() < self.limit:
            return 0.0
        return self._times[-self.limit] + self.window - self.clock.monotonic()

    def take(self) -> None:
        if self.rate > 0:
            self._times.append(self.clock.monotonic())


Limit = TypeVar("Limit", TokenBucket, SlidingWindow)


class PerKeyBuckets(Generic[Limit]):
    """A limit per key (a chat, a client address), each made by ``kind(rate, burst, clock)``
    (a :class:`TokenBucket` or a :class:`SlidingWindow`), forgetting the least recently used
    past ``max_keys``."""

    def __init__(
        self,
        kind: type[Limit],
        rate: float,
        burst: float,
        max_keys: int = 100_000,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.kind: type[Limit] = kind
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, Limit] = OrderedDict()

    def get(self, key: str) -> Limit:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = self.kind(self.rate, self.burst, self.clock)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket


class SlotPool:
    """One process's send slots on one channel, handed out in priority order.

    The slots come from the channel's shared pace (:mod:`storage.pace`), booked when messages
    are claimed, one per message. A message waiting to go takes the next slot whose time has
    come, whichever message it was booked for: live replies (lower ``priority``) first, so a
    reply claimed after a broadcast's batch goes at the next free slot, not behind the batch.
    However late the process is (a pause of the event loop, a slow commit), it never sends
    more than ``per_second`` in any second, nor two sends closer than :data:`CATCH_UP` of a
    slot apart: late slots are caught up at twice the pace at most, never in a burst (requests
    sent at once reach the platform in any order, a few milliseconds apart, and a burst at the
    edge of its one-second window overflows it).
    """

    def __init__(self, per_second: float, clock: Clock = SYSTEM_CLOCK, *, window: float = 1.0):
        self.cap = max(1, round(per_second * window)) if per_second > 0 else 0
        self.spacing = CATCH_UP / per_second if per_second > 0 else 0.0
        self.window = window
        self.clock = clock
        self._slots: list[float] = []  # monotonic times, a heap
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._recent: deque[float] = deque()  # when this process's latest sends went
        self._dispatcher: asyncio.Task[None] | None = None

    def add(self, times: list[float]) -> None:
        """Slots booked for this process (monotonic times)."""
        for at in times:
            heapq.heappush(self._slots, at)
        self._kick()

    async def take(self, priority: int) -> None:
        """Waits for this message's turn to be sent."""
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), woken))
        self._kick()
        await woken

    def _kick(self) -> None:
        if self._waiters and self._slots and (self._dispatcher is None or self._dispatcher.done()):
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())

    def _allowed_at(self) -> float:
        """The earliest time another send keeps within ``cap`` per ``window``."""
        now = self.clock.monotonic()
        while self._recent and self._recent[0] <= now - self.window:
            self._recent.popleft()
        earliest = self._recent[-1] + self.spacing if self._recent else now
        if self.cap and len(self._recent) >= self.cap:
            earliest = max(earliest, self._recent[-self.cap] + self.window)
        return max(now, earliest)

    async def _dispatch(self) -> None:
        while self._waiters and self._slots:
            at = max(self._slots[0], self._allowed_at())
            wait = at - self.clock.monotonic()
            if wait > 0:  # a hair longer: a float sum may leave 1e-13 s that never ends
                await self.clock.sleep(wait + EPSILON)
                continue  # a better waiter may have come meanwhile; look again
            while self._waiters and self._waiters[0][2].done():
                heapq.heappop(self._waiters)  # its sender gave up (cancelled)
            if not self._waiters:
                return
            heapq.heappop(self._slots)
            _priority, _order, woken = heapq.heappop(self._waiters)
            self._recent.append(self.clock.monotonic())
            woken.set_result(None)
