"""Regression: a typed province was matched against current names first and against old names
only when no name came close, so "bac can" (Bắc Kạn, now part of Thái Nguyên) was taken as Bắc
Ninh, the only name near it.

Names and other names are ranked together by how close they are: Thái Nguyên comes first, with
what the 2025 reform did, and the producer chooses.
"""

from __future__ import annotations

from tests.harness import RunningBot
from tests.regressions.places import PROVINCE_QUESTION, reach_province

CHAT = 7_720_000_001


async def test_bac_can_offers_thai_nguyen_first(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await reach_province(phone)
    replies = await phone.say("bac can")
    texts = [reply.plain for reply in replies]
    assert "Since Jul 1, 2025, Bắc Kạn is part of Thái Nguyên." in texts
    assert "Bắc Giang" not in " ".join(texts)  # only the best match is explained
    assert PROVINCE_QUESTION in texts[-1]
    assert phone.buttons()[:2] == ["Thái Nguyên", "Bắc Ninh"]
    replies = await phone.tap("Thai Nguyen")
    assert "Which commune or ward?" in replies[-1].plain
