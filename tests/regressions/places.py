"""Shared steps of the place-name regression tests: reach the province question, and read the
places a producer's registration saved."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Area, Producer
from tests.harness import Producer as Phone
from tests.harness import RunningBot

__all__ = ["PROVINCE_QUESTION", "reach_province", "saved_places"]

PROVINCE_QUESTION = "Which province or city is the organisation in?"


async def reach_province(phone: Phone) -> None:
    """Answers every question before the province, in English, the way producers type."""
    await phone.say("/start")
    await phone.tap("English")
    await phone.say("enterprise")
    await phone.say("Cong ty TNHH Mat ong Son Dong")
    await phone.say("0100109106")
    await phone.tap("Skip")
    for answer in ("Tran Van Binh", "Director", "Male", "Kinh"):
        await phone.say(answer)
    replies = await phone.share_contact()
    assert PROVINCE_QUESTION in replies[-1].plain


async def saved_places(bot: RunningBot) -> tuple[str, str]:
    """The province and commune names of the (only) registered producer."""
    async with bot.db.sessions() as session:
        producer = await session.scalar(select(Producer))
        assert producer is not None
        province = await session.get(Area, producer.province_id)
        commune = await session.get(Area, producer.commune_id or 0)
    assert province is not None and commune is not None
    return province.name, commune.name
