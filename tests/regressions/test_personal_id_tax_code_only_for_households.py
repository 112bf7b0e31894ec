"""Regression: any organisation could give a person's 12-digit id as its tax code.

Only households (Art. 2.3: production households, registered household businesses) may; a
cooperative, enterprise, farm… has a 10-digit tax code (13 for a branch). When the type changes
on the summary, a tax code that no longer fits is asked again.
"""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Producer
from tests.harness import Producer as Phone
from tests.harness import RunningBot

CHAT = 7_300_000_601
PERSONAL_ID = "001190012345"


async def answer_until_the_representative(phone: Phone, org_type: str, tax_code: str) -> list:
    await phone.say("/start")
    await phone.tap("English")
    await phone.say(org_type)
    await phone.say("Nguyen Van An")
    return await phone.say(tax_code)


async def finish(phone: Phone) -> None:
    await phone.tap("Skip")
    for answer in ("Nguyen Van An", "Household head", "Male", "Kinh"):
        await phone.say(answer)
    await phone.share_contact()
    for answer in ("bac ninh", "tan son"):
        await phone.say(answer)
    await phone.tap("Skip")


async def stored(bot: RunningBot) -> Producer | None:
    async with bot.db.sessions() as session:
        return await session.scalar(select(Producer))


async def test_a_cooperative_is_told_it_has_a_ten_digit_tax_code(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    replies = await answer_until_the_representative(phone, "cooperative", PERSONAL_ID)
    assert "only a household" in replies[0].plain
    assert "For “Cooperative” the tax code has 10 digits" in replies[0].plain
    assert "tax code" in replies[-1].plain  # asked again
    replies = await phone.say("0100109106")
    assert "business registration number" in replies[-1].plain


async def test_a_household_may_give_the_personal_id(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    replies = await answer_until_the_representative(phone, "production household", PERSONAL_ID)
    assert "business registration number" in replies[-1].plain
    await finish(phone)
    await phone.tap("Confirm")
    producer = await stored(bot)
    assert producer is not None
    assert (producer.org_type, producer.tax_code) == ("production_household", PERSONAL_ID)


async def test_changing_the_type_asks_the_tax_code_again(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await answer_until_the_representative(phone, "registered household business", PERSONAL_ID)
    await finish(phone)
    await phone.tap("Confirm")
    await phone.tap("My profile")
    await phone.tap("Edit")
    await phone.tap("Change")
    await phone.tap("Organisation type")
    replies = await phone.tap("Production household")  # still a household: the id still fits
    assert "check your answers" in replies[-1].plain
    await phone.tap("Change")
    await phone.tap("Organisation type")
    replies = await phone.tap("Farm")
    assert "only a household" in replies[0].plain
    assert "tax code" in replies[-1].plain and "Now:" not in replies[-1].plain
    replies = await phone.say("0100109106")
    assert "check your answers" in replies[-1].plain
    await phone.tap("Confirm")
    producer = await stored(bot)
    assert producer is not None
    assert (producer.org_type, producer.tax_code) == ("farm", "0100109106")
