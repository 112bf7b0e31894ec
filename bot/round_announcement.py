"""The ready-made announcement of a round: its text in Vietnamese and English (the round, its
level and areas, when dossiers are received and what to do), the round's areas as audience,
the buttons "See deadlines" and "My products", and the deadline's end as expiry. The console
offers it when an official announces a round; the CLI may use it too."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.announcement_buttons import button
from bot.i18n import N_, translator
from storage.announcements import AnnouncementValues, Audience
from storage.areas import get_area
from storage.clock import local_time
from storage.models import Round
from storage.rounds import areas_of_round
from storage.states import RoundLevel

__all__ = ["round_announcement", "round_announcement_text"]

LEVELS = {RoundLevel.PROVINCE: N_("province level"), RoundLevel.CENTRAL: N_("central level")}
TEXT = N_(
    "📢 {round} ({level}: {areas}).\n"
    "Dossiers are received from {opens} to {deadline}.\n"
    "Submit your dossier to the commune office by {deadline}; send /deadlines to the bot to "
    "see what your products still miss."
)


def round_announcement_text(
    locale: str, name: str, level: str, areas: list[str], opens: date, deadline: date
) -> str:
    """The announcement of a round in ``locale`` (dates as that language writes them:
    30/10/2027 in Vietnamese)."""
    t = translator(locale)
    return t.gettext(TEXT).format(
        round=name,
        level=t.gettext(LEVELS.get(RoundLevel(level), LEVELS[RoundLevel.PROVINCE])),
        areas=", ".join(areas),
        opens=t.date(opens),
        deadline=t.date(deadline),
    )


async def round_announcement(session: AsyncSession, round_: Round) -> AnnouncementValues:
    """What an announcement of ``round_`` says and whom it is for: the producers of its areas,
    with the deadlines and products buttons, not worth sending after its deadline (23:59,
    Vietnam time)."""
    area_ids = await areas_of_round(session, round_.id)
    names = [a.name for a in [await get_area(session, i) for i in area_ids] if a is not None]
    texts = {
        locale: round_announcement_text(
            locale, round_.name, round_.level, names, round_.opens_on, round_.submission_deadline
        )
        for locale in ("vi", "en")
    }
    return AnnouncementValues(
        text_vi=texts["vi"],
        text_en=texts["en"],
        audience=Audience(area_ids=frozenset(area_ids)),
        buttons=(button("deadlines"), button("products")),
        round_id=round_.id,
        expires_at=local_time(round_.submission_deadline, 23, 59),
    )
