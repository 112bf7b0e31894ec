"""The sender: a chat's messages in one pass and in order; a failure holds the rest back;
rate limits per chat; 429 pauses without spending an attempt."""

from __future__ import annotations

from sqlalchemy import select

from bot.channels.base import RetryLater, TransientError
from bot.sender import Sender
from bot.vocabulary import Reply
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


async def queue(db: Database, chat: str, *texts: str) -> None:
    async with db.transaction() as session:
        await queue_messages(
            session,
            [Outgoing("test", chat, None, Reply(text=t).to_json(), t) for t in texts],
        )


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
