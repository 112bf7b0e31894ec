"""Regression: who may file was not checked (Art. 2.3 of Decision 26/2026).

Associations and tourism management centres may register only community-tourism services
(set 26): they are told so when they choose the type, and another set is refused, however it
was chosen (a typed product name, a group's set button); everyone else may register any set.
"""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Product
from tests.harness import Producer as Phone
from tests.harness import RunningBot, register

CHAT = 7_300_000_701


async def register_association(phone: Phone) -> None:
    await phone.say("/start")
    await phone.tap("English")
    replies = await phone.say("association")
    note = replies[0].plain
    assert "Art. 2.3" in note and "only products of set 26" in note
    for answer in ("Hiep hoi du lich Moc Chau", "0100109106"):
        await phone.say(answer)
    await phone.tap("Skip")
    for answer in ("Nguyen Van An", "Chairman", "Male", "Thai"):
        await phone.say(answer)
    await phone.share_contact()
    for answer in ("bac ninh", "tan son"):
        await phone.say(answer)
    await phone.tap("Skip")
    await phone.tap("Confirm")
    await phone.tap("New product")


async def test_an_association_may_register_only_tourism(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register_association(phone)
    replies = await phone.say("nuoc mam")  # names set 9 alone
    assert "Product set 9 is not open to your organisation" in replies[0].plain
    assert "Art. 2.3" in replies[0].plain
    assert "Which group" in replies[-1].plain
    await phone.tap("Food")
    replies = await phone.tap("8.")
    assert "Product set 8 is not open" in replies[0].plain
    assert "Which product set" in replies[-1].plain
    await phone.tap("Back")
    await phone.tap("Community tourism")
    replies = await phone.tap("26.")
    assert "What is the product called" in replies[-1].plain


async def test_a_cooperative_may_register_tourism_and_food(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register(phone, language="English", confirm=True)
    await phone.tap("New product")
    await phone.tap("Community tourism")
    replies = await phone.tap("26.")
    assert "What is the product called" in replies[-1].plain
    await phone.tap("Back")
    await phone.tap("Back")
    replies = await phone.say("nuoc mam")
    assert "What is the product called" in replies[-1].plain
    for answer in ("Nuoc mam Cua Lo", "Nuoc mam truyen thong 40 do dam", "Chai 500 ml", "2000"):
        await phone.say(answer)
    await phone.tap("Skip")
    await phone.tap("First")
    await phone.tap("Confirm")
    async with bot.db.sessions() as session:
        product = await session.scalar(select(Product))
    assert product is not None and product.product_set == 9
