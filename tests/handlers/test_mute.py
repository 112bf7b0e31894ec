"""Muting announcements in chat, through the fake Telegram server, on SQLite and PostgreSQL:
/mute and /unmute (the flag and the audit log), typed "tat thong bao" / "bật thông báo", the
menu's Settings, a form's question kept, muting twice, Vietnamese and English; and what a muted
producer still gets: a round's deadline reminder, their results and an official's answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.answers import answer_producer
from bot.channels.names import channel_name
from bot.reminders import schedule_round_reminders
from bot.results_notify import publish_and_notify
from storage.announcements import Audience, audience_counts
from storage.areas import find_province
from storage.clock import ManualClock, local_time
from storage.models import (
    AuditEntry,
    Official,
    Producer,
    ProducerMember,
    Round,
    RoundArea,
    User,
)
from storage.officials import Scope
from storage.states import OfficialRole, RoundLevel
from tests.console.results_data import Outcome, make_entry, make_round
from tests.fakes.telegram_api import SentMessage
from tests.handlers.test_documents import handicraft_dossier
from tests.harness import RunningBot, bot_on, register
from tests.rigs import rig_for

# Zalo's two channels differ from Telegram alike here: one of them is enough.
CHANNELS = ("telegram", "zalo_oa")

CHAT = 7_300_000_951
START = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # 10:00 on 1 June 2026 in Vietnam

MUTED_EN = (
    "You will no longer receive announcements from the OCOP office. Deadlines, results and "
    "answers to your questions still reach you. Send /unmute to receive them again."
)
MUTED_VI = (
    "Anh/chị sẽ không nhận thông báo từ cán bộ OCOP nữa. Nhắc hạn nộp, kết quả và câu trả "
    "lời cho câu hỏi của anh/chị vẫn được gửi đến. Gửi /unmute để nhận lại thông báo."
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def bot(
    request: pytest.FixtureRequest, channel: str, prepared_database: Path, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    """The real bot on a ManualClock at :data:`START`, on SQLite and on PostgreSQL."""
    clock = ManualClock(START)
    async with bot_on(request.param, prepared_database, tmp_path, clock=clock,
                      name="ocop_test_mute", rig=rig_for(channel, clock)) as running:  # fmt: skip
        yield running


def clock_of(bot: RunningBot) -> ManualClock:
    clock = bot.app.engine.clock
    assert isinstance(clock, ManualClock)
    return clock


def texts(messages: list[SentMessage]) -> str:
    return "\n".join(m.plain for m in messages)


async def muted_at(bot: RunningBot) -> datetime | None:
    async with bot.db.sessions() as session:
        (user,) = (await session.scalars(select(User))).all()
        return user.announcements_muted_at


async def audited(bot: RunningBot) -> list[str]:
    async with bot.db.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.action.like("announcements.%"))
            .order_by(AuditEntry.id)
        )
        return list(rows)


async def test_mute_and_unmute_in_english(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register(phone, language="English", confirm=True)
    phone.new_messages()
    assert await muted_at(bot) is None

    replies = await phone.say("/mute")
    assert replies[0].plain == MUTED_EN
    assert "Announcements from the OCOP office: 🔕 muted since Jun 1, 2026" in replies[-1].plain
    assert phone.buttons() == [
        "🔔 Receive announcements",
        "🌐 Language",
        "🔗 Linked apps",
        "⬅️ Back to the menu",
    ]
    assert await muted_at(bot) == START
    assert await audited(bot) == ["announcements.muted"]

    clock_of(bot).advance(days=1)
    (again, _settings) = await phone.say("/mute")
    assert again.plain.startswith("Announcements from the OCOP office are already muted")
    assert await muted_at(bot) == START  # the first day stays
    assert await audited(bot) == ["announcements.muted"]

    (unmuted, settings) = await phone.say("/unmute")
    assert unmuted.plain == (
        "You will receive announcements from the OCOP office again. Send /mute to stop them."
    )
    assert "Announcements from the OCOP office: 🔔 on" in settings.plain
    assert await muted_at(bot) is None
    assert await audited(bot) == ["announcements.muted", "announcements.unmuted"]

    (not_muted, _settings) = await phone.say("/unmute")
    assert not_muted.plain.startswith("Announcements from the OCOP office were not muted")
    assert await audited(bot) == ["announcements.muted", "announcements.unmuted"]

    (typed, _settings) = await phone.say("Mute announcements")
    assert typed.plain == MUTED_EN
    assert await muted_at(bot) == START + timedelta(days=1)
    help_text = texts(await phone.say("/help"))
    assert "/mute stop the office's announcements · /unmute receive them again" in help_text


async def test_typed_in_vietnamese_with_or_without_diacritics(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register(phone, confirm=True)
    phone.new_messages()

    (said, settings) = await phone.say("tat thong bao")
    assert said.plain == MUTED_VI
    assert "Thông báo từ cán bộ OCOP: 🔕 đã tắt từ ngày 01/06/2026" in settings.plain
    assert phone.buttons() == [
        "🔔 Nhận thông báo",
        "🌐 Ngôn ngữ",
        "🔗 Ứng dụng đã liên kết",
        "⬅️ Về menu chính",
    ]
    assert await muted_at(bot) == START

    (again, _settings) = await phone.say("Tắt thông báo!")
    assert again.plain.startswith("Anh/chị đã tắt thông báo từ cán bộ OCOP rồi.")

    (said, settings) = await phone.say("Bật thông báo")
    assert said.plain == ("Anh/chị sẽ nhận lại thông báo từ cán bộ OCOP. Gửi /mute để tắt.")
    assert "Thông báo từ cán bộ OCOP: 🔔 đang bật" in settings.plain
    assert await muted_at(bot) is None
    (said, _settings) = await phone.say("bat thong bao")
    assert said.plain.startswith("Thông báo từ cán bộ OCOP chưa bị tắt")
    assert await audited(bot) == ["announcements.muted", "announcements.unmuted"]
    # In a longer message the words are not a request.
    replies = await phone.say("tat thong bao giup toi voi, cam on")
    assert MUTED_VI not in texts(replies) and await muted_at(bot) is None


async def test_settings_from_the_menu(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register(phone, confirm=True)
    await phone.say("/menu")
    assert "⚙️ Cài đặt" in phone.buttons() and "🌐 Ngôn ngữ" not in phone.buttons()
    assert len(phone.buttons()) <= 9  # the menu stays short on a phone

    (shown,) = await phone.tap("Cai dat")
    assert shown.plain.startswith("⚙️ Cài đặt")
    assert "Ngôn ngữ: 🇻🇳 Tiếng Việt\nThông báo từ cán bộ OCOP: 🔔 đang bật" in shown.plain
    assert f"🔗 Ứng dụng đã liên kết: {channel_name(bot.channel)}" in shown.plain
    assert phone.buttons() == [
        "🔕 Tắt thông báo",
        "🌐 Ngôn ngữ",
        "🔗 Ứng dụng đã liên kết",
        "⬅️ Về menu chính",
    ]

    (said, shown) = await phone.tap("Tat thong bao")
    assert said.plain == MUTED_VI
    assert "🔕 đã tắt từ ngày 01/06/2026" in shown.plain
    assert await muted_at(bot) == START

    await phone.tap("Ngon ngu")
    (told, shown) = await phone.tap("English")
    assert told.plain == "I will speak English with you."
    assert "Language: 🇬🇧 English\nAnnouncements from the OCOP office: 🔕 muted" in shown.plain

    (said, shown) = await phone.tap("Receive announcements")
    assert said.plain.startswith("You will receive announcements from the OCOP office again.")
    assert "Announcements from the OCOP office: 🔔 on" in shown.plain
    assert await muted_at(bot) is None
    assert await audited(bot) == ["announcements.muted", "announcements.unmuted"]

    (menu,) = await phone.tap("Back to the menu")
    assert "main menu" in menu.plain


async def test_mute_in_the_middle_of_registration_keeps_its_question(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await phone.say("/start")
    await phone.tap("Tiếng Việt")
    await phone.tap("Hop tac xa")
    asked = phone.last.plain  # the organisation's name: a free-text question

    replies = await phone.say("tat thong bao")
    assert replies[0].plain == MUTED_VI
    assert replies[-1].plain == asked
    assert await muted_at(bot) == START

    replies = await phone.say("/unmute")
    assert replies[0].plain.startswith("Anh/chị sẽ nhận lại thông báo")
    assert replies[-1].plain == asked
    assert await muted_at(bot) is None

    # The form goes on from where it was.
    await phone.say("Hop tac xa Nong nghiep Luc Ngan")
    assert "mã số thuế" in phone.last.plain.lower()


async def test_a_muted_producer_still_gets_reminders_results_and_answers(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)  # registered in English, a product not yet filed
    await phone.say("/mute")
    phone.new_messages()
    async with bot.db.sessions() as session:
        member = (await session.scalars(select(ProducerMember))).one()
        producer = await session.get_one(Producer, member.producer_id)
        everyone = Scope(official_id=0, role=OfficialRole.ADMIN, codes=frozenset())
        counts = await audience_counts(session, everyone, Audience())
    assert counts.muted == 1  # announcements would leave this person out

    clock = clock_of(bot)
    now = clock.now()
    async with bot.db.transaction() as session:
        admin = Official(
            username="admin", display_name="Admin", role=OfficialRole.ADMIN,
            password_hash="-", created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(admin)
        await session.flush()
        admin_id = admin.id
        (province,) = await find_province(session, "bac ninh")
        round_ = Round(
            level=RoundLevel.PROVINCE, name="Province round 2 2026", year=2026,
            opens_on=date(2026, 6, 1), submission_deadline=date(2026, 6, 30),
            evaluation_deadline=date(2026, 7, 30), results_on=date(2026, 8, 30),
            rules_version="2026.1", created_by=admin.id, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(round_)
        await session.flush()
        session.add(RoundArea(round_id=round_.id, area_id=province.area.id))
        assert await schedule_round_reminders(session, round_, date(2026, 6, 1)) == 3

    clock.advance((local_time(date(2026, 6, 16), 8) - now).total_seconds())
    assert await bot.app.scheduler.run_due() == 1
    await bot.settle()
    (reminder,) = phone.new_messages()
    assert "Province round 2 2026 closes for dossiers on Jun 30, 2026 (14 days left)" in (
        reminder.plain
    )

    now = clock.now()
    scored = await make_round(bot.db, area_id=producer.province_id, now=now)
    await make_entry(
        bot.db, scored, member.producer_id, Outcome("82.50", 4), now=now, user_id=member.user_id
    )
    async with bot.db.transaction() as session:
        await publish_and_notify(session, scored, official_id=1, now=now)
    await bot.settle()
    (results,) = phone.new_messages()
    assert "The results of Kỳ đánh giá 1 năm 2026 are published." in results.plain
    assert "Mật ong bạc hà: score 82.50, 4★" in results.plain

    async with bot.db.transaction() as session:
        official = await session.get_one(Official, admin_id)
        answered = await session.get_one(Producer, producer.id)
        await answer_producer(session, answered, official, "Hồ sơ cần thêm ảnh.", clock)
    await bot.settle()
    (answer,) = phone.new_messages()
    assert answer.plain.endswith("\nHồ sơ cần thêm ảnh.")
    assert await muted_at(bot) is not None
