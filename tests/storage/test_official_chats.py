"""Tests for storage/official_chats.py and bot/official_notify.py on SQLite and (with
OCOP_TEST_POSTGRES_URL) PostgreSQL: who hears of an event (the scope of each role; not the
muted, the unlinked or the disabled), what is queued, and the digest's once-a-day claim."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.official_notify import notify_officials, send_due_digests, set_console_url
from storage.clock import LOCAL_TIMEZONE, ManualClock
from storage.db import Database
from storage.members import JoinRefused
from storage.models import (
    ChannelIdentity,
    Official,
    OfficialDigestItem,
    OutboxMessage,
    Producer,
    TranscriptEntry,
    User,
)
from storage.official_chats import create_link_code, redeem_link_code, set_preference
from storage.officials import disable_official
from storage.states import NotifyMode, OfficialEvent, OfficialRole
from tests.storage.test_officials import area, database, official, producer

__all__ = ["database"]  # the fixture, on both backends

CLOCK = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=LOCAL_TIMEZONE))


async def linked(db: Database, official_id: int, chat_id: str) -> None:
    async with db.transaction() as session:
        user = User(display_name="chat", locale="vi")
        session.add(user)
        await session.flush()
        code = await create_link_code(session, official_id, CLOCK)
    async with db.transaction() as session:
        result = await redeem_link_code(
            session, code, user_id=user.id, channel="telegram", chat_id=chat_id, clock=CLOCK
        )
    assert not isinstance(result, JoinRefused)


async def test_the_officials_whose_scope_covers_the_producer_hear_of_it(
    database: Database,
) -> None:
    set_console_url(None)  # as without OCOP_CONSOLE_URL
    bac_ninh = await area(database, "bac ninh")
    ha_noi = await area(database, "ha noi")
    da_mai = await area(database, "bac ninh", "Đa Mai")
    tan_son = await area(database, "bac ninh", "Tân Sơn")
    people = {
        "commune": await official(database, "xa1", OfficialRole.COMMUNE, [da_mai], CLOCK),
        "other_commune": await official(database, "xa2", OfficialRole.COMMUNE, [tan_son], CLOCK),
        "province": await official(database, "tinh", OfficialRole.PROVINCE, [bac_ninh], CLOCK),
        "other_province": await official(
            database, "hanoi", OfficialRole.PROVINCE, [ha_noi], CLOCK
        ),
        "admin": await official(database, "admin", OfficialRole.ADMIN, [], CLOCK),
        "muted": await official(database, "muted", OfficialRole.ADMIN, [], CLOCK),
        "disabled": await official(database, "gone", OfficialRole.ADMIN, [], CLOCK),
        "unlinked": await official(database, "nochat", OfficialRole.ADMIN, [], CLOCK),
        "blocked": await official(database, "blocked", OfficialRole.ADMIN, [], CLOCK),
        "digest": await official(database, "digest", OfficialRole.ADMIN, [], CLOCK),
    }
    for name, person in people.items():
        if name != "unlinked":
            await linked(database, person.id, f"chat-{name}")
    async with database.transaction() as session:
        await set_preference(session, people["muted"].id, NotifyMode.MUTED, 8)
        await set_preference(session, people["digest"].id, NotifyMode.DIGEST, 10)
        blocker = await session.scalar(select(User).order_by(User.id.desc()).limit(1))
        assert blocker is not None
        blocked = ChannelIdentity(  # the blocked official's chat has blocked the bot since
            user_id=blocker.id, channel="telegram", chat_id="chat-blocked", blocked_at=CLOCK.now()
        )
        session.add(blocked)
        gone = await session.get_one(Official, people["disabled"].id)
        await disable_official(session, gone, CLOCK)
    producer_id = await producer(database, "HTX <b>Đa Mai</b>", bac_ninh, da_mai)
    async with database.transaction() as session:
        told = await notify_officials(
            session,
            producer=await session.get_one(Producer, producer_id),
            event=OfficialEvent.REGISTERED,
            clock=CLOCK,
        )
    assert told == 4  # commune, province, admin, digest
    async with database.sessions() as session:
        outbox = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        lines = (await session.scalars(select(TranscriptEntry.text))).all()
        items = (await session.scalars(select(OfficialDigestItem))).all()
    assert sorted(m.chat_id for m in outbox) == ["chat-admin", "chat-commune", "chat-province"]
    assert {m.kind for m in outbox} == {"notification"}
    # No OCOP_CONSOLE_URL here: the path in the text (the transcript keeps it too).
    said = "🆕 Đăng ký mới: HTX <b>Đa Mai</b>.\nXem trên trang quản lý: /console/producers/"
    assert lines.count(f"{said}{producer_id}") == 3
    assert [(i.official_id, i.path) for i in items] == [
        (people["digest"].id, f"/console/producers/{producer_id}")
    ]

    assert await send_due_digests(database, CLOCK) == 1  # 10:00, the digest's hour
    assert await send_due_digests(database, CLOCK) == 0  # claimed for the day
    async with database.sessions() as session:
        digest = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.chat_id == "chat-digest")
        )
        items = (await session.scalars(select(OfficialDigestItem))).all()
    assert digest is not None
    assert digest.payload["text"].startswith("Bản tổng hợp hằng ngày: 1 sự việc")
    assert all(i.sent_at is not None for i in items)
