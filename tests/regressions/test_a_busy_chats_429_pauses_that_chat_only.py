"""A 429 answered for one chat that was sent several messages at once (its own flood limit)
used to pause the whole bot for ``retry_after``: during a broadcast, one chatty producer
stopped everyone's copies for a second each time. A 429 for a chat that just had other
messages now makes that chat wait; the others go on. (A 429 for a quiet chat is the bot's
limit, and still pauses the channel: tests/engine/test_sender.py.)"""

from __future__ import annotations

from bot.channels.base import RetryLater
from bot.notify import NOTIFICATION_PRIORITY
from bot.sender import Sender
from bot.vocabulary import Reply
from storage.clock import ManualClock, utcnow
from storage.db import Database
from storage.outbox import Outgoing, queue_messages
from tests.engine.conftest import RecordingChannel, database  # noqa: F401  (fixture)


class ChatFlood(RecordingChannel):
    """Telegram's per-chat flood limit for chat "busy": its third message is refused once."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = False

    async def send(self, chat_id: str, reply: Reply) -> str:
        if chat_id == "busy" and len(self.sent["busy"]) == 2 and not self.refused:
            self.refused = True
            raise RetryLater(3)
        return await super().send(chat_id, reply)


async def test_a_busy_chats_429_pauses_that_chat_only(database: Database) -> None:  # noqa: F811
    async with database.transaction() as session:
        await queue_messages(
            session,
            [
                Outgoing("test", "busy", None, Reply(text=f"b{n}").to_json(), f"b{n}")
                for n in range(3)
            ]
            + [
                Outgoing(
                    "test",
                    f"c{n}",
                    None,
                    Reply(text="copy").to_json(),
                    "copy",
                    "announcement",
                    NOTIFICATION_PRIORITY + 5,
                )
                for n in range(3)
            ],
        )
    clock = ManualClock(utcnow())
    channel = ChatFlood()
    sender = Sender(database, {"test": channel}, global_rate=0, per_chat_rate=1,
                    per_chat_burst=3, clock=clock)  # fmt: skip
    await sender.send_due()
    assert channel.texts("busy") == ["b0", "b1"]
    assert sender._paused_until == {}  # the channel goes on
    for _ in range(3):
        await sender.send_due()
    assert [channel.texts(f"c{n}") for n in range(3)] == [["copy"]] * 3
    assert channel.texts("busy") == ["b0", "b1"]  # …while the busy chat waits its 3 s
    clock.advance(3.5)
    await sender.send_due()
    assert channel.texts("busy") == ["b0", "b1", "b2"]
