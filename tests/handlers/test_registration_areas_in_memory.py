"""Registration's province and commune steps read the areas from memory (storage/area_cache.py),
on SQLite and PostgreSQL: one load of the areas in the process, then no statement on the
``areas`` table in a whole registration, a merged province and a misspelt commune included, nor
in the profile card or the office offered for a question; and a commune imported meanwhile is
known at the next answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, select

from storage.areas import import_areas
from storage.models import Area, Producer
from tests.harness import RunningBot
from tests.regressions.bots import any_bot  # noqa: F401
from tests.regressions.places import PROVINCE_QUESTION, reach_province

CHAT = 7_720_000_001
COMMUNE_QUESTION = "Which commune or ward?"
AREAS = re.compile(r"\b(FROM|JOIN)\s+areas\b", re.IGNORECASE)


@contextmanager
def area_statements(bot: RunningBot) -> Iterator[list[str]]:
    """The statements on the ``areas`` table the bot's database runs in the block."""
    seen: list[str] = []

    def record(*args: object) -> None:
        if AREAS.search(str(args[2])):
            seen.append(str(args[2]))

    engines = {engine.sync_engine for engine in bot.app.db.engines}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def places(bot: RunningBot) -> list[tuple[str, str]]:
    """The province and commune names of the registered producers, in order."""
    async with bot.db.sessions() as session:
        producers = (await session.scalars(select(Producer).order_by(Producer.id))).all()
        return [
            (area.name, commune.name)
            for p in producers
            if (area := await session.get(Area, p.province_id))
            and (commune := await session.get(Area, p.commune_id or 0))
        ]


async def test_place_steps_read_no_areas_after_one_load(
    any_bot: RunningBot,  # noqa: F811
) -> None:
    bot = any_bot
    first = bot.producer(CHAT)
    with area_statements(bot) as warming:
        await reach_province(first)  # the province question lists the provinces: one load
        await first.say("bac ninh")
        await first.say("luc ngan")
        await first.tap("Skip")
        await first.tap("Confirm")
    assert len(warming) == 1, warming

    second = bot.producer(CHAT + 1)
    with area_statements(bot) as seen:
        await reach_province(second)
        replies = await second.say("bac giang")  # merged into Bắc Ninh
        assert "Bắc Giang is part of Bắc Ninh" in replies[0].plain
        replies = await second.say("kin bac")  # misspelt: offered, with the province's name
        assert "Bắc Ninh" in replies[0].plain
        assert second.buttons()[0] == "Phường Kinh Bắc"
        replies = await second.tap("Phường Kinh Bắc")
        await second.tap("Skip")
        summary = second.last.plain
        assert "Tỉnh Bắc Ninh" in summary and "Phường Kinh Bắc" in summary
        await second.tap("Confirm")
        replies = await second.tap("My profile")
        assert "Phường Kinh Bắc" in replies[-1].plain and "Tỉnh Bắc Ninh" in replies[-1].plain
        replies = await second.say("talk to an official")
        assert "UBND phường Kinh Bắc" in replies[-1].plain
    assert seen == []
    assert await places(bot) == [
        ("Tỉnh Bắc Ninh", "Xã Lục Ngạn"),
        ("Tỉnh Bắc Ninh", "Phường Kinh Bắc"),
    ]


async def test_a_commune_imported_meanwhile_is_known_at_the_next_answer(
    any_bot: RunningBot,  # noqa: F811
    tmp_path: Path,
) -> None:
    bot = any_bot
    phone = bot.producer(CHAT + 2)
    await reach_province(phone)
    replies = await phone.say("bac ninh")
    assert COMMUNE_QUESTION in replies[-1].plain
    replies = await phone.say("xa thu nghiem moi")
    assert "could not find" in replies[0].plain

    new = tmp_path / "new-commune.csv"
    new.write_text("code,name,parent_code\n99001,Xã Thử Nghiệm Mới,24\n", encoding="utf-8")
    async with bot.db.transaction() as session:
        await import_areas(session, new)
    with area_statements(bot) as seen:
        replies = await phone.say("xa thu nghiem moi")
    assert len(seen) == 1  # loaded again
    assert "E-mail" in replies[-1].plain or "e-mail" in replies[-1].plain
    await phone.tap("Skip")
    assert "Xã Thử Nghiệm Mới" in phone.last.plain
    assert PROVINCE_QUESTION not in phone.last.plain
