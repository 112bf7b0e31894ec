"""Choosing the product set by typing: the chosen set is announced, several are offered."""

from __future__ import annotations

from bot.rules import rules
from tests.harness import Producer, RunningBot, register

# Zalo's two channels differ from Telegram alike here: one of them is enough.
CHANNELS = ("telegram", "zalo_oa")
CHAT = 7_200_000_301


async def new_product(phone: Producer) -> None:
    await register(phone, language="English", confirm=True)
    await phone.tap("New product")


async def test_a_name_typed_at_the_group_question_announces_the_set(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await new_product(phone)
    replies = await phone.say("nuoc mam")
    texts = [r.plain for r in replies]
    assert any(
        "Product set chosen: 9. Sauces and fish sauce. If that is wrong, tap ⬅️ Back." in t
        for t in texts
    ), texts
    assert "called" in texts[-1]


async def test_a_name_typed_at_the_set_question_announces_the_set(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await new_product(phone)
    await phone.tap("Drinks")
    replies = await phone.say("ruou vang")
    texts = [r.plain for r in replies]
    assert any("Product set chosen: 15. Other alcoholic drinks." in t for t in texts), texts
    replies = await phone.tap("Back")
    assert "Now: 15. Other alcoholic drinks" in replies[-1].plain


async def test_a_tapped_set_is_not_announced_again(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await new_product(phone)
    await phone.tap("Drinks")
    replies = await phone.tap("14.")
    assert not any("chosen" in r.plain for r in replies)


async def test_many_matches_offer_eight_sets_best_first(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await new_product(phone)
    await phone.say("thuc pham")  # the food group and set 18, functional food: 14 sets
    numbered = [label.split(".")[0] for label in phone.buttons() if label[0].isdigit()]
    assert len(rules().find_product_sets("thuc pham")) > 8
    assert numbered == [str(s.number) for s in rules().find_product_sets("thuc pham")[:8]]
