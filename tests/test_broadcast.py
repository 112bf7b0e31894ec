"""An announcement through the real wire: an official's announcement (with a PDF and buttons)
reaches every reachable producer in their language through the fake Bot API and the real
sender, each recipient's outcome is written back (sent, blocked the bot, account deleted), muted
people get none, the buttons work, it ends ``done``; one past its expiry is not sent (too old);
one cancelled half-way stops, withdrawing what was queued and not yet sent."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.announcements import (
    Announcement,
    AnnouncementFile,
    AnnouncementValues,
    Audience,
    Button,
    cancel_announcement,
    create_announcement,
    delivery_counts,
    schedule_announcement,
)
from storage.blobs import LocalBlobStore
from storage.clock import ManualClock, utcnow
from storage.models import ChannelIdentity, OutboxMessage, TranscriptEntry
from storage.officials import Scope, add_official
from storage.states import (
    AnnouncementStatus,
    DeliveryReason,
    DeliveryStatus,
    OfficialRole,
    OutboxKind,
    OutboxStatus,
)
from tests.harness import RunningBot, bot_on, register

ADMIN = Scope(official_id=0, role=OfficialRole.ADMIN, codes=frozenset())
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
VI = "Vòng 2 năm 2027 đã mở; nộp hồ sơ về UBND xã trước ngày 30/10/2027."
EN = "Round 2 of 2027 is open; dossiers to your commune by 30 October 2027."


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def bot(
    request: pytest.FixtureRequest, prepared_database: Path, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    async with bot_on(request.param, prepared_database, tmp_path, clock=ManualClock(utcnow()),
                      name="ocop_test_broadcast") as running:  # fmt: skip
        yield running


async def official(bot: RunningBot) -> int:
    """An administrator to write the announcements (their id)."""
    async with bot.db.transaction() as session:
        person = await add_official(
            session, username="tinh", display_name="Cán bộ tỉnh", role=OfficialRole.ADMIN,
            areas=[], locale="vi", password="mat-khau-dai-du-12", clock=bot.app.clock,
        )  # fmt: skip
        return person.id


async def announce(
    bot: RunningBot, author: int, values: AnnouncementValues, *, at_once: bool = True
) -> int:
    scope = Scope(author, OfficialRole.ADMIN, frozenset())
    now = bot.app.clock.now()
    async with bot.db.transaction() as session:
        announcement = await create_announcement(session, scope, values, now=now)
        if at_once:
            await schedule_announcement(
                session, scope, announcement.id, at=now, version=1, now=now
            )
        return announcement.id


async def until_done(bot: RunningBot, announcement_id: int, steps: int = 50) -> None:
    for _ in range(steps):
        await bot.app.broadcaster.step()
        await bot.settle()
        await bot.app.broadcaster.step()
        async with bot.db.sessions() as session:
            status = await session.scalar(
                select(Announcement.status).where(Announcement.id == announcement_id)
            )
        if status == AnnouncementStatus.DONE:
            return
    raise AssertionError(f"announcement {announcement_id} is still {status}")


async def test_an_announcement_reaches_every_reachable_producer(
    bot: RunningBot, tmp_path: Path
) -> None:
    phones = {name: bot.producer(chat) for name, chat in
              (("vi", 7_400_000_001), ("en", 7_400_000_002), ("muted", 7_400_000_003),
               ("blocked", 7_400_000_004), ("deleted", 7_400_000_005))}  # fmt: skip
    for name, phone in phones.items():
        await register(phone, language="English" if name == "en" else "Tiếng Việt", confirm=True)
    await phones["muted"].say("/mute")
    for phone in phones.values():
        phone.new_messages()
    bot.api.block(phones["blocked"].chat_id)
    bot.api.block(phones["deleted"].chat_id, deleted=True)
    author = await official(bot)
    blob = await LocalBlobStore(tmp_path / "blobs").put(PDF)
    values = AnnouncementValues(
        text_vi=VI,
        text_en=EN,
        audience=Audience(),
        file=AnnouncementFile(blob.sha256, "huong-dan-vong-2.pdf", "application/pdf"),
        buttons=(Button("📅 Xem hạn nộp", "/deadlines", "📅 See deadlines"),),
    )
    announcement_id = await announce(bot, author, values)
    await until_done(bot, announcement_id)

    (vi,) = phones["vi"].new_messages()
    assert vi.kind == "document" and vi.file is not None and vi.file.content == PDF
    assert VI in vi.plain and "/mute" in vi.plain
    assert "Thông báo của cán bộ OCOP" in vi.plain
    (en,) = phones["en"].new_messages()
    assert EN in en.plain and "To stop receiving announcements, send /mute." in en.plain
    assert phones["en"].buttons() == ["📅 See deadlines"]
    assert phones["muted"].new_messages() == []
    assert sum(1 for f in bot.api.uploads if f.uploaded) == 1  # the PDF went up once

    async with bot.db.sessions() as session:
        counts = await delivery_counts(session, announcement_id)
        transcript = await session.scalar(
            select(func.count())
            .select_from(TranscriptEntry)
            .where(TranscriptEntry.kind == OutboxKind.ANNOUNCEMENT)
        )
        blocked = set(
            (
                await session.scalars(
                    select(ChannelIdentity.chat_id).where(ChannelIdentity.blocked_at.is_not(None))
                )
            ).all()
        )
    assert counts.total == 4  # the muted person has no delivery
    assert counts.of(DeliveryStatus.SENT) == 2
    assert counts.failed_by_reason == {DeliveryReason.BLOCKED: 1, DeliveryReason.DELETED: 1}
    assert transcript == 4  # each copy is in its chat's transcript
    assert blocked == {str(phones["blocked"].chat_id), str(phones["deleted"].chat_id)}

    # The announcement's button works at any step.
    replies = await phones["en"].tap("See deadlines")
    assert replies and "round" in replies[0].plain.lower()


async def test_an_expired_announcement_is_not_sent(bot: RunningBot) -> None:
    phone = bot.producer(7_400_000_011)
    await register(phone, confirm=True)
    phone.new_messages()
    author = await official(bot)
    clock = bot.app.clock
    assert isinstance(clock, ManualClock)
    values = AnnouncementValues(
        text_vi=VI, audience=Audience(), expires_at=clock.now() + timedelta(hours=1)
    )
    announcement_id = await announce(bot, author, values, at_once=False)
    async with bot.db.transaction() as session:
        scope = Scope(author, OfficialRole.ADMIN, frozenset())
        later = clock.now() + timedelta(hours=2)
        await schedule_announcement(
            session, scope, announcement_id, at=later, version=1, now=clock.now()
        )
    await bot.app.broadcaster.step()
    assert phone.new_messages() == []  # not yet due
    clock.advance(hours=2)
    await until_done(bot, announcement_id)
    assert phone.new_messages() == []
    async with bot.db.sessions() as session:
        counts = await delivery_counts(session, announcement_id)
    assert counts.by_status == {DeliveryStatus.TOO_OLD: 1}


async def test_a_cancelled_announcement_stops_half_way(bot: RunningBot) -> None:
    phones = [bot.producer(7_400_000_020 + n) for n in range(4)]
    for phone in phones:
        await register(phone, confirm=True)
        phone.new_messages()
    author = await official(bot)
    bot.app.broadcaster.window = 2  # two in the outbox at a time
    announcement_id = await announce(bot, author, AnnouncementValues(VI, Audience()))
    await bot.app.broadcaster.step()  # deliveries made, the first two queued
    async with bot.db.transaction() as session:
        await cancel_announcement(
            session, ADMIN, announcement_id, version=2, now=bot.app.clock.now()
        )
    await bot.settle()
    await bot.app.broadcaster.step()
    async with bot.db.sessions() as session:
        counts = await delivery_counts(session, announcement_id)
        withdrawn = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.CANCELLED)
        )
    got = sum(len(phone.new_messages()) for phone in phones)
    # What the sender had not claimed when the cancel came is withdrawn; nothing after it goes.
    assert counts.total == 4
    assert counts.of(DeliveryStatus.SENT) == got
    assert counts.of(DeliveryStatus.CANCELLED) == 4 - got
    assert got + (withdrawn or 0) <= 2


async def test_two_processes_share_a_broadcast_without_duplicates(bot: RunningBot) -> None:
    """A second process of the same bot (its own database connections, sender, broadcaster and
    Telegram client) works the same announcement: every recipient gets exactly one copy and
    both send some. (That they keep to one pace together is tested on a manual clock, where
    time is exact: tests/engine/test_sender.py.)"""
    from bench.console_data import generate
    from bot.app import build_app
    from bot.channels.telegram import TelegramChannel
    from bot.settings import Settings

    counts = await generate(bot.db, producers=60, documents_per_producer=1,
                            transcript_rows_per_producer=1)  # fmt: skip
    assert counts["producers"] == 60
    async with bot.db.sessions() as session:
        chats = [int(c) for c in (await session.scalars(select(ChannelIdentity.chat_id))).all()]
    for chat in chats:
        bot.api.add_chat(chat)
    bot.api.limit(global_per_second=30, per_chat_per_second=1, window=1, chat_window=3)
    author = await official(bot)
    announcement_id = await announce(bot, author, AnnouncementValues(VI, Audience()))

    second = build_app(
        Settings(database_url=str(bot.db.engine.url.render_as_string(hide_password=False)),
                 telegram_token=bot.api.token, telegram_api_url=bot.api.url,
                 blob_dir=bot.app.settings.blob_dir, worker_name="second", poll_interval=0.05)
    )  # fmt: skip
    telegram = TelegramChannel(bot.api.token, bot.api.url, second.engine)
    await telegram.initialize()
    second.channels[telegram.name] = telegram
    stop = asyncio.Event()
    loops = [
        asyncio.create_task(second.sender.run(stop)),
        asyncio.create_task(second.broadcaster.run(stop)),
        asyncio.create_task(bot.app.broadcaster.run(stop)),
    ]
    try:
        for _ in range(300):
            async with bot.db.sessions() as session:
                status = await session.scalar(
                    select(Announcement.status).where(Announcement.id == announcement_id)
                )
            if status == AnnouncementStatus.DONE:
                break
            await asyncio.sleep(0.1)
        assert status == AnnouncementStatus.DONE
    finally:
        stop.set()
        await asyncio.gather(*loops, return_exceptions=True)
        await telegram.shutdown()
        await second.db.dispose()
    copies = Counter(m.chat_id for m in bot.api.sent if VI in m.plain)
    assert sorted(copies.values()) == [1] * 60
    async with bot.db.sessions() as session:
        by_sender = dict(
            (
                await session.execute(
                    select(OutboxMessage.claimed_by, func.count())
                    .where(OutboxMessage.kind == OutboxKind.ANNOUNCEMENT)
                    .group_by(OutboxMessage.claimed_by)
                )
            ).all()
        )
    assert len(by_sender) == 2 and all(by_sender.values()), by_sender
