"""A chat's flood window (at most ``burst`` messages in any ``burst / rate`` seconds) used to
count a message when it was claimed, not when it went: a message waits up to half a second for
its send slot during a broadcast, so the platform saw a chat's messages closer together than
the window allowed and answered 429 (the live chats of the broadcast bench did). A send is now
counted when it goes."""

from __future__ import annotations

import itertools

from sqlalchemy import update

from bot.sender import Sender
from bot.vocabulary import Reply
from storage.clock import ManualClock, utcnow
from storage.db import Database
from storage.models import OutboxMessage
from storage.outbox import Outgoing, queue_messages
from tests.engine.conftest import RecordingChannel, database  # noqa: F401  (fixture)


class TimedChannel(RecordingChannel):
    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.clock = clock
        self.times: dict[str, list[float]] = {}

    async def send(self, chat_id: str, reply: Reply) -> str:
        self.times.setdefault(chat_id, []).append(self.clock.monotonic())
        return await super().send(chat_id, reply)


async def test_a_chats_flood_window_counts_sends_when_they_go(
    database: Database,  # noqa: F811
) -> None:
    chats = ["x1", "x2", "x3", "a", "a"]  # three other chats' replies first, then two for "a"
    async with database.transaction() as session:
        await queue_messages(
            session,
            [
                Outgoing("test", chat, None, Reply(text=f"{chat}{n}").to_json(), chat)
                for n, chat in enumerate(chats)
            ],
        )
    clock = ManualClock(utcnow())
    async with database.transaction() as session:
        await session.execute(update(OutboxMessage).values(next_attempt_at=clock.now()))
    channel = TimedChannel(clock)
    # Two a second for the bot: "a"'s first message is claimed at once with the others but
    # waits 1.5 s for its slot.
    sender = Sender(database, {"test": channel}, global_rate=2, per_chat_rate=1,
                    per_chat_burst=1, clock=clock)  # fmt: skip
    for _ in range(80):
        if not await sender.send_due():
            clock.advance(0.05)
    sent = channel.times["a"]
    assert len(sent) == 2
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent)]
    assert min(gaps) >= 1.0 - 1e-9, gaps  # one a second to the chat, as it arrives
