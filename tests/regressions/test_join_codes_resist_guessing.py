"""Regression: join codes could be guessed, piled up, and were kept in plain text.

They were 8 characters valid 48 h with no limit on tries (300 wrong guesses, then the right one
was accepted), a new code left the older ones valid, and the code stood in the transcript and
the outbox (and what the colleague typed in the transcript and the inbox). Now a code has 12
characters; a user gets 5 wrong codes an hour; a code tried wrongly 10 times is revoked; a new
code revokes the older one; only a hash is stored, and no stored copy holds the code once its
message is delivered. Time is the engine's clock, moved by hand.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.areas import seed_provinces
from storage.clock import ManualClock
from storage.db import Database
from storage.members import CODE_ALPHABET, JoinRefused, create_join_code, redeem_join_code
from storage.models import (
    Area,
    AuditEntry,
    InboxEvent,
    JoinCode,
    OutboxMessage,
    ProducerMember,
    TranscriptEntry,
    User,
)
from storage.producers import create_producer
from tests.engine.conftest import database as database
from tests.harness import Producer as Phone
from tests.harness import RunningBot, register

INVITER = 7_400_000_001
COLLEAGUE = 7_400_000_101
DAY = timedelta(days=1)
CODE = re.compile(r"\b[A-Z2-9]{4}(?:-[A-Z2-9]{4}){1,2}\b")


def manual_clock(bot: RunningBot) -> ManualClock:
    clock = ManualClock(datetime.now(UTC))
    bot.app.engine.clock = clock
    return clock


async def invite(bot: RunningBot) -> str:
    """Registers the inviter (once) and asks for a code; returns it as shown."""
    phone = bot.producer(INVITER)
    if not phone.messages():
        await register(phone, language="English", confirm=True)
    replies = await phone.tap("Invite")
    found = CODE.search(replies[-1].plain)
    assert found is not None, replies[-1].plain
    return found.group(0)


async def at_code_question(phone: Phone) -> None:
    await phone.say("/start")
    await phone.tap("Tiếng Việt")
    await phone.say("/menu")
    await phone.tap("mã tham gia")


async def test_the_first_screen_offers_to_join(bot: RunningBot) -> None:
    code = await invite(bot)
    colleague = bot.producer(COLLEAGUE)
    await colleague.say("/start")
    replies = await colleague.tap("I have a join code")  # not pushed into registration
    assert "nhập mã tham gia" in replies[-1].plain  # in the language Telegram reports
    await colleague.say(code)
    assert await members(bot) == 2


def wrong(code: str, n: int, *, same_selector: bool = False) -> str:
    """A well-formed code that is not ``code`` (keeping its first 4 characters if asked)."""
    letters = [c for c in CODE_ALPHABET if c not in code]
    head = code[:4] if same_selector else letters[(n + 2) % len(letters)] * 4
    rest = [letters[(n + i) % len(letters)] * 4 for i in range(len(code) // 5)]
    return "-".join([head, *rest])


async def members(bot: RunningBot) -> int:
    async with bot.db.sessions() as session:
        return len((await session.scalars(select(ProducerMember))).all())


async def test_codes_have_twelve_characters(bot: RunningBot) -> None:
    code = await invite(bot)
    assert len(code.replace("-", "")) == 12
    assert all(ch in CODE_ALPHABET for ch in code.replace("-", ""))


async def test_five_wrong_codes_an_hour_then_the_right_one_waits(bot: RunningBot) -> None:
    clock = manual_clock(bot)
    code = await invite(bot)
    colleague = bot.producer(COLLEAGUE)
    await at_code_question(colleague)
    for n in range(5):
        replies = await colleague.say(wrong(code, n))
        assert "không đúng" in replies[0].plain  # "That code is not right"
    replies = await colleague.say(code)
    assert "sai mã quá nhiều lần" in replies[0].plain and "60 phút" in replies[0].plain
    assert await members(bot) == 1
    clock.advance(minutes=61)
    await colleague.tap("mã tham gia")  # the menu of someone without an organisation
    replies = await colleague.say(code)
    assert "cùng quản lý hồ sơ OCOP" in replies[0].plain  # "You now help manage …"
    assert await members(bot) == 2


async def test_text_that_is_not_a_code_is_not_counted(bot: RunningBot) -> None:
    manual_clock(bot)
    code = await invite(bot)
    colleague = bot.producer(COLLEAGUE)
    await at_code_question(colleague)
    for typed in ("xin chao", "ma cua toi la gi", "12345", "abc", "help me", "?"):
        replies = await colleague.say(typed)
        assert "12 ký tự" in replies[0].plain or "12 chữ cái" in replies[0].plain
    await colleague.say(code.lower().replace("-", " "))  # typed sloppily on a phone
    assert await members(bot) == 2


async def test_a_code_tried_wrongly_ten_times_is_revoked(bot: RunningBot) -> None:
    manual_clock(bot)
    code = await invite(bot)
    for person in range(2):  # two guessers, five tries each (each one's limit)
        guesser = bot.producer(COLLEAGUE + 1 + person)
        await at_code_question(guesser)
        for n in range(5):
            await guesser.say(wrong(code, n + 5 * person, same_selector=True))
    colleague = bot.producer(COLLEAGUE)
    await at_code_question(colleague)
    replies = await colleague.say(code)
    assert "không còn hiệu lực" in replies[0].plain  # "That code no longer works"
    assert await members(bot) == 1
    async with bot.db.sessions() as session:
        revoked = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "join_code.revoked")
        )
    assert revoked is not None


async def test_a_new_code_revokes_the_older_one(bot: RunningBot) -> None:
    manual_clock(bot)
    first = await invite(bot)
    await bot.producer(INVITER).say("/menu")
    second = await invite(bot)
    assert first != second
    colleague = bot.producer(COLLEAGUE)
    await at_code_question(colleague)
    replies = await colleague.say(first)
    assert "không còn hiệu lực" in replies[0].plain
    await colleague.say(second)
    assert await members(bot) == 2


async def test_a_code_expires_after_48_hours(bot: RunningBot) -> None:
    clock = manual_clock(bot)
    code = await invite(bot)
    clock.advance(hours=48, seconds=1)
    colleague = bot.producer(COLLEAGUE)
    await at_code_question(colleague)
    replies = await colleague.say(code)
    assert "hết hạn" in replies[0].plain
    assert await members(bot) == 1


async def test_no_stored_copy_holds_the_code(bot: RunningBot) -> None:
    code = await invite(bot)
    plain = code.replace("-", "")
    assert code in bot.producer(INVITER).last.plain  # the inviter does see it
    colleague = bot.producer(COLLEAGUE)
    await at_code_question(colleague)
    await colleague.say(wrong(code, 1))
    await colleague.say(code.lower())
    assert await members(bot) == 2
    async with bot.db.sessions() as session:
        stored = [
            json.dumps([row.text, row.payload], ensure_ascii=False)
            for row in (await session.scalars(select(TranscriptEntry))).all()
        ]
        stored += [
            json.dumps(row.payload, ensure_ascii=False)
            for row in (await session.scalars(select(OutboxMessage))).all()
        ]
        stored += [
            json.dumps(row.payload, ensure_ascii=False)
            for row in (await session.scalars(select(InboxEvent))).all()
        ]
        stored += [row.code_hash for row in (await session.scalars(select(JoinCode))).all()]
    for text in stored:
        for form in (plain, code, plain.lower(), code.lower(), wrong(code, 1)):
            assert form not in text, text
    assert any("••••" in text for text in stored)


async def test_the_limits_hold_in_the_store(database: Database) -> None:
    """The same rules at the storage level, on SQLite and PostgreSQL."""
    clock = ManualClock(datetime.now(UTC))
    async with database.transaction() as session:
        await seed_provinces(session)
        users = [User(display_name=f"u{n}", locale="vi") for n in range(5)]
        session.add_all(users)
        await session.flush()
        province = await session.scalar(select(Area.id).where(Area.level == "province"))
        producer = await create_producer(
            session,
            users[0].id,
            {"org_type": "cooperative", "name": "HTX", "tax_code": "0100109106",
             "rep_name": "Lan", "rep_position": "Giám đốc", "rep_gender": "female",
             "rep_ethnicity": "Kinh", "phone": "+84912345678", "province_id": province},
        )  # fmt: skip
        first = await create_join_code(session, producer.id, users[0].id, DAY, clock=clock)
        code = await create_join_code(session, producer.id, users[0].id, DAY, clock=clock)
        ids = [u.id for u in users]
    async with database.transaction() as session:
        assert await redeem_join_code(session, first, ids[1], clock=clock) == JoinRefused.REVOKED
        for n in range(5):
            guess = wrong(code, n, same_selector=True)
            assert await redeem_join_code(session, guess, ids[1], clock=clock) == (
                JoinRefused.UNKNOWN
            )
        assert await redeem_join_code(session, code, ids[1], clock=clock) == JoinRefused.TOO_MANY
        for n in range(5):
            await redeem_join_code(
                session, wrong(code, n, same_selector=True), ids[2], clock=clock
            )
        assert await redeem_join_code(session, code, ids[3], clock=clock) == JoinRefused.REVOKED
        fresh = await create_join_code(session, producer.id, ids[0], DAY, clock=clock)
        clock.advance(hours=1, seconds=1)
        joined = await redeem_join_code(session, fresh, ids[1], clock=clock)
        assert not isinstance(joined, JoinRefused) and joined.id == producer.id
        assert await redeem_join_code(session, fresh, ids[4], clock=clock) == JoinRefused.USED
