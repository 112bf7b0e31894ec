"""Linking two apps in chat, through the fake Telegram server, on SQLite and PostgreSQL: two
Telegram chats stand in for two apps (what matters is the chat, not the platform). "lien ket"
typed without diacritics gives a code; "lien ket <code>" as the other chat's very first message
links it (both told, the code never stored plain); ⚙️ Settings → Linked apps lists the chats
and unlinks one (the unlinked chat told, a person of its own); /link in the middle of a form
gives the code and asks the form's question again."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.clock import ManualClock
from storage.models import (
    AuditEntry,
    ChannelIdentity,
    Conversation,
    InboxEvent,
    OutboxMessage,
    ProducerMember,
    TranscriptEntry,
    User,
)
from tests.fakes.telegram_api import SentMessage
from tests.harness import RunningBot, bot_on, register

FIRST = 7_300_000_961  # the app where the person registered
SECOND = 7_300_000_962  # the other app
START = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
CODE = re.compile(r"/link (\d{6})\b")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def bot(
    request: pytest.FixtureRequest, prepared_database: Path, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    """The real bot on a ManualClock at :data:`START`, on SQLite and on PostgreSQL."""
    async with bot_on(request.param, prepared_database, tmp_path, clock=ManualClock(START),
                      name="ocop_test_linking") as running:  # fmt: skip
        yield running


def texts(messages: list[SentMessage]) -> str:
    return "\n".join(m.plain for m in messages)


def code_in(messages: list[SentMessage]) -> str:
    found = CODE.search(texts(messages))
    assert found is not None, texts(messages)
    return found.group(1)


async def people(bot: RunningBot) -> dict[str, int]:
    """Each chat's person (checking that its conversation names the same one)."""
    async with bot.db.sessions() as session:
        rows = await session.execute(select(ChannelIdentity.chat_id, ChannelIdentity.user_id))
        found = {chat_id: user_id for chat_id, user_id in rows}
        rows = await session.execute(select(Conversation.chat_id, Conversation.user_id))
        assert {chat_id: user_id for chat_id, user_id in rows} == found
        return found


async def test_two_apps_linked_in_vietnamese_typed_without_diacritics(bot: RunningBot) -> None:
    first = bot.producer(FIRST)
    await register(first, confirm=True)
    first.new_messages()

    asked = await first.say("lien ket")
    code = code_in(asked)
    assert "Telegram, Zalo" in asked[0].plain and "15 phút" in asked[0].plain

    second = bot.producer(SECOND)
    linked = await second.say(f"lien ket {code}")  # its very first message: no language asked
    assert linked[0].plain.startswith("✅ Đã liên kết")
    assert "Hop tac xa Nong nghiep Luc Ngan" in linked[-1].plain  # the registered menu
    (told,) = first.new_messages()
    assert told.plain.startswith("🔗 Cuộc trò chuyện Telegram của anh/chị")

    chats = await people(bot)
    assert chats[str(FIRST)] == chats[str(SECOND)]
    async with bot.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1
        member = await session.scalar(select(ProducerMember.user_id))
        assert member == chats[str(SECOND)]
        audited = await session.scalar(
            select(AuditEntry.action).where(AuditEntry.action == "user.chats_linked")
        )
        assert audited == "user.chats_linked"
        stored = [
            *(await session.scalars(select(TranscriptEntry.text))).all(),
            *[p.get("text", "") for p in (await session.scalars(select(InboxEvent.payload)))],
            *[p.get("text", "") for p in (await session.scalars(select(OutboxMessage.payload)))],
        ]
    assert not [line for line in stored if re.search(rf"\b{code}\b", line)]  # never at rest
    assert [line for line in stored if "/link ••••" in line]  # the code's message, masked

    # Either app goes on with the same registration.
    (profile,) = (await second.tap("Thong tin chu the"))[-1:]
    assert "Mã số thuế: 0100109106" in profile.plain


async def test_linked_apps_listed_and_one_unlinked_in_english(bot: RunningBot) -> None:
    first = bot.producer(FIRST)
    await register(first, language="English", confirm=True)
    code = code_in(await first.say("/link"))
    second = bot.producer(SECOND)
    await second.say(f"/link {code}")
    bot.app.engine.clock.advance(days=1)  # type: ignore[attr-defined]
    first.new_messages()

    await first.say("/menu")
    settings = await first.tap("Settings")
    assert "🔗 Linked apps: Telegram" in settings[-1].plain
    listed = (await first.tap("Linked apps"))[-1]
    assert "1. Telegram — this chat\n2. Telegram — last message Jun 1, 2026" in listed.plain
    assert first.buttons() == [
        "✂️ Unlink 1. Telegram",
        "✂️ Unlink 2. Telegram",
        "➕ Link another app",
        "⬅️ Back",
    ]
    asked = (await first.tap("Unlink 2."))[-1]
    assert asked.plain.startswith("Unlink 2. Telegram?")
    done = await first.tap("Yes, unlink")
    assert (
        done[0].plain == "Your Telegram chat was unlinked: it no longer belongs to this account."
    )
    assert "1. Telegram — this chat" in done[-1].plain and "2." not in done[-1].plain
    assert first.buttons() == ["➕ Link another app", "⬅️ Back"]  # the last chat stays
    (told,) = second.new_messages()
    assert told.plain.startswith("This chat is no longer linked to your other OCOP Bot chats")

    chats = await people(bot)
    assert chats[str(FIRST)] != chats[str(SECOND)]
    menu = await second.say("/menu")
    assert "Start by registering" in texts(menu)  # a person of its own, nothing registered
    back = await first.tap("Back")
    assert "🌐 Language" in [b for b in first.buttons()] and "Language:" in back[-1].plain


async def test_link_in_the_middle_of_a_form_keeps_its_question(bot: RunningBot) -> None:
    first = bot.producer(FIRST)
    await first.say("/start")
    await first.tap("English")  # the registration's first question
    question = first.last.plain
    replies = await first.say("/link")
    assert CODE.search(replies[0].plain)
    assert replies[-1].plain == question


async def test_a_chat_unlinks_itself_and_the_other_is_told(bot: RunningBot) -> None:
    first, second = bot.producer(FIRST), bot.producer(SECOND)
    code = code_in(await first.say("/link"))
    await second.say(f"/link {code}")
    first.new_messages()

    await second.say("/menu")
    await second.tap("Cai dat")
    listed = (await second.tap("Ung dung da lien ket"))[-1]
    assert "2. Telegram — cuộc trò chuyện này" in listed.plain
    await second.tap("Huy lien ket 2.")
    (told, menu) = await second.tap("Co, huy lien ket")
    assert told.plain.startswith("Cuộc trò chuyện này không còn liên kết")
    assert "Hãy bắt đầu bằng việc đăng ký chủ thể" in menu.plain  # a person of its own
    (left,) = first.new_messages()
    assert left.plain == (
        "Đã hủy liên kết cuộc trò chuyện Telegram: nó không còn thuộc tài khoản này."
    )
    chats = await people(bot)
    assert chats[str(FIRST)] != chats[str(SECOND)]
