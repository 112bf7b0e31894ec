"""After a crash mid-send, the chat waited a full minute (the sender's lease) for its reply.

A restarted process (same ``owner`` name) puts its own interrupted claims back at once; another
process takes over an abandoned claim once the lease, now a little longer than the send
timeout, has run out — and not before. Time is a manual clock: nothing sleeps."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from bot.sender import LEASE_MARGIN, REPLY_HORIZON, Sender
from bot.vocabulary import Reply
from storage.clock import ManualClock, utcnow
from storage.db import Database
from storage.outbox import Outgoing, queue_messages
from tests.engine.conftest import RecordingChannel
from tests.engine.conftest import database as database  # the fixture: SQLite, PostgreSQL


class HangingChannel(RecordingChannel):
    """A platform that never answers: the process dies while it waits."""

    def __init__(self) -> None:
        super().__init__()
        self.called = asyncio.Event()

    async def send(self, chat_id: str, reply: Reply) -> str:
        self.called.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def crash_while_sending(db: Database, clock: ManualClock, owner: str) -> None:
    """A sender named ``owner`` (send timeout 10 s) claims the waiting messages and dies in
    the middle of sending."""
    channel = HangingChannel()
    sender = Sender(
        db, {"test": channel}, per_chat_rate=0, send_timeout=10, owner=owner, clock=clock
    )
    task = asyncio.create_task(sender.send_due())
    await channel.called.wait()
    task.cancel()  # kill -9: nothing after the claim is written
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def queue(db: Database, chat: str, *texts: str) -> None:
    async with db.transaction() as session:
        await queue_messages(
            session, [Outgoing("test", chat, None, Reply(text=t).to_json(), t) for t in texts]
        )


async def test_a_restarted_sender_resends_what_it_was_sending_at_once(database: Database) -> None:
    await queue(database, "a", "1", "2")
    clock = ManualClock(utcnow())
    await crash_while_sending(database, clock, owner="worker-1")

    other = RecordingChannel()
    assert await Sender(database, {"test": other}, owner="worker-2", clock=clock).send_due() == 0
    channel = RecordingChannel()
    restarted = Sender(database, {"test": channel}, per_chat_rate=0, owner="worker-1", clock=clock)
    assert await restarted.send_due() == 2  # at once: the clock has not moved
    assert channel.texts("a") == ["1", "2"] and other.texts("a") == []


async def test_an_abandoned_claim_goes_again_once_its_short_lease_ran_out(
    database: Database,
) -> None:
    await queue(database, "a", "1")
    clock = ManualClock(utcnow())
    await crash_while_sending(database, clock, owner="worker-1")

    channel = RecordingChannel()
    other = Sender(database, {"test": channel}, send_timeout=10, owner="worker-2", clock=clock)
    # The lease: the send timeout, the time a message may wait for its send slot, a margin.
    lease = timedelta(seconds=10 + REPLY_HORIZON) + LEASE_MARGIN
    assert other.lease == lease == timedelta(seconds=17)
    clock.advance(16)
    assert await other.send_due() == 0  # the lease still runs: the first sender may be sending
    clock.advance(2)  # 18 s after the crash, not 60
    assert await other.send_due() == 1
    assert channel.texts("a") == ["1"]
