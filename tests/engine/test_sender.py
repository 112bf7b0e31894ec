"""The sender: a chat's messages in one pass and in order; a failure holds the rest back;
rate limits per chat; 429 pauses without spending an attempt. With a manual clock (nothing
sleeps): back-off and giving up, 429 pauses until ``retry_after`` has passed, priorities, the
bulk limit and expiry."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.channels.base import RetryLater, TransientError
from bot.notify import NOTIFICATION_PRIORITY
from bot.sender import PACE_MARGIN, Sender
from bot.vocabulary import Reply
from storage.clock import ManualClock, utcnow
from storage.db import Database
from storage.models import OutboxMessage
from storage.outbox import Outgoing, queue_messages
from tests.engine.conftest import RecordingChannel


class FlakyChannel(RecordingChannel):
    """Fails the sends whose text is in ``failures`` (once each), with the given error."""

    def __init__(self, failures: dict[str, Exception]) -> None:
        super().__init__()
        self.failures = failures

    async def send(self, chat_id: str, reply: Reply) -> str:
        error = self.failures.pop(reply.text, None)
        if error is not None:
            raise error
        return await super().send(chat_id, reply)


class FailingChannel(RecordingChannel):
    """Every send fails with a network error."""

    async def send(self, chat_id: str, reply: Reply) -> str:
        raise TransientError("connection reset")


async def queue(db: Database, chat: str, *texts: str, kind: str = "reply") -> None:
    priority = 0 if kind == "reply" else NOTIFICATION_PRIORITY
    async with db.transaction() as session:
        await queue_messages(
            session,
            [
                Outgoing("test", chat, None, Reply(text=t).to_json(), t, kind, priority)
                for t in texts
            ],
        )


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.sessions() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        return list((await session.scalars(query)).all())


async def statuses(db: Database) -> list[tuple[str, str, int]]:
    async with db.sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [(r.payload["text"], r.status, r.attempts) for r in rows]


async def test_a_chats_messages_go_in_one_pass_in_order(database: Database) -> None:
    channel = RecordingChannel()
    sender = Sender(database, {"test": channel}, per_chat_rate=0)
    await queue(database, "a", "1", "2", "3")
    await queue(database, "b", "x")
    assert await sender.send_due() == 4
    assert channel.texts("a") == ["1", "2", "3"] and channel.texts("b") == ["x"]
    assert channel.overlaps == 0


async def test_a_failure_holds_the_rest_of_the_chat_back(database: Database) -> None:
    channel = FlakyChannel({"2": TransientError("connection reset")})
    sender = Sender(database, {"test": channel}, per_chat_rate=0)
    await queue(database, "a", "1", "2", "3")
    assert await sender.send_due() == 2
    assert await statuses(database) == [("1", "sent", 1), ("2", "pending", 1), ("3", "pending", 0)]
    async with database.transaction() as session:  # the back-off has passed
        for row in (await session.scalars(select(OutboxMessage))).all():
            row.next_attempt_at = row.created_at
    assert await sender.send_due() == 2
    assert channel.texts("a") == ["1", "2", "3"]


async def test_429_pauses_the_channel_without_spending_an_attempt(database: Database) -> None:
    channel = FlakyChannel({"1": RetryLater(30)})
    sender = Sender(database, {"test": channel}, per_chat_rate=0)
    await queue(database, "a", "1")
    await queue(database, "b", "x")
    await sender.send_due()
    assert ("1", "pending", 0) in await statuses(database)
    assert await sender.send_due() == 0  # paused for 30 s


async def test_per_chat_rate_limit(database: Database) -> None:
    channel = RecordingChannel()
    sender = Sender(database, {"test": channel}, per_chat_rate=1, per_chat_burst=2)
    await queue(database, "a", "1", "2", "3", "4")
    assert await sender.send_due() == 2
    assert await sender.send_due() == 0
    assert channel.texts("a") == ["1", "2"]


async def test_a_hung_send_is_given_up_at_the_send_timeout(database: Database) -> None:
    class Hanging(RecordingChannel):
        async def send(self, chat_id: str, reply: Reply) -> str:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    sender = Sender(database, {"test": Hanging()}, send_timeout=0.05)
    await queue(database, "a", "1", "2")
    assert await sender.send_due() == 1
    assert await statuses(database) == [("1", "pending", 1), ("2", "pending", 0)]
    assert (await rows(database))[0].failure_reason == "no answer in time"


async def test_network_errors_back_off_longer_each_time_then_give_up(database: Database) -> None:
    await queue(database, "a", "1", "2")
    clock = ManualClock(utcnow())
    sender = Sender(database, {"test": FailingChannel()}, max_attempts=4, clock=clock)
    for attempt, delay in enumerate([2, 4, 8], start=1):
        assert await sender.send_due() == 1
        row = (await rows(database))[0]
        assert (row.status, row.attempts) == ("pending", attempt)
        assert row.next_attempt_at - clock.now() == timedelta(seconds=delay)
        clock.advance(delay - 0.5)
        assert await sender.send_due() == 0  # not due yet; "2" waits behind it
        clock.advance(0.5)
    assert await sender.send_due() == 1
    first = (await rows(database))[0]
    assert (first.status, first.attempts) == ("failed", 4)
    assert (first.failure_reason or "").startswith("gave up")


async def test_429_pauses_the_channel_until_the_clock_passes_retry_after(
    database: Database,
) -> None:
    channel = FlakyChannel({"1": RetryLater(30)})
    await queue(database, "a", "1")
    clock = ManualClock(utcnow())
    sender = Sender(database, {"test": channel}, per_chat_rate=0, clock=clock)
    assert await sender.send_due() == 1
    await queue(database, "b", "x")
    async with database.transaction() as session:  # queued by the real clock: due by ours
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == "b")
            .values(next_attempt_at=clock.now())
        )
    assert await sender.send_due() == 0  # "x" is due, but the whole channel waits
    clock.advance(29)
    assert await sender.send_due() == 0
    clock.advance(1.5)
    assert await sender.send_due() == 2
    assert channel.texts("a") == ["1"] and channel.texts("b") == ["x"]
    assert ("1", "sent", 1) in await statuses(database)  # the 429 spent no attempt


class TimedChannel(RecordingChannel):
    """Records the clock's time of every send."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.clock = clock
        self.times: list[tuple[str, float]] = []

    async def send(self, chat_id: str, reply: Reply) -> str:
        self.times.append((reply.text, self.clock.monotonic()))
        return await super().send(chat_id, reply)


async def test_live_replies_take_the_first_send_slots(database: Database) -> None:
    for n in range(3):
        await queue(database, f"n{n}", f"notice {n}", kind="notification")
    await queue(database, "r0", "reply 0")
    await queue(database, "r1", "reply 1")
    clock = ManualClock(utcnow())
    channel = TimedChannel(clock)
    sender = Sender(database, {"test": channel}, global_rate=2, per_chat_rate=0, clock=clock)
    async with database.transaction() as session:  # queued by the real clock: due by ours
        await session.execute(update(OutboxMessage).values(next_attempt_at=clock.now()))
    start = clock.monotonic()
    # The replies, queued last, take the first slots (a reply may book 2 s ahead, anything
    # else 0.5 s: the notices wait for a later pass).
    assert await sender.send_due() == 2
    for _ in range(30):  # a notice's slot may be booked only half a second ahead
        if not await sender.send_due():
            clock.advance(0.1)
    gap = 1 / (2 * PACE_MARGIN)  # a little under the platform's 2 a second
    assert [text for text, _at in channel.times] == [
        "reply 0", "reply 1", "notice 0", "notice 1", "notice 2"
    ]  # fmt: skip
    assert [at - start for _text, at in channel.times] == pytest.approx(
        [0, gap, 2 * gap, 3 * gap, 4 * gap], abs=1e-4
    )


async def test_every_send_keeps_to_the_channels_pace(database: Database) -> None:
    for n in range(4):
        await queue(database, f"c{n}", *(f"{n}.{i}" for i in range(5)), kind="notification")
    await queue(database, "r", "reply")
    clock = ManualClock(utcnow())
    async with database.transaction() as session:
        await session.execute(update(OutboxMessage).values(next_attempt_at=clock.now()))
    channel = TimedChannel(clock)
    sender = Sender(
        database, {"test": channel}, global_rate=5, per_chat_rate=100, per_chat_burst=10,
        clock=clock,
    )  # fmt: skip
    while await sender.send_due():
        pass
    times = [at for _text, at in channel.times]
    assert len(times) == 21
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    gap = 1 / (5 * PACE_MARGIN)  # a little under the platform's 5 a second
    assert min(gaps) >= gap - 1e-9, gaps  # never two closer
    assert times[-1] - times[0] < 20 * gap + 0.01  # and no slot left unused
    assert [channel.texts(f"c{n}") for n in range(4)] == [
        [f"{n}.{i}" for i in range(5)] for n in range(4)
    ]


async def test_two_senders_share_one_pace(database: Database) -> None:
    """The pace is the database's, not a process's: two senders of one bot together keep to
    it (they take turns booking slots)."""
    for n in range(10):
        await queue(database, f"c{n}", f"{n}", kind="notification")
    clock = ManualClock(utcnow())
    async with database.transaction() as session:
        await session.execute(update(OutboxMessage).values(next_attempt_at=clock.now()))
    channel = TimedChannel(clock)
    senders = [
        Sender(
            database, {"test": channel}, global_rate=4, per_chat_rate=0, owner=name, clock=clock
        )
        for name in ("worker-1", "worker-2")
    ]
    for _ in range(20):
        for sender in senders:
            await sender.send_due()
    times = sorted(at for _text, at in channel.times)
    assert len(times) == 10
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 1 / (4 * PACE_MARGIN) - 1e-9, gaps


async def test_a_message_past_its_expiry_is_not_sent(database: Database) -> None:
    await queue(database, "a", "old")
    await queue(database, "b", "fresh")
    clock = ManualClock(utcnow())
    async with database.transaction() as session:
        for chat, minutes in (("a", 1), ("b", 5)):
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.chat_id == chat)
                .values(expires_at=clock.now() + timedelta(minutes=minutes))
            )
    channel = RecordingChannel()
    sender = Sender(database, {"test": channel}, per_chat_rate=0, clock=clock)
    clock.advance(120)
    assert await sender.send_due() == 2
    assert await statuses(database) == [("old", "expired", 1), ("fresh", "sent", 1)]
    assert channel.texts("a") == [] and channel.texts("b") == ["fresh"]
