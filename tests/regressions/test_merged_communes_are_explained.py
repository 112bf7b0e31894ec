"""Regression: communes were found by their current names only, and a name from before the
1 July 2025 reform (when many communes were merged and renamed) got "please check the
spelling", as if the producer had mistyped.

An area list may carry the units merged into each commune (``merged_from``); an old name is then
found and explained ("Since 1 July 2025, Phường Quán Thánh is part of Phường Ba Đình"). Where
the list has no old names, the bot says that communes were merged and renamed, and asks for the
new name.
"""

from __future__ import annotations

from pathlib import Path

from storage.areas import ImportReport, import_areas
from tests.harness import RunningBot
from tests.regressions.bots import any_bot
from tests.regressions.places import reach_province, saved_places

__all__ = ["any_bot"]

CHAT = 7_740_000_001
OLD_NAMES = Path(__file__).parents[1] / "data" / "communes-merged-from.json"
COMMUNE_QUESTION = "Which commune or ward?"


async def test_old_commune_name_is_found_and_explained(any_bot: RunningBot) -> None:
    async with any_bot.db.transaction() as session:
        assert await import_areas(session, OLD_NAMES) == ImportReport(named=2)
    phone = any_bot.producer(CHAT)
    await reach_province(phone)
    await phone.say("ha noi")
    replies = await phone.say("quan thanh")
    assert replies[0].plain == "Since Jul 1, 2025, Phường Quán Thánh is part of Phường Ba Đình."
    assert "e-mail" in replies[-1].plain
    await phone.tap("Skip")
    await phone.tap("Confirm")
    assert await saved_places(any_bot) == ("Thành phố Hà Nội", "Phường Ba Đình")


async def test_unknown_commune_name_mentions_the_reform(any_bot: RunningBot) -> None:
    phone = any_bot.producer(CHAT)
    await reach_province(phone)
    await phone.say("ha noi")
    for typed in ("quan thanh", "xa qqqzzz"):
        replies = await phone.say(typed)
        assert "On Jul 1, 2025 many communes and wards were merged and renamed" in (
            replies[0].plain
        )
        assert "new name" in replies[0].plain
        assert COMMUNE_QUESTION in replies[-1].plain
