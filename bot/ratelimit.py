"""Token buckets for the sender: one overall for bulk messages, one per chat.

Time comes from a :class:`~storage.clock.Clock` (its monotonic side), so tests move it by hand.
"""

from __future__ import annotations

from collections import OrderedDict

from storage.clock import SYSTEM_CLOCK, Clock

__all__ = ["PerKeyBuckets", "TokenBucket"]


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


class PerKeyBuckets:
    """A bucket per key (chat), forgetting the least recently used past ``max_keys``."""

    def __init__(
        self, rate: float, burst: float, max_keys: int = 100_000, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def get(self, key: str) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.clock)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket
