"""Regression: every short answer was told "That is too short; please type the full name."

The product's description, packaging, yearly output and raw-material area shared the name's
check and its message, and "15000" was refused as a yearly output for having no letters. Each
field now says what it wants; a yearly output is a number, with or without its unit.
"""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Product
from tests.harness import RunningBot, register

CHAT = 7_300_000_801
NAME_MESSAGE = "full name"


async def test_product_fields_explain_themselves(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register(phone, language="English", confirm=True)
    await phone.tap("New product")
    await phone.say("nuoc mam")
    replies = await phone.say("N")
    assert NAME_MESSAGE in replies[0].plain  # the product's name: a name
    await phone.say("Nuoc mam Cua Lo")
    replies = await phone.say("Ngon")
    assert NAME_MESSAGE not in replies[0].plain
    assert "what the product is" in replies[0].plain
    await phone.say("Nuoc mam truyen thong 40 do dam")
    replies = await phone.say("-")
    assert NAME_MESSAGE not in replies[0].plain and "how it is packed" in replies[0].plain
    await phone.say("Chai thuy tinh 500 ml")
    replies = await phone.say("nhieu lam")
    assert NAME_MESSAGE not in replies[0].plain and "as a number" in replies[0].plain
    replies = await phone.say("15000")
    assert "raw materials" in replies[-1].plain  # accepted: the next question
    replies = await phone.say("o")
    assert NAME_MESSAGE not in replies[0].plain and "where the raw materials" in replies[0].plain
    await phone.say("Vung bien Cua Lo")
    await phone.tap("First")
    await phone.tap("Confirm")
    async with bot.db.sessions() as session:
        product = await session.scalar(select(Product))
    assert product is not None and product.yearly_output == "15000"


async def test_a_position_is_not_a_name(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await phone.say("/start")
    await phone.tap("English")
    for answer in ("cooperative", "HTX Luc Ngan", "0100109106"):
        await phone.say(answer)
    await phone.tap("Skip")
    await phone.say("Tran Van Binh")
    replies = await phone.say("a")
    assert NAME_MESSAGE not in replies[0].plain and "position in full" in replies[0].plain
