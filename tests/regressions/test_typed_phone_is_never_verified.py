"""Regression: a phone number typed after sharing the contact was saved as verified.

Only a contact the user shares for their own account verifies a number, and only that exact
number: a number typed at the summary ("change any answer") or in the profile editor is saved
unverified, in a new registration and in a profile edit alike.
"""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Producer
from tests.harness import Producer as Phone
from tests.harness import RunningBot, register

CHAT = 7_300_000_001


async def saved_phone(bot: RunningBot) -> tuple[str, bool]:
    async with bot.db.sessions() as session:
        producer = await session.scalar(select(Producer))
    assert producer is not None
    return producer.phone, producer.phone_verified


async def change_phone(phone: Phone, typed: str) -> None:
    await phone.tap("Change")
    await phone.tap("Mobile phone")
    replies = await phone.say(typed)
    assert any("check your answers" in reply.plain for reply in replies)


async def test_phone_typed_at_the_summary_after_sharing_is_not_verified(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register(phone, language="English")  # shares +84912345678 as their own contact
    await change_phone(phone, "0381 234 567")
    await phone.tap("Confirm")
    assert await saved_phone(bot) == ("+84381234567", False)


async def test_phone_typed_in_the_profile_editor_is_not_verified(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register(phone, language="English", confirm=True)
    assert await saved_phone(bot) == ("+84912345678", True)
    await phone.tap("My profile")
    await phone.tap("Edit")
    await change_phone(phone, "0381 234 567")
    await phone.tap("Confirm")
    assert await saved_phone(bot) == ("+84381234567", False)
    assert "✅" not in phone.last.plain  # the profile card no longer shows it as verified


async def test_shared_number_stays_verified_only_while_it_is_the_answer(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register(phone, language="English")
    await change_phone(phone, "0381 234 567")
    await change_phone(phone, "0912 345 678")  # typed, but it is the number shared before
    await phone.tap("Confirm")
    assert await saved_phone(bot) == ("+84912345678", True)


async def test_someone_elses_contact_does_not_verify(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register(phone, language="English")
    await phone.tap("Change")
    await phone.tap("Mobile phone")
    await phone.share_contact("+84381234567", own=False)
    await phone.tap("Confirm")
    assert await saved_phone(bot) == ("+84381234567", False)
