"""A process that falls behind its send slots (a pause of its event loop: a garbage collection,
a slow commit) used to send every late message at once when it woke: the platform counts
arrivals over any second, so the burst overflowed it into 429s, and each 429 stopped the whole
bot for a second (the broadcast bench showed it: 110 ms pauses, then a 429). Late slots are now
caught up at twice the pace at most, and never more than the pace in any second."""

from __future__ import annotations

import asyncio
import itertools

from bot.ratelimit import SlotPool
from storage.clock import ManualClock


async def test_late_send_slots_are_caught_up_without_a_burst() -> None:
    clock = ManualClock()
    pool = SlotPool(10.0, clock)  # 10 a second: a slot every 0.1 s
    start = clock.monotonic()
    # Twenty slots booked for the last two seconds: the process was paused meanwhile.
    pool.add([start - 2 + n * 0.1 for n in range(20)])
    sent: list[float] = []

    async def one() -> None:
        await pool.take(10)
        sent.append(clock.monotonic() - start)

    await asyncio.gather(*(one() for _ in range(20)))
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent)]
    assert min(gaps) >= 0.05 - 1e-9  # half a slot apart at least: no burst
    for first in sent:  # never more than 10 in any second
        assert sum(1 for at in sent if first <= at < first + 1) <= 10


async def test_a_reply_takes_the_next_slot_before_a_broadcasts_messages() -> None:
    clock = ManualClock()
    pool = SlotPool(10.0, clock)
    start = clock.monotonic()
    pool.add([start + n * 0.1 for n in range(5)])  # booked for five announcement copies
    order: list[str] = []

    async def one(name: str, priority: int) -> None:
        await pool.take(priority)
        order.append(name)

    copies = [asyncio.create_task(one(f"copy {n}", 10)) for n in range(4)]
    await asyncio.sleep(0)
    pool.add([start + 0.5])  # the reply's own slot, booked after theirs
    await asyncio.gather(one("reply", 0), *copies)
    assert order.index("reply") <= 1  # the next free slot, not the last
