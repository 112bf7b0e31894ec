"""Regression: a reply of several Telegram messages refused half way (429) is not repeated.

A long reply (or one that changes the keyboard and has buttons) goes as several messages. When
Telegram answered 429 to a later one, the sender retried the whole reply: the messages already
delivered went again, and under Telegram's limit of about one message a second to a chat the
second message was refused every time, so the first was repeated for ever and the rest never
came. The adapter now remembers how far a reply got and its retry sends only the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.channels.telegram import TelegramChannel
from bot.sender import Sender
from bot.vocabulary import Button, Reply
from storage.clock import utcnow
from storage.db import Database
from storage.models import OutboxMessage
from tests.fakes.telegram_api import FakeTelegramAPI

CHAT = 7_300_000_077


class NoStore:
    async def store(self, events: object) -> int:
        return 0


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as server:
        server.add_chat(CHAT)
        yield server


async def send_all(db: Database, api: FakeTelegramAPI, messages: int, *replies: Reply) -> None:
    """Send the replies through the sender; they make ``messages`` Telegram messages."""
    async with db.transaction() as session:
        for reply in replies:
            row = OutboxMessage(channel="telegram", chat_id=str(CHAT), payload=reply.to_json(),
                                next_attempt_at=utcnow())  # fmt: skip
            session.add(row)
    async with TelegramChannel(api.token, api.url, NoStore()) as channel:
        sender = Sender(db, {"telegram": channel}, poll_interval=0.05, per_chat_burst=10)
        stop = asyncio.Event()
        task = asyncio.create_task(sender.run(stop))
        try:
            await api.wait_sent(CHAT, messages, timeout=10)
            await asyncio.sleep(1.5)  # a repeat would come within a retry_after (1 s)
        finally:
            stop.set()
            await task
    async with db.sessions() as session:
        statuses = (await session.scalars(select(OutboxMessage.status))).all()
    assert set(statuses) == {"sent"}


async def test_a_long_reply_refused_half_way_sends_only_the_rest(
    api: FakeTelegramAPI, db: Database
) -> None:
    api.limit(per_chat_per_second=1)  # Telegram's limit to one chat, no burst
    await send_all(db, api, 2, Reply("đoạn " * 1500))  # 7,500 characters: two messages
    first, second = api.sent_to(CHAT)
    assert first.plain.startswith("đoạn") and second.plain.endswith("đoạn")
    assert (first.plain + " " + second.plain).split() == ["đoạn"] * 1500
    assert api.too_many >= 1 and api.busiest(1.0, CHAT) == 1


async def test_a_keyboard_change_with_buttons_is_not_repeated(
    api: FakeTelegramAPI, db: Database
) -> None:
    api.limit(per_chat_per_second=1)
    reply = Reply("Cảm ơn.", buttons=[[Button("OK", "ab|ok")]], contact_request_over=True,
                  locale="vi")  # fmt: skip
    await send_all(db, api, 3, reply, Reply("Tiếp theo"))
    first, second, third = api.sent_to(CHAT)
    assert first.plain == "Cảm ơn." and first.reply_markup == {"remove_keyboard": True}
    assert second.inline_keyboard == [[{"text": "OK", "callback_data": "ab|ok"}]]
    assert third.plain == "Tiếp theo" and api.too_many >= 1
