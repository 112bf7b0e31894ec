"""Regression: bad ids and NUL bytes crashed the step three times ("Sorry, something went wrong").

``/product 99999999999999999999`` overflowed the database's integer, ``/product ²`` passed
``str.isdigit`` and failed ``int``; the same for a forged ``p:`` button value. A NUL byte in any
text failed the transcript insert on PostgreSQL. Ids are now bounded ASCII integers (one
helper, ``bot.validators.parse_id``), and control characters are stripped from every event.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.validators import parse_id
from bot.vocabulary import split_button_payload
from storage.models import InboxEvent, TranscriptEntry, User
from tests.harness import Producer, RunningBot, register
from tests.regressions.bots import any_bot

__all__ = ["any_bot"]

CHAT, STRANGER = 7_800_000_001, 7_800_000_002
SORRY = "Sorry, something went wrong"
NOT_YOURS = "I cannot find that product among yours."


def texts(replies: list[object]) -> str:
    return "\n".join(getattr(m, "plain", "") for m in replies)


async def forged_product_button(phone: Producer, value: str) -> str:
    """Taps a button of the product list carrying ``value``, with a valid signature."""
    await phone.say("/menu")
    await phone.tap("My products")
    signature, _ = split_button_payload(phone.button_data("menu"))
    return texts(await phone.push(phone.make.callback(phone.chat_id, f"{signature}|p:{value}")))


async def test_bad_product_ids_are_answered(any_bot: RunningBot) -> None:
    phone = any_bot.producer(CHAT)
    await register(phone, language="English", confirm=True)
    for typed in ("99999999999999999999", "²", "٣", "-1", "0"):
        answer = texts(await phone.say(f"/product {typed}"))
        assert SORRY not in answer and NOT_YOURS in answer, (typed, answer)
    for value in ("99999999999999999999", "²"):
        answer = await forged_product_button(phone, value)
        assert SORRY not in answer and NOT_YOURS in answer, (value, answer)
    async with any_bot.db.sessions() as session:
        errors = (await session.scalars(select(InboxEvent.error))).all()
    assert not any(errors), errors


async def test_nul_bytes_are_stripped_from_what_is_stored(any_bot: RunningBot) -> None:
    phone = any_bot.producer(STRANGER)
    user = phone.make.user(STRANGER, first_name="La\x00n")
    answer = texts(await phone.push(phone.make.text(STRANGER, "xin\x00 chao\x07", user=user)))
    assert answer and SORRY not in answer
    async with any_bot.db.sessions() as session:
        stored = (await session.scalars(select(TranscriptEntry.text))).all()
        names = (await session.scalars(select(User.display_name))).all()
        errors = (await session.scalars(select(InboxEvent.error))).all()
    assert "xin chao" in stored
    assert not any("\x00" in text for text in stored)
    assert all("\x00" not in name for name in names) and any("Lan" in n for n in names)
    assert not any(errors), errors


def test_ids_are_bounded_ascii_integers() -> None:
    assert parse_id("42") == 42
    assert parse_id(str(2**63 - 1)) == 2**63 - 1
    for bad in ("", "0", "-1", "+1", " 1", "1 ", "²", "٣", "1e3", str(2**63), "9" * 40):
        assert parse_id(bad) is None, bad
