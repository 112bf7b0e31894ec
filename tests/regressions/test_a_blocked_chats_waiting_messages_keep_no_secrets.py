"""When a user blocks the bot, every message still waiting for their chat is failed at once,
also those the sender's pass did not take (past the chat's burst): none of them may keep a join
code in the outbox (before, only the messages of that pass were masked)."""

from __future__ import annotations

from sqlalchemy import select

from bot.channels.base import Unreachable
from bot.sender import Sender
from bot.vocabulary import Reply
from storage.db import Database
from storage.models import OutboxMessage
from storage.outbox import MASK, Outgoing, queue_messages
from tests.engine.conftest import RecordingChannel
from tests.engine.conftest import database as database

__all__ = ["database"]

CODE = "ABCD-EFGH-JKMN"


class BlockedChannel(RecordingChannel):
    """The user blocked the bot: every send is refused with 403."""

    async def send(self, chat_id: str, reply: Reply) -> str:
        raise Unreachable("Forbidden: bot was blocked by the user")


async def test_no_waiting_message_of_a_blocked_chat_keeps_its_secret(database: Database) -> None:
    replies = [Reply(text=f"message {n}") for n in range(4)]
    replies.append(Reply(text=f"Give this code to your colleague: {CODE}", secrets=[CODE]))
    async with database.transaction() as session:
        await queue_messages(
            session,
            [Outgoing("test", "a", None, r.to_json(), r.text) for r in replies],
        )
    sender = Sender(database, {"test": BlockedChannel()}, per_chat_burst=3)
    assert await sender.send_due() >= 1
    async with database.sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert {row.status for row in rows} == {"failed"}
    invitation = rows[-1].payload
    assert CODE not in invitation["text"] and MASK in invitation["text"]
    assert "secrets" not in invitation
