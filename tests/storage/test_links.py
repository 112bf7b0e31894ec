"""Tests for storage/links.py on SQLite and (with OCOP_TEST_POSTGRES_URL) PostgreSQL: codes
(6 digits, hashed, 15 minutes, a new one ends the old), linking a Zalo OA chat to a Telegram
person (the chat, its conversation and tries moved, the emptied person deleted, audited), what
is refused (and what is counted as a wrong try), and unlinking."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import func, select

from storage.areas import seed_provinces
from storage.clock import ManualClock
from storage.db import Database
from storage.links import (
    LINK_CODE_VALIDITY,
    LinkRefused,
    UnlinkRefused,
    chats_of,
    create_link_code,
    redeem_link_code,
    unlink_chat,
)
from storage.members import MAX_WRONG_PER_USER, WRONG_WINDOW
from storage.models import (
    Area,
    AuditEntry,
    ChannelIdentity,
    Conversation,
    JoinAttempt,
    LinkCode,
    Producer,
    User,
)
from storage.producers import create_producer
from tests.engine.conftest import database as database

__all__ = ["database"]  # the fixture, on both backends

START = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
TELEGRAM = ("telegram", "7300000001")
ZALO = ("zalo_oa", "4411223344556677889")


async def person(db: Database, chat: tuple[str, str], *, locale: str | None = "vi") -> int:
    """A person with one chat and its conversation (in the middle of a form); their id."""
    async with db.transaction() as session:
        user = User(display_name=f"person {chat[1]}", locale=locale)
        session.add(user)
        await session.flush()
        channel, chat_id = chat
        session.add(ChannelIdentity(user_id=user.id, channel=channel, chat_id=chat_id))
        session.add(
            Conversation(
                channel=channel, chat_id=chat_id, user_id=user.id, flow="registration",
                step="name", data={"answers": {"org_type": "coop"}}, version=7,
            )
        )  # fmt: skip
        return user.id


async def registered(db: Database, user_id: int, name: str = "HTX Lục Ngạn") -> int:
    """Makes ``user_id`` the owner of a new producer; its id."""
    async with db.transaction() as session:
        if not await session.scalar(select(func.count()).select_from(Area)):
            await seed_provinces(session)
        province = await session.scalar(select(Area.id).where(Area.level == "province"))
        producer = await create_producer(
            session,
            user_id,
            {"org_type": "cooperative", "name": name, "tax_code": "0100109106",
             "rep_name": "Lan", "rep_position": "Giám đốc", "rep_gender": "female",
             "rep_ethnicity": "Kinh", "phone": "+84912345678", "province_id": province},
        )  # fmt: skip
        return producer.id


async def code_for(db: Database, user_id: int, chat: tuple[str, str], clock: ManualClock) -> str:
    async with db.transaction() as session:
        return await create_link_code(
            session, user_id, channel=chat[0], chat_id=chat[1], clock=clock
        )


async def redeem(
    db: Database, typed: str, user_id: int, chat: tuple[str, str], clock: ManualClock
) -> int | LinkRefused:
    """The person the chat now belongs to, or why not."""
    async with db.transaction() as session:
        result = await redeem_link_code(
            session, typed, user_id=user_id, channel=chat[0], chat_id=chat[1], clock=clock
        )
        return result if isinstance(result, LinkRefused) else result.user.id


async def code_row(db: Database, code: str) -> LinkCode:
    digest = hashlib.sha256(f"ocop-link:{code}".encode()).hexdigest()
    async with db.sessions() as session:
        return (await session.scalars(select(LinkCode).where(LinkCode.code_hash == digest))).one()


async def wrong_tries(db: Database, user_id: int) -> int:
    async with db.sessions() as session:
        return (
            await session.scalar(
                select(func.count())
                .select_from(JoinAttempt)
                .where(JoinAttempt.user_id == user_id, JoinAttempt.succeeded.is_(False))
            )
            or 0
        )


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_a_code_is_six_digits_kept_only_hashed_and_a_new_one_ends_the_old(
    database: Database,
) -> None:
    clock = ManualClock(START)
    owner = await person(database, TELEGRAM)
    first = await code_for(database, owner, TELEGRAM, clock)
    assert len(first) == 6 and first.isdigit()
    row = await code_row(database, first)
    assert first not in row.code_hash and row.expires_at == START + LINK_CODE_VALIDITY
    assert (row.user_id, row.channel, row.chat_id) == (owner, *TELEGRAM)

    second = await code_for(database, owner, TELEGRAM, clock)
    other = await person(database, ZALO)
    assert await redeem(database, first, other, ZALO, clock) == LinkRefused.EXPIRED
    assert await wrong_tries(database, other) == 0  # a real code, only an old one

    clock.advance(seconds=LINK_CODE_VALIDITY.total_seconds())
    assert await redeem(database, second, other, ZALO, clock) == LinkRefused.EXPIRED
    async with database.sessions() as session:
        audited = await session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "link_code.created")
        )
        assert len(audited.all()) == 2


async def test_a_zalo_chat_joins_the_registered_telegram_person(database: Database) -> None:
    clock = ManualClock(START)
    owner = await person(database, TELEGRAM)
    producer_id = await registered(database, owner)
    newcomer = await person(database, ZALO, locale=None)
    # A wrong try first, from the Zalo chat.
    assert await redeem(database, "000000", newcomer, ZALO, clock) == LinkRefused.UNKNOWN
    code = await code_for(database, owner, TELEGRAM, clock)

    async with database.transaction() as session:
        linked = await redeem_link_code(
            session, code, user_id=newcomer, channel=ZALO[0], chat_id=ZALO[1], clock=clock
        )
        assert not isinstance(linked, LinkRefused)
        assert linked.user.id == owner
        assert linked.producer is not None and linked.producer.id == producer_id

    async with database.sessions() as session:
        chats = await chats_of(session, owner)
        assert [(c.channel, c.chat_id) for c in chats] == [TELEGRAM, ZALO]
        zalo = await session.scalar(select(Conversation).where(Conversation.channel == "zalo_oa"))
        assert zalo is not None and zalo.user_id == owner
        assert (zalo.flow, zalo.step, zalo.version) == ("registration", "name", 7)  # goes on
        assert await session.get(User, newcomer) is None  # nothing referred to it any more
        tries = await session.scalars(select(JoinAttempt.user_id))
        assert set(tries.all()) == {owner}  # the Zalo chat's tries follow it
        used = await session.scalar(select(LinkCode.used_at))
        assert used == START
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "user.chats_linked")
        )
        assert entry is not None
        assert (entry.actor_id, entry.entity, entry.entity_id) == (owner, "user", owner)
        assert entry.producer_id == producer_id
        assert entry.details == {"channel": "zalo_oa", "chats": 1, "from_user": newcomer}

    third = await person(database, ("zalo_bot", "b-1"))
    assert await redeem(database, code, third, ("zalo_bot", "b-1"), clock) == LinkRefused.USED


async def test_every_chat_of_the_person_who_types_the_code_moves_and_restarts(
    database: Database,
) -> None:
    """A person with two chats (a Zalo OA and a Zalo bot chat, linked) typing a Telegram
    person's code from one of them: both chats move; the other one's form starts afresh."""
    clock = ManualClock(START)
    zalo = await person(database, ZALO)
    bot_chat = ("zalo_bot", "b-77")
    second = await person(database, bot_chat)
    code = await code_for(database, zalo, ZALO, clock)
    assert await redeem(database, code, second, bot_chat, clock) == zalo
    owner = await person(database, TELEGRAM, locale="en")
    code = await code_for(database, owner, TELEGRAM, clock)
    assert await redeem(database, code, zalo, ZALO, clock) == owner
    async with database.sessions() as session:
        chats = await chats_of(session, owner)
        assert {(c.channel, c.chat_id) for c in chats} == {TELEGRAM, ZALO, bot_chat}
        other = await session.scalar(select(Conversation).where(Conversation.chat_id == "b-77"))
        assert other is not None and (other.flow, other.step, other.data) == ("", "", {})
        here = await session.scalar(select(Conversation).where(Conversation.chat_id == ZALO[1]))
        assert here is not None and here.flow == "registration"  # the caller's step goes on
        assert (await session.get_one(User, owner)).locale == "en"
        assert await session.scalar(select(func.count()).select_from(User)) == 1


async def test_what_is_refused_and_what_counts_as_a_wrong_try(database: Database) -> None:
    clock = ManualClock(START)
    owner = await person(database, TELEGRAM)
    code = await code_for(database, owner, TELEGRAM, clock)
    newcomer = await person(database, ZALO)

    assert await redeem(database, code, owner, TELEGRAM, clock) == LinkRefused.SAME_CHAT
    for typed in ("12345", "1234567", "abcdef", "", "１２３４５６"):  # full-width digits too
        assert await redeem(database, typed, newcomer, ZALO, clock) == LinkRefused.MALFORMED
    assert await wrong_tries(database, newcomer) == 0
    for _ in range(MAX_WRONG_PER_USER):
        assert await redeem(database, other_code(code), newcomer, ZALO, clock) == (
            LinkRefused.UNKNOWN
        )
    assert await wrong_tries(database, newcomer) == MAX_WRONG_PER_USER
    assert await redeem(database, code, newcomer, ZALO, clock) == LinkRefused.TOO_MANY
    clock.advance(seconds=WRONG_WINDOW.total_seconds() - LINK_CODE_VALIDITY.total_seconds())
    code = await code_for(database, owner, TELEGRAM, clock)
    assert await redeem(database, code, newcomer, ZALO, clock) == LinkRefused.TOO_MANY
    clock.advance(seconds=LINK_CODE_VALIDITY.total_seconds())
    code = await code_for(database, owner, TELEGRAM, clock)
    assert await redeem(database, f"{code[:3]} {code[3:]}", newcomer, ZALO, clock) == owner
    second = await code_for(database, owner, ZALO, clock)  # the Zalo chat is the owner's now
    assert await redeem(database, second, owner, TELEGRAM, clock) == LinkRefused.ALREADY_LINKED


async def test_registrations_are_not_merged(database: Database) -> None:
    clock = ManualClock(START)
    owner = await person(database, TELEGRAM)
    other = await person(database, ZALO)
    await registered(database, other, "HTX Zalo")
    code = await code_for(database, owner, TELEGRAM, clock)
    # The registered chat may not join an account (the other way round works)…
    assert await redeem(database, code, other, ZALO, clock) == LinkRefused.THIS_CHAT_REGISTERED
    back = await code_for(database, other, ZALO, clock)
    assert await redeem(database, back, owner, TELEGRAM, clock) == other
    # …and two registrations are never merged here.
    third = await person(database, ("zalo_bot", "b-9"))
    await registered(database, third, "HTX thứ ba")
    code = await code_for(database, other, ZALO, clock)
    assert await redeem(database, code, third, ("zalo_bot", "b-9"), clock) == (
        LinkRefused.BOTH_REGISTERED
    )
    assert (await code_row(database, code)).used_at is None  # refused: still usable
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Producer)) == 2
        assert [c.chat_id for c in await chats_of(session, third)] == ["b-9"]


async def test_unlinking_gives_the_chat_a_fresh_person_and_never_the_last(
    database: Database,
) -> None:
    clock = ManualClock(START)
    owner = await person(database, TELEGRAM, locale="en")
    await registered(database, owner)
    newcomer = await person(database, ZALO)
    await redeem(database, await code_for(database, owner, TELEGRAM, clock), newcomer, ZALO, clock)
    pending = await code_for(database, owner, ZALO, clock)  # asked on the Zalo chat
    async with database.sessions() as session:
        telegram, zalo = await chats_of(session, owner)

    async with database.transaction() as session:
        assert await unlink_chat(session, owner, 999_999, current=TELEGRAM, clock=clock) == (
            UnlinkRefused.NOT_FOUND
        )
        fresh = await unlink_chat(session, owner, zalo.id, current=TELEGRAM, clock=clock)
        assert isinstance(fresh, User)
        fresh_id = fresh.id
    async with database.sessions() as session:
        assert [c.id for c in await chats_of(session, owner)] == [telegram.id]
        (moved,) = await chats_of(session, fresh_id)
        assert (moved.channel, moved.chat_id) == ZALO
        user = await session.get_one(User, fresh_id)
        assert user.locale == "en"
        conversation = await session.scalar(
            select(Conversation).where(Conversation.channel == "zalo_oa")
        )
        assert conversation is not None and conversation.user_id == fresh_id
        assert conversation.flow == ""  # starts afresh
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "user.chat_unlinked")
        )
        assert entry is not None and entry.details == {"channel": "zalo_oa", "to_user": fresh_id}
    third = await person(database, ("zalo_bot", "b-3"))
    assert await redeem(database, pending, third, ("zalo_bot", "b-3"), clock) == (
        LinkRefused.EXPIRED  # a code asked on the unlinked chat stopped working
    )
    async with database.transaction() as session:
        assert await unlink_chat(session, owner, telegram.id, current=TELEGRAM, clock=clock) == (
            UnlinkRefused.ONLY_CHAT
        )
