"""The sender: a chat's messages in one pass and in order; a failure holds the rest back;
rate limits per chat; 429 pauses without spending an attempt. With a manual clock (nothing
sleeps): back-off and giving up, 429 pauses until ``retry_after`` has passed, priorities, the
bulk limit and expiry."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from bot.channels.base import RetryLater, TransientError
from bot.notify import NOTIFICATION_PRIORITY
from bot.sender import Sender
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


async def test_live_replies_go_before_notifications(database: Database) -> None:
    for n in range(3):
        await queue(database, f"n{n}", f"notice {n}", kind="notification")
    await queue(database, "r0", "reply 0")
    await queue(database, "r1", "reply 1")
    clock = ManualClock(utcnow())
    channel = RecordingChannel()
    sender = Sender(
        database, {"test": channel}, global_rate=1, per_chat_rate=0, batch=2, clock=clock
    )
    assert await sender.send_due() == 2  # room for two: the replies, queued last
    assert channel.texts("r0") == ["reply 0"] and channel.texts("r1") == ["reply 1"]
    assert await sender.send_due() == 1  # the bulk bucket holds one
    assert await sender.send_due() == 0  # … and is empty now
    await queue(database, "r2", "reply 2")
    async with database.transaction() as session:  # queued by the real clock: due by ours
        await session.execute(update(OutboxMessage).values(next_attempt_at=clock.now()))
    assert await sender.send_due() == 1  # a reply still goes
    assert channel.texts("r2") == ["reply 2"]
    clock.advance(1)
    assert await sender.send_due() == 1
    assert sum(len(channel.texts(f"n{n}")) for n in range(3)) == 2


async def test_bulk_messages_keep_to_the_overall_limit(database: Database) -> None:
    for n in range(4):
        await queue(database, f"c{n}", *(f"{n}.{i}" for i in range(5)), kind="notification")
    clock = ManualClock(utcnow())
    channel = RecordingChannel()
    sender = Sender(
        database, {"test": channel}, global_rate=5, per_chat_rate=100, per_chat_burst=10,
        clock=clock,
    )  # fmt: skip
    for second in range(4):
        sent = 0
        while count := await sender.send_due():
            sent += count
        assert sent == 5, f"second {second}"
        clock.advance(1)
    assert [channel.texts(f"c{n}") for n in range(4)] == [
        [f"{n}.{i}" for i in range(5)] for n in range(4)
    ]


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
