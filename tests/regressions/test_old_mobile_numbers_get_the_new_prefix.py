"""Regression: an old 11-digit mobile (0168 123 4567, before the 2018 renumbering) was only
called "not a valid Vietnamese phone number". The new number is suggested, as a button."""

from __future__ import annotations

import phonenumbers
import pytest
from sqlalchemy import select

from bot.validators import OLD_MOBILE_PREFIXES, RenumberedMobile, clean_mobile
from storage.models import Producer
from tests.harness import RunningBot

CHAT = 7_300_000_901


@pytest.mark.parametrize("old", sorted(OLD_MOBILE_PREFIXES))
def test_every_old_prefix_becomes_a_valid_mobile(old: str) -> None:
    with pytest.raises(RenumberedMobile) as raised:
        clean_mobile(f"{old} 123 4567")
    new = raised.value.number
    assert new == f"+84{OLD_MOBILE_PREFIXES[old][1:]}1234567"
    number = phonenumbers.parse(new)
    assert phonenumbers.is_valid_number(number)
    assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE


@pytest.mark.parametrize("typed", ["01681234567", "0168.123.4567", "+84 168 123 4567"])
def test_old_numbers_are_recognised_however_written(typed: str) -> None:
    with pytest.raises(RenumberedMobile) as raised:
        clean_mobile(typed)
    assert raised.value.number == "+84381234567"
    assert raised.value.params["new"] == "0381 234 567"


async def test_the_new_number_is_offered_as_a_button(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await phone.say("/start")
    await phone.tap("English")
    for answer in ("cooperative", "HTX Luc Ngan", "0100109106"):
        await phone.say(answer)
    await phone.tap("Skip")
    for answer in ("Tran Van Binh", "Director", "Male", "Kinh"):
        await phone.say(answer)
    replies = await phone.say("0168 123 4567")
    assert "0168 123 4567 is an old number; since 2018 it is 0381 234 567" in replies[0].plain
    assert "0381 234 567" in phone.buttons()
    replies = await phone.tap("0381 234 567")
    assert "province" in replies[-1].plain
    for answer in ("bac ninh", "tan son"):
        await phone.say(answer)
    await phone.tap("Skip")
    await phone.tap("Confirm")
    async with bot.db.sessions() as session:
        producer = await session.scalar(select(Producer))
    assert producer is not None
    assert (producer.phone, producer.phone_verified) == ("+84381234567", False)
