"""Regression: a province merged away on 1 July 2025 was silently replaced by the province that
took it in ("bac giang" became Bắc Ninh without a word).

The answer is still taken (the old name matches exactly), and the bot says what the reform did.
"""

from __future__ import annotations

import pytest

from tests.harness import RunningBot, register
from tests.regressions.places import reach_province, saved_places

CHAT = 7_730_000_001


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("bac giang", "Since Jul 1, 2025, Bắc Giang is part of Bắc Ninh."),
        ("Bắc Giang", "Since Jul 1, 2025, Bắc Giang is part of Bắc Ninh."),
        ("tinh bac giang", "Since Jul 1, 2025, Bắc Giang is part of Bắc Ninh."),
        ("vung tau", "Since Jul 1, 2025, Bà Rịa - Vũng Tàu is part of Hồ Chí Minh."),
    ],
)
async def test_merged_province_is_explained_and_taken(
    bot: RunningBot, typed: str, said: str
) -> None:
    phone = bot.producer(CHAT)
    await reach_province(phone)
    replies = await phone.say(typed)
    assert replies[0].plain == said
    assert "Which commune or ward?" in replies[-1].plain


async def test_merged_province_in_vietnamese(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register(phone)  # answers "bac ninh"
    await phone.tap("Sua")
    await phone.tap("Tinh / thanh pho")
    replies = await phone.say("bac giang")
    assert "Bắc Giang đã sáp nhập vào Bắc Ninh" in replies[0].plain
    await phone.say("tan son")
    await phone.tap("Xac nhan")
    assert await saved_places(bot) == ("Tỉnh Bắc Ninh", "Xã Tân Sơn")
