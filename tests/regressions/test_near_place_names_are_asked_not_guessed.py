"""Regression: a province name that matched nothing exactly was taken when it was the only near
match, and saved without a question: "ha tay" became Tỉnh Hà Tĩnh.

Only an exact match (after folding: name with or without unit word, code, exact alias) is taken;
any other match, even a single one, is offered as a choice. "ha tay" is an exact old name: Hà
Tây has been part of Hà Nội since 1 August 2008.
"""

from __future__ import annotations

import pytest

from tests.harness import RunningBot
from tests.regressions.places import PROVINCE_QUESTION, reach_province, saved_places

CHAT = 7_710_000_001


@pytest.mark.parametrize(
    ("typed", "offered"), [("son laa", "Sơn La"), ("lao kai", "Lào Cai"), ("gia lay", "Gia Lai")]
)
async def test_a_single_near_province_is_offered_not_taken(
    bot: RunningBot, typed: str, offered: str
) -> None:
    phone = bot.producer(CHAT)
    await reach_province(phone)
    replies = await phone.say(typed)
    assert "Which one do you mean?" in replies[0].plain
    assert PROVINCE_QUESTION in replies[-1].plain  # asked again, nothing saved
    assert phone.buttons()[0] == offered
    replies = await phone.tap(offered)
    assert "Which commune or ward?" in replies[-1].plain


async def test_ha_tay_is_ha_noi_not_ha_tinh(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await reach_province(phone)
    replies = await phone.say("ha tay")
    assert "Since Aug 1, 2008, Hà Tây is part of Hà Nội." in replies[0].plain
    assert "Which commune or ward?" in replies[-1].plain
    await phone.say("ba dinh")
    await phone.tap("Skip")
    await phone.tap("Confirm")
    assert await saved_places(bot) == ("Thành phố Hà Nội", "Phường Ba Đình")
