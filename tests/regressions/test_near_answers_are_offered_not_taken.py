"""Regression: any single near match was taken as the answer to a choice question.

``handlers/forms.py pick`` took the only candidate that resembled what was typed: "doanh ngiep"
(a typo) became an enterprise without a question. Only an answer that names a button (see
test_typed_answers_find_their_button) is taken; what only resembles one, or names several, is
offered as buttons and the question stays.
"""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Producer
from tests.harness import Producer as Phone
from tests.harness import RunningBot

CHAT = 7_300_000_501


async def start(phone: Phone) -> None:
    await phone.say("/start")
    await phone.tap("English")


async def test_a_typo_is_offered_not_taken(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await start(phone)
    replies = await phone.say("smal enterprize")
    assert "Which one do you mean" in replies[0].plain
    assert "What kind of organisation" in replies[-1].plain  # still the same question
    assert phone.buttons()[0] == "Small or medium enterprise"
    replies = await phone.tap("Small or medium enterprise")
    assert "full name" in replies[-1].plain


async def test_words_of_several_buttons_offer_them_all(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await start(phone)
    replies = await phone.say("household")
    assert "Which one do you mean" in replies[0].plain
    offered = phone.buttons()
    assert "Production household" in offered and "Household business (registered)" in offered
    assert "Cooperative" not in offered
    replies = await phone.say("registered household business")
    assert "full name" in replies[-1].plain


async def test_an_ethnic_group_typed_nearly_is_offered(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await start(phone)
    for answer in ("cooperative", "HTX Luc Ngan", "0100109106"):
        await phone.say(answer)
    await phone.tap("Skip")
    for answer in ("Tran Van Binh", "Director", "Male"):
        await phone.say(answer)
    replies = await phone.say("khome")
    assert "Which one do you mean" in replies[0].plain
    assert "Khmer" in phone.buttons()
    replies = await phone.tap("Khmer")
    assert "mobile number" in replies[-1].plain
    async with bot.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Producer)) == 0
