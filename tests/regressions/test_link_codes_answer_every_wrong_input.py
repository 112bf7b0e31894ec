"""Regression guard: every wrong input when linking two apps gets a clear, polite answer that
says what to do, and nothing is linked or merged silently: a code of the wrong shape, a wrong
code (a few a chat, then a wait, said in minutes), an expired or replaced code, a used code,
the code typed on the chat that asked for it, two chats already linked, and registrations
that cannot be merged (this chat registered: do it the other way round; both registered: the
commune OCOP officer). A refused code typed in the middle of a form asks its question again.
Two Telegram chats stand in for two apps; time is the engine's clock, moved by hand."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import func, select

from storage.areas import seed_provinces
from storage.clock import ManualClock
from storage.models import Area, ChannelIdentity, JoinAttempt, Producer
from storage.producers import create_producer
from tests.fakes.telegram_api import SentMessage
from tests.harness import Producer as Phone
from tests.harness import RunningBot

OWNER, OTHER, THIRD = 7_400_000_701, 7_400_000_702, 7_400_000_703
CODE = re.compile(r"/link (\d{6})\b")


def manual_clock(bot: RunningBot) -> ManualClock:
    clock = ManualClock(datetime(2026, 6, 1, 3, 0, tzinfo=UTC))
    bot.app.engine.clock = clock
    return clock


async def send(phone: Phone, text: str) -> list[SentMessage]:
    """``text`` from a Telegram user whose app is in English (the first message's language)."""
    user = phone.make.user(phone.chat_id, language_code="en")
    if text.startswith("/"):
        command, _, args = text[1:].partition(" ")
        return await phone.push(phone.make.command(phone.chat_id, command, args, user=user))
    return await phone.push(phone.make.text(phone.chat_id, text, user=user))


async def new_code(phone: Phone) -> str:
    replies = await send(phone, "/link")
    found = CODE.search("\n".join(m.plain for m in replies))
    assert found is not None, [m.plain for m in replies]
    return found.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 500_000) % 1_000_000:06d}"


async def person_of(bot: RunningBot, chat: int) -> int:
    async with bot.db.sessions() as session:
        found = await session.scalar(
            select(ChannelIdentity.user_id).where(ChannelIdentity.chat_id == str(chat))
        )
        assert found is not None
        return found


async def registered(bot: RunningBot, chat: int, name: str) -> None:
    """The chat's person registers ``name`` (written directly: the form is tested elsewhere)."""
    user_id = await person_of(bot, chat)
    async with bot.db.transaction() as session:
        if not await session.scalar(select(func.count()).select_from(Area)):
            await seed_provinces(session)
        province = await session.scalar(select(Area.id).where(Area.level == "province"))
        await create_producer(
            session,
            user_id,
            {"org_type": "cooperative", "name": name, "tax_code": "0100109106",
             "rep_name": "Lan", "rep_position": "Giám đốc", "rep_gender": "female",
             "rep_ethnicity": "Kinh", "phone": "+84912345678", "province_id": province},
        )  # fmt: skip


async def test_a_code_of_the_wrong_shape_says_what_a_code_looks_like(bot: RunningBot) -> None:
    manual_clock(bot)
    other = bot.producer(OTHER)
    for typed in ("/link 12345", "lien ket 12 34", "/link abcdef"):
        (answer, _menu) = await send(other, typed)
        assert answer.plain.startswith("That is not a linking code: a code has 6 digits.")
        assert "/link 123456" in answer.plain
    async with bot.db.sessions() as session:  # not counted as wrong tries
        assert not await session.scalar(select(func.count()).select_from(JoinAttempt))


async def test_wrong_codes_are_answered_then_limited_then_allowed_again(bot: RunningBot) -> None:
    clock = manual_clock(bot)
    owner, other = bot.producer(OWNER), bot.producer(OTHER)
    code = await new_code(owner)
    for _ in range(5):
        (answer, _menu) = await send(other, f"/link {wrong(code)}")
        assert answer.plain == (
            "That linking code is not right. Please check the 6 digits on your other app, or "
            "send /link there for a new code."
        )
    (answer, _menu) = await send(other, f"lien ket {code}")  # even the right one, for now
    assert answer.plain == (
        "Too many wrong codes. Please check the code on your other app and try again in 60 "
        "minutes."
    )
    clock.advance(minutes=40)
    (answer, _menu) = await send(other, f"/link {code}")
    assert answer.plain.endswith("try again in 20 minutes.")
    clock.advance(minutes=20)
    code = await new_code(owner)  # the first one is too old by now
    (linked, _menu) = await send(other, f"/link {code}")
    assert linked.plain.startswith("✅ Linked")
    assert await person_of(bot, OWNER) == await person_of(bot, OTHER)


async def test_an_expired_or_replaced_code_says_to_get_a_new_one(bot: RunningBot) -> None:
    clock = manual_clock(bot)
    owner, other = bot.producer(OWNER), bot.producer(OTHER)
    replaced = await new_code(owner)
    code = await new_code(owner)
    expected = (
        "That linking code no longer works: a code works for 15 minutes, and a newer one "
        "replaces it. Send /link on your other app to get a new one."
    )
    assert (await send(other, f"/link {replaced}"))[0].plain == expected
    clock.advance(minutes=15)
    assert (await send(other, f"/link {code}"))[0].plain == expected
    assert await person_of(bot, OWNER) != await person_of(bot, OTHER)


async def test_a_used_code_says_so(bot: RunningBot) -> None:
    manual_clock(bot)
    owner, other, third = bot.producer(OWNER), bot.producer(OTHER), bot.producer(THIRD)
    code = await new_code(owner)
    assert (await send(other, f"/link {code}"))[0].plain.startswith("✅ Linked")
    (answer, _menu) = await send(third, f"/link {code}")
    assert answer.plain == (
        "That linking code was already used. Send /link on your other app to get a new one."
    )
    assert await person_of(bot, THIRD) != await person_of(bot, OWNER)


async def test_a_code_typed_on_its_own_chat_says_to_use_the_other_app(bot: RunningBot) -> None:
    manual_clock(bot)
    owner = bot.producer(OWNER)
    code = await new_code(owner)
    expected = (
        "This code was made in this chat, so it cannot link it. Send it from the chat with "
        "OCOP Bot on your other app (Telegram or Zalo): /link followed by the code."
    )
    (answer,) = await send(owner, code)  # at the code's step, the digits alone
    assert answer.plain == expected
    (answer,) = await send(owner, f"/link {code}")
    assert answer.plain == expected


async def test_chats_already_linked_are_told_so(bot: RunningBot) -> None:
    manual_clock(bot)
    owner, other = bot.producer(OWNER), bot.producer(OTHER)
    await send(other, f"/link {await new_code(owner)}")
    (answer, _menu) = await send(other, f"/link {await new_code(owner)}")
    assert answer.plain.startswith("These two chats are already linked")


async def test_registrations_are_never_merged_silently(bot: RunningBot) -> None:
    manual_clock(bot)
    owner, other, third = bot.producer(OWNER), bot.producer(OTHER), bot.producer(THIRD)
    code = await new_code(owner)
    await send(other, "/start")
    await registered(bot, OTHER, "HTX Mật ong")
    (answer, _menu) = await send(other, f"/link {code}")
    assert answer.plain.startswith(
        "This chat already has its own OCOP registration, so it cannot join the account of "
        "another app. Do it the other way round: send /link here"
    )
    (linked, menu) = await send(owner, f"/link {await new_code(other)}")  # the other way round
    assert linked.plain.startswith("✅ Linked") and "HTX Mật ong" in menu.plain

    await send(third, "/start")
    await registered(bot, THIRD, "HTX Chè")
    (answer, _menu) = await send(third, f"/link {await new_code(owner)}")
    assert answer.plain.startswith("Both chats have their own OCOP registration")
    assert "commune OCOP officer" in answer.plain
    async with bot.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Producer)) == 2
    assert await person_of(bot, THIRD) != await person_of(bot, OWNER)


async def test_a_refused_code_in_a_form_asks_its_question_again(bot: RunningBot) -> None:
    manual_clock(bot)
    owner = bot.producer(OWNER)
    await send(owner, "/start")
    question = (await owner.tap("English"))[-1].plain  # the registration's first question
    (answer, again) = await send(owner, "lien ket 111111")
    assert answer.plain.startswith("That linking code is not right.")
    assert again.plain == question
