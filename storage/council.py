"""A round's evaluation council: who sits on it (officials with the council role, one of them
the chair, if any), who may manage it, and what each member has scored so far.

Managing a council (adding and removing members, closing the scores — see
:mod:`storage.score_sheets`) is for administrators and for province officials whose areas
include one the round covers; the chair may close the scores too. Members see the council of
their round; everyone else finds no such page. Every change is audited and refused once the
round's scores are closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import audit
from storage.clock import Clock
from storage.models import CouncilMember, Official, Round, RoundArea, RoundEntry, ScoreSheet
from storage.officials import Scope
from storage.states import ActorKind, EntryStatus, OfficialRole

__all__ = [
    "CouncilError",
    "CouncilSeat",
    "MemberProgress",
    "add_member",
    "candidates",
    "council_of",
    "may_manage",
    "progress_of",
    "remove_member",
    "rounds_of_member",
    "seat_of",
]


class CouncilError(ValueError):
    """A change to a council that cannot be made; ``reason`` is one of ``closed``,
    ``not_council``, ``member``, ``not_member``, ``has_sheets``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CouncilSeat:
    """A member of a round's council."""

    official: Official
    chair: bool
    added_at: datetime


@dataclass(frozen=True)
class MemberProgress:
    """How far one member has scored the entries in review."""

    seat: CouncilSeat
    submitted: int
    drafts: int
    to_score: int  # entries in review


async def may_manage(session: AsyncSession, scope: Scope, round_: Round) -> bool:
    """Whether the official manages the round's council: an administrator, or a province
    official with one of the round's areas in their provinces."""
    if scope.everything:
        return True
    if scope.role is not OfficialRole.PROVINCE:
        return False
    areas = await session.scalars(select(RoundArea.area_id).where(RoundArea.round_id == round_.id))
    for area_id in areas:
        if await scope.may_see_area(session, area_id):
            return True
    return False


async def seat_of(session: AsyncSession, round_id: int, official_id: int) -> CouncilMember | None:
    """The official's seat on the round's council, or None."""
    return await session.get(CouncilMember, (round_id, official_id))


async def council_of(session: AsyncSession, round_id: int) -> list[CouncilSeat]:
    """The round's council, the chair first, then by name."""
    rows = await session.execute(
        select(CouncilMember, Official)
        .join(Official, Official.id == CouncilMember.official_id)
        .where(CouncilMember.round_id == round_id)
        .order_by(CouncilMember.chair.desc(), Official.display_name, Official.id)
    )
    return [CouncilSeat(official, member.chair, member.added_at) for member, official in rows]


async def candidates(session: AsyncSession, round_id: int) -> list[Official]:
    """Officials with the council role, not disabled, not yet on the round's council."""
    seated = select(CouncilMember.official_id).where(CouncilMember.round_id == round_id)
    rows = await session.scalars(
        select(Official)
        .where(
            Official.council.is_(True),
            Official.disabled_at.is_(None),
            Official.id.not_in(seated),
        )
        .order_by(Official.display_name, Official.id)
    )
    return list(rows)


async def rounds_of_member(session: AsyncSession, official_id: int) -> list[tuple[Round, bool]]:
    """The rounds whose council the official sits on (and whether they chair it), newest
    first."""
    rows = await session.execute(
        select(Round, CouncilMember.chair)
        .join(CouncilMember, CouncilMember.round_id == Round.id)
        .where(CouncilMember.official_id == official_id)
        .order_by(Round.opens_on.desc(), Round.id.desc())
    )
    return [(r, bool(chair)) for r, chair in rows]


def _open(round_: Round) -> None:
    if round_.scores_closed_at is not None:
        raise CouncilError("closed")


async def add_member(
    session: AsyncSession,
    round_: Round,
    official_id: int,
    *,
    chair: bool,
    actor_id: int,
    clock: Clock,
) -> CouncilMember:
    """Seat an official with the council role on the round's council (audited). Made chair,
    they take the place of the chair there was (who stays a member)."""
    _open(round_)
    official = await session.get(Official, official_id)
    if official is None or not official.council or official.disabled_at is not None:
        raise CouncilError("not_council")
    if await seat_of(session, round_.id, official_id) is not None:
        raise CouncilError("member")
    if chair:
        for seat in await session.scalars(
            select(CouncilMember).where(
                CouncilMember.round_id == round_.id, CouncilMember.chair.is_(True)
            )
        ):
            seat.chair = False
    member = CouncilMember(
        round_id=round_.id, official_id=official_id, chair=chair, added_at=clock.now()
    )
    session.add(member)
    await session.flush()
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=actor_id,
        action="council.add",
        entity="round",
        entity_id=round_.id,
        official_id=official_id,
        chair=chair,
        at=clock.now(),
    )
    return member


async def remove_member(
    session: AsyncSession, round_: Round, official_id: int, *, actor_id: int, clock: Clock
) -> None:
    """Take a member off the round's council (audited), with their draft sheets. A member who
    has submitted a sheet stays: their scores count."""
    _open(round_)
    member = await seat_of(session, round_.id, official_id)
    if member is None:
        raise CouncilError("not_member")
    entries = select(RoundEntry.id).where(RoundEntry.round_id == round_.id)
    mine = and_(ScoreSheet.official_id == official_id, ScoreSheet.entry_id.in_(entries))
    if await session.scalar(
        select(ScoreSheet.id).where(mine, ScoreSheet.submitted_at.is_not(None))
    ):
        raise CouncilError("has_sheets")
    drafts = await session.execute(delete(ScoreSheet).where(mine))
    await session.delete(member)
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=actor_id,
        action="council.remove",
        entity="round",
        entity_id=round_.id,
        official_id=official_id,
        drafts_removed=getattr(drafts, "rowcount", 0),
        at=clock.now(),
    )


async def progress_of(session: AsyncSession, round_id: int) -> list[MemberProgress]:
    """For each member, how many entries in review they have submitted a sheet for, and how
    many they hold as drafts."""
    seats = await council_of(session, round_id)
    in_review = select(RoundEntry.id).where(
        RoundEntry.round_id == round_id, RoundEntry.status == EntryStatus.IN_REVIEW
    )
    to_score = int(
        await session.scalar(select(func.count()).select_from(in_review.subquery())) or 0
    )
    rows = await session.execute(
        select(
            ScoreSheet.official_id,
            func.count(ScoreSheet.submitted_at),
            func.count(),
        )
        .where(ScoreSheet.entry_id.in_(in_review))
        .group_by(ScoreSheet.official_id)
    )
    counts = {official_id: (int(done), int(total)) for official_id, done, total in rows}
    found = []
    for seat in seats:
        done, total = counts.get(seat.official.id, (0, 0))
        found.append(MemberProgress(seat, submitted=done, drafts=total - done, to_score=to_score))
    return found
