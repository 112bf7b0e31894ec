"""Officials in chat: linking their chat with the console's one-time code (command and deep
link), wrong and expired codes, and the notifications of events in their area (every event,
a daily digest at their hour, muted; never for another commune)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.official_notify import notify_officials, send_due_digests
from bot.review import decide_document
from storage.areas import find_commune, find_province
from storage.clock import LOCAL_TIMEZONE, SYSTEM_CLOCK, Clock, ManualClock
from storage.members import MAX_WRONG_PER_USER, format_code
from storage.models import (
    Dossier,
    DossierDocument,
    InboxEvent,
    Official,
    OfficialChat,
    OfficialDigestItem,
    Producer,
    TranscriptEntry,
)
from storage.official_chats import create_link_code, set_preference
from storage.officials import add_official
from storage.states import NotifyMode, OfficialEvent, OfficialRole
from tests.fakes.telegram_api import SentMessage
from tests.files import make_pdf
from tests.handlers.test_documents import HANDICRAFT_REQUIRED, handicraft_dossier, upload
from tests.harness import Producer as Phone
from tests.harness import RunningBot, copy_database, register, running_bot
from tests.rigs import CHANNELS as ALL_CHANNELS
from tests.rigs import rig_for

CHANNELS = ALL_CHANNELS

OFFICIAL_CHAT = 7_600_000_001
OTHER_OFFICIAL_CHAT = 7_600_000_002
PRODUCER_CHAT = 7_600_000_101
CONSOLE_URL = "https://console.example.vn"


@pytest.fixture
async def bot(channel: str, prepared_database: Path, tmp_path: Path) -> AsyncIterator[RunningBot]:
    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    async with running_bot(url, tmp_path / "blobs", console_url=CONSOLE_URL,
                           rig=rig_for(channel)) as running:  # fmt: skip
        yield running


async def official(
    bot: RunningBot, username: str, commune: str = "tan son", *, locale: str = "en"
) -> Official:
    """A commune official of ``commune`` (Bắc Ninh), where :func:`register` registers."""
    async with bot.db.transaction() as session:
        (province,) = await find_province(session, "bac ninh")
        (area,) = await find_commune(session, province.area.id, commune)
        return await add_official(
            session, username=username, display_name=f"Cán bộ {username}",
            role=OfficialRole.COMMUNE, areas=[area.area], locale=locale,
            password="a long enough password", clock=SYSTEM_CLOCK,
        )  # fmt: skip


async def code_for(bot: RunningBot, official_id: int, clock: Clock = SYSTEM_CLOCK) -> str:
    async with bot.db.transaction() as session:
        return await create_link_code(session, official_id, clock)


async def link(bot: RunningBot, who: Official, chat_id: int) -> Phone:
    phone = bot.producer(chat_id)
    replies = await phone.say(f"/official {format_code(await code_for(bot, who.id))}")
    assert "is linked to the console account" in replies[0].plain
    return phone


def link_of(message: SentMessage) -> str:
    """The link of the message's one button."""
    ((button,),) = message.inline_keyboard or [[{}]]
    return str(button.get("url"))


async def chat_row(bot: RunningBot, official_id: int) -> OfficialChat | None:
    async with bot.db.sessions() as session:
        return await session.get(OfficialChat, official_id)


async def test_the_command_links_the_chat_and_the_code_is_never_stored(bot: RunningBot) -> None:
    lan = await official(bot, "lan")
    code = await code_for(bot, lan.id)
    phone = bot.producer(OFFICIAL_CHAT)
    replies = await phone.say(f"/official {format_code(code)}")
    assert replies[0].plain.startswith("✅ This chat is linked to the console account of Cán bộ")
    row = await chat_row(bot, lan.id)
    assert row is not None and row.chat_id == phone.address and row.channel == bot.channel
    async with bot.db.sessions() as session:
        inbox = [json.dumps(r.payload) for r in await session.scalars(select(InboxEvent))]
        lines = [r.text for r in await session.scalars(select(TranscriptEntry))]
    assert all(code not in text and format_code(code) not in text for text in inbox + lines)
    # The code works once.
    again = await phone.say(f"/official {code}")
    assert "đã được sử dụng" in again[0].plain  # in the chat's language (Telegram's)


@pytest.mark.telegram_only
async def test_the_deep_link_links_a_new_chat_in_the_officials_language(bot: RunningBot) -> None:
    lan = await official(bot, "lan", locale="vi")
    code = await code_for(bot, lan.id)
    phone = bot.producer(OFFICIAL_CHAT)
    replies = await phone.say(f"/start o-{code}")  # what Telegram sends for the link
    assert "Cuộc trò chuyện này đã được liên kết" in replies[0].plain
    assert len(replies) == 1  # no language question first
    row = await chat_row(bot, lan.id)
    assert row is not None and row.chat_id == str(OFFICIAL_CHAT)


async def test_wrong_and_expired_codes_are_refused_and_throttled(bot: RunningBot) -> None:
    lan = await official(bot, "lan")
    phone = bot.producer(OFFICIAL_CHAT)
    await phone.say("/start")
    await phone.tap("English")
    past = ManualClock(datetime.now(tz=LOCAL_TIMEZONE) - timedelta(hours=1))
    expired = await code_for(bot, lan.id, past)
    assert "has expired" in (await phone.say(f"/official {expired}"))[0].plain
    assert "not a linking code" in (await phone.say("/official hello"))[0].plain
    for _ in range(MAX_WRONG_PER_USER):
        replies = await phone.say("/official ABCD-EFGH-JKMN")
        assert "not right" in replies[0].plain
    good = await code_for(bot, lan.id)
    replies = await phone.say(f"/official {good}")
    assert "Too many wrong codes" in replies[0].plain
    assert await chat_row(bot, lan.id) is None


@pytest.mark.telegram_only
async def test_registration_and_submission_reach_the_linked_official(bot: RunningBot) -> None:
    lan = await official(bot, "lan")
    elsewhere = await official(bot, "nam", commune="tien du")
    lan_chat = await link(bot, lan, OFFICIAL_CHAT)
    nam_chat = await link(bot, elsewhere, OTHER_OFFICIAL_CHAT)
    phone = bot.producer(PRODUCER_CHAT)
    await handicraft_dossier(phone)
    (registered,) = lan_chat.new_messages()
    async with bot.db.sessions() as session:
        producer = await session.scalar(select(Producer))
    assert producer is not None
    assert registered.plain == "🆕 New registration: Hop tac xa Nong nghiep Luc Ngan."
    assert registered.inline_keyboard == [
        [{"text": "Open in the console", "url": f"{CONSOLE_URL}/console/producers/{producer.id}"}]
    ]
    for n, label in enumerate(HANDICRAFT_REQUIRED):
        await upload(phone, label, make_pdf(f"document {n}"), f"doc{n}.pdf")
    await phone.tap("Submit the dossier")
    await phone.tap("Submit")
    (submitted,) = lan_chat.new_messages()
    assert "📨 Dossier submitted: Gio may tre of Hop tac xa Nong nghiep Luc Ngan." in (
        submitted.plain
    )
    async with bot.db.sessions() as session:
        dossier = await session.scalar(select(Dossier))
        document = await session.scalar(select(DossierDocument).order_by(DossierDocument.id))
    assert dossier is not None and document is not None
    assert link_of(submitted) == f"{CONSOLE_URL}/console/dossiers/{dossier.id}"

    # An official sends a document back; its new upload is news to the official.
    async with bot.db.transaction() as session:
        await decide_document(session, document.id, "has_issues", official_id=lan.id, reason="?")
    await bot.settle()
    await phone.tap("Open the dossier")
    await upload(phone, HANDICRAFT_REQUIRED[0], make_pdf("again"), "again.pdf")
    (corrected,) = lan_chat.new_messages()
    assert corrected.plain.startswith(
        "✏️ Corrected document uploaded: Gio may tre of Hop tac xa Nong nghiep Luc Ngan."
    )
    assert nam_chat.new_messages() == []  # another commune's official hears nothing


async def test_a_muted_official_gets_nothing(bot: RunningBot) -> None:
    lan = await official(bot, "lan")
    lan_chat = await link(bot, lan, OFFICIAL_CHAT)
    async with bot.db.transaction() as session:
        await set_preference(session, lan.id, NotifyMode.MUTED, 8)
    await register(bot.producer(PRODUCER_CHAT), language="English", confirm=True)
    assert lan_chat.new_messages() == []


@pytest.mark.telegram_only
async def test_names_are_shown_as_typed(bot: RunningBot) -> None:
    lan = await official(bot, "lan")
    lan_chat = await link(bot, lan, OFFICIAL_CHAT)
    await register(bot.producer(PRODUCER_CHAT), language="English", confirm=True)
    lan_chat.new_messages()
    async with bot.db.transaction() as session:
        producer = await session.scalar(select(Producer))
        assert producer is not None
        producer.name = "<script>alert(1)</script> & <b>Co</b>"
        await notify_officials(
            session, producer=producer, event=OfficialEvent.QUESTION, clock=SYSTEM_CLOCK
        )
    await bot.settle()
    (message,) = lan_chat.new_messages()
    assert message.parse_mode == "HTML"
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;Co&lt;/b&gt;" in message.text
    assert "<script>alert(1)</script> & <b>Co</b>" in message.plain


def at(hour: int, minute: int = 0, days: int = 0) -> ManualClock:
    """A clock at ``hour`` o'clock Vietnam time, ``days`` after 2026-03-02."""
    return ManualClock(datetime(2026, 3, 2, hour, minute, tzinfo=LOCAL_TIMEZONE) + timedelta(days))


async def test_a_digest_goes_once_a_day_at_the_hour_never_at_night(bot: RunningBot) -> None:
    lan = await official(bot, "lan")
    lan_chat = await link(bot, lan, OFFICIAL_CHAT)
    async with bot.db.transaction() as session:
        await set_preference(session, lan.id, NotifyMode.DIGEST, 9)
    await register(bot.producer(PRODUCER_CHAT), language="English", confirm=True)
    assert lan_chat.new_messages() == []  # kept for the digest
    async with bot.db.sessions() as session:
        (item,) = (await session.scalars(select(OfficialDigestItem))).all()
    assert item.event == "registered" and item.sent_at is None

    assert await send_due_digests(bot.db, at(8, 59)) == 0  # before the hour
    assert await send_due_digests(bot.db, at(9, 0)) == 1
    assert await send_due_digests(bot.db, at(9, 1)) == 0  # once a day
    await bot.settle()
    (digest,) = lan_chat.new_messages()
    assert digest.plain.startswith("Your daily summary: 1 event in your area.")
    assert "New registration: Hop tac xa Nong nghiep Luc Ngan." in digest.plain
    assert f"{CONSOLE_URL}/console/producers/" in digest.plain

    # Never at night: with the hour at 20, a pass at 21:30 (the process was down at 20:00)
    # sends nothing; the digest goes the next day at 20.
    async with bot.db.transaction() as session:
        await set_preference(session, lan.id, NotifyMode.DIGEST, 20)
        producer = await session.scalar(select(Producer))
        assert producer is not None
        await notify_officials(
            session, producer=producer, event=OfficialEvent.QUESTION, clock=at(12, days=1)
        )
    for night in (at(21, 30, days=1), at(23, days=1), at(3, days=2), at(19, 59, days=2)):
        assert await send_due_digests(bot.db, night) == 0
    assert await send_due_digests(bot.db, at(20, days=2)) == 1
    await bot.settle()
    (second,) = lan_chat.new_messages()
    assert "New question from Hop tac xa Nong nghiep Luc Ngan." in second.plain


async def test_without_the_console_url_the_link_is_a_path_in_the_text(
    prepared_database: Path, tmp_path: Path
) -> None:
    url = copy_database(prepared_database, tmp_path / "plain.sqlite3")
    async with running_bot(url, tmp_path / "blobs") as plain:
        lan = await official(plain, "lan")
        lan_chat = await link(plain, lan, OFFICIAL_CHAT)
        await register(plain.producer(PRODUCER_CHAT), language="English", confirm=True)
        (message,) = lan_chat.new_messages()
    assert message.inline_keyboard is None
    assert message.plain.endswith("\nOpen in the console: /console/producers/1")


@pytest.mark.telegram_only
async def test_a_question_left_in_chat_reaches_the_linked_official(bot: RunningBot) -> None:
    lan = await official(bot, "lan")
    lan_chat = await link(bot, lan, OFFICIAL_CHAT)
    phone = bot.producer(PRODUCER_CHAT)
    await register(phone, language="English", confirm=True)
    lan_chat.new_messages()  # the registration
    await phone.say("talk to an official")
    await phone.tap("Leave a question")
    await phone.say("When is the next round?")
    await phone.tap("Send")
    (asked,) = lan_chat.new_messages()
    assert asked.plain == "❓ New question from Hop tac xa Nong nghiep Luc Ngan."
    assert link_of(asked) == f"{CONSOLE_URL}/console/questions"
