"""Two sender processes on one database (two ``Database`` engines, as two processes have) send
while replies keep being queued: every chat receives its messages exactly in queue order, and
none twice. A pass must never claim the tail of a chat's waiting messages while another sender
holds (or is claiming) its head."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict

from bot.sender import Sender
from bot.vocabulary import Reply
from storage.db import Database
from storage.outbox import Outgoing, queue_messages
from tests.engine.conftest import RecordingChannel
from tests.engine.conftest import database as database  # the fixture: SQLite, PostgreSQL

CHATS = 200
MESSAGES = 9


class SharedChannel(RecordingChannel):
    """One platform both senders talk to; every send takes a little while."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.random = random.Random(seed)
        self.deliveries: dict[str, list[str]] = defaultdict(list)

    async def send(self, chat_id: str, reply: Reply) -> str:
        self.in_flight[chat_id] += 1
        if self.in_flight[chat_id] > 1:
            self.overlaps += 1
        await asyncio.sleep(self.random.uniform(0, 0.02))
        self.deliveries[chat_id].append(reply.text)
        self.in_flight[chat_id] -= 1
        return str(len(self.deliveries[chat_id]))


async def queue_waves(db: Database) -> None:
    """Each chat's messages queued one wave at a time, while the senders are sending."""
    for wave in range(0, MESSAGES, 3):
        for first in range(0, CHATS, 20):
            async with db.transaction() as session:
                await queue_messages(
                    session,
                    [
                        Outgoing("test", f"c{chat}", None, Reply(text=f"{n}").to_json(), f"{n}")
                        for chat in range(first, first + 20)
                        for n in range(wave, min(wave + 3, MESSAGES))
                    ],
                )
            await asyncio.sleep(0.005)


async def test_two_senders_keep_each_chats_replies_in_order(database: Database) -> None:
    channel = SharedChannel(seed=6)
    other = Database(database.url)  # the second process's own engine and connections
    # Different bursts cut the two senders' runs differently (as their own rate limits do); the
    # pace is high, as order is what is tested here (at 30/s the test took a minute);
    # leases outlast the test, so a message claimed and never sent fails it.
    senders = [
        Sender(db, {"test": channel}, global_rate=1000, per_chat_rate=1000,
               per_chat_burst=burst, poll_interval=0.02, send_timeout=120)
        for db, burst in ((database, 1), (other, 5))
    ]  # fmt: skip
    stop = asyncio.Event()
    tasks = [asyncio.create_task(sender.run(stop)) for sender in senders]
    try:
        await queue_waves(database)
        expected = [str(n) for n in range(MESSAGES)]
        for _ in range(1200):
            if sum(map(len, channel.deliveries.values())) >= CHATS * MESSAGES:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # anything sent twice would arrive now
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await other.dispose()
    wrong = {
        chat: texts
        for chat in (f"c{n}" for n in range(CHATS))
        if (texts := channel.deliveries[chat]) != expected
    }
    assert not wrong, f"{len(wrong)} chats got their replies out of order or twice: {wrong}"
    assert channel.overlaps == 0
