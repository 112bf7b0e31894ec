"""Evaluation rounds: creating and changing them (audited; ``version`` tells a second editor),
the areas each covers, its phase, which rounds concern a producer, dossiers filed to a round,
their assignment to officials, a round's board, and who is still to be reminded.

A round covers areas (provinces or communes, by id; matched by code, so a renamed area keeps
its rounds): a producer is covered when their commune or their province is listed. The phase is
never stored: :func:`phase` reads it from the calendar (Vietnam local dates) and from
``scores_closed_at`` / ``published_at``. A dossier enters a round when it is submitted to the
open round covering its producer (:func:`submission_round`, :func:`enter_round`, in the
submission's transaction); when no round was ever set up for the producer's area, dossiers are
filed without a round and officials add them from the board (:func:`add_to_round`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.audit import audit
from storage.models import (
    Area,
    Dossier,
    Official,
    OfficialArea,
    Producer,
    Product,
    Round,
    RoundArea,
    RoundEntry,
)
from storage.officials import Scope
from storage.states import (
    EDITABLE_DOSSIER,
    ActorKind,
    DossierStatus,
    EntryStatus,
    OfficialRole,
    RoundLevel,
    RoundPhase,
)
from storage.versions import claim_version

__all__ = [
    "DEFAULT_REMINDER_DAYS",
    "Board",
    "BoardRow",
    "RoundError",
    "RoundValues",
    "StaleRound",
    "SubmissionRound",
    "Unfiled",
    "add_to_round",
    "areas_of_round",
    "assign",
    "assignable_officials",
    "board",
    "covered_by",
    "covering",
    "create_round",
    "enter_round",
    "entry_counts",
    "entry_of_dossier",
    "get_round",
    "list_rounds",
    "may_manage",
    "next_round_for",
    "open_round_for",
    "phase",
    "producers_to_remind",
    "producers_with_unfiled_dossiers",
    "reminder_days",
    "round_in_scope",
    "rounds_for_producer",
    "submission_round",
    "unfiled_dossiers",
    "update_round",
]

NAME_LIMIT = 200
YEARS = range(2000, 2101)
PAGE_SIZE = 50
DEFAULT_REMINDER_DAYS = (14, 7, 1)
# Dossiers an official may add to a round: filed, and not refused.
ADDABLE = (
    DossierStatus.SUBMITTED,
    DossierStatus.HAS_ISSUES,
    DossierStatus.EDITED,
    DossierStatus.APPROVED,
)


class RoundError(ValueError):
    """A round (or a change to one) that cannot be stored: ``field`` names the field that is
    wrong, ``problem`` the kind of problem (the field's name, or e.g. ``order``)."""

    def __init__(self, field: str, message: str, problem: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.problem = problem or field


class StaleRound(RoundError):
    """The round or entry changed since the official opened the page; nothing was saved."""

    def __init__(self, entity: str, entity_id: int, expected: int) -> None:
        super().__init__("version", f"{entity} {entity_id} is no longer at version {expected}")
        self.entity = entity
        self.entity_id = entity_id
        self.expected = expected


@dataclass(frozen=True)
class RoundValues:
    """What an official enters for a round (checked by :func:`create_round` and
    :func:`update_round`)."""

    level: RoundLevel
    name: str
    opens_on: date
    submission_deadline: date
    evaluation_deadline: date
    results_on: date
    ceremony_on: date | None
    area_ids: tuple[int, ...]


# --- the phase -------------------------------------------------------------------------------


def phase(round_: Round, today: date) -> RoundPhase:
    """Where the round stands on ``today`` (a Vietnam local date): the one definition."""
    if round_.published_at is not None:
        return RoundPhase.PUBLISHED
    if round_.scores_closed_at is not None:
        return RoundPhase.SCORED
    if today < round_.opens_on:
        return RoundPhase.UPCOMING
    if today <= round_.submission_deadline:
        return RoundPhase.OPEN
    return RoundPhase.EVALUATING


def _takes_dossiers(today: date) -> ColumnElement[bool]:
    """SQL: rounds open on ``today`` (as :func:`phase` says ``open``)."""
    return and_(
        Round.opens_on <= today,
        Round.submission_deadline >= today,
        Round.scores_closed_at.is_(None),
        Round.published_at.is_(None),
    )


# --- checking and storing ---------------------------------------------------------------------


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > NAME_LIMIT:
        raise RoundError("name", f"a round's name has 1 to {NAME_LIMIT} characters")
    return cleaned


def _check_calendar(values: RoundValues) -> None:
    """Each date within the years kept, and in the order of the calendar CHECK."""
    named = [
        ("opens_on", values.opens_on),
        ("submission_deadline", values.submission_deadline),
        ("evaluation_deadline", values.evaluation_deadline),
        ("results_on", values.results_on),
    ]
    for field, day in [*named, ("ceremony_on", values.ceremony_on)]:
        if day is not None and day.year not in YEARS:
            raise RoundError(field, f"{field} {day} is outside {YEARS.start}-{YEARS.stop - 1}")
    for (_, earlier), (field, later) in pairwise(named):
        if later < earlier:
            raise RoundError(field, f"{field} {later} is before {earlier}", "order")
    if values.ceremony_on is not None and values.ceremony_on < values.results_on:
        raise RoundError("ceremony_on", "the ceremony is before the results", "order")


async def _check_areas(session: AsyncSession, scope: Scope, area_ids: Sequence[int]) -> None:
    """At least one area; each a province or a commune the official answers for."""
    if not area_ids:
        raise RoundError("areas", "a round covers at least one area", "no_areas")
    for area_id in area_ids:
        if await session.get(Area, area_id) is None or not await scope.may_see_area(
            session, area_id
        ):
            raise RoundError("areas", f"area {area_id} is not one of the official's", "areas")


def may_manage(scope: Scope) -> bool:
    """Province officials and administrators create and change rounds; commune officials
    read the rounds that cover their communes."""
    return scope.role in (OfficialRole.PROVINCE, OfficialRole.ADMIN)


def _refuse_unless_manager(scope: Scope) -> None:
    if not may_manage(scope):
        raise RoundError("role", "only province officials and administrators manage rounds")


async def _set_areas(session: AsyncSession, round_id: int, area_ids: Sequence[int]) -> None:
    existing = set(await areas_of_round(session, round_id))
    wanted = set(area_ids)
    for area_id in existing - wanted:
        row = await session.get(RoundArea, (round_id, area_id))
        if row is not None:
            await session.delete(row)
    session.add_all(RoundArea(round_id=round_id, area_id=a) for a in sorted(wanted - existing))


def _details(values: RoundValues) -> dict[str, Any]:
    return {
        "level": str(values.level),
        "name": values.name,
        "opens_on": values.opens_on.isoformat(),
        "submission_deadline": values.submission_deadline.isoformat(),
        "evaluation_deadline": values.evaluation_deadline.isoformat(),
        "results_on": values.results_on.isoformat(),
        "ceremony_on": values.ceremony_on.isoformat() if values.ceremony_on else None,
        "areas": sorted(values.area_ids),
    }


async def _claim(
    session: AsyncSession, model: type[Round] | type[RoundEntry], row_id: int, version: int
) -> None:
    """Moves the row from ``version`` to the next in one conditional UPDATE, or raises
    :class:`StaleRound` (another official saved first: their transaction holds or changed it)."""
    if not await claim_version(session, model, row_id, version):
        raise StaleRound(model.__tablename__, row_id, version)


async def create_round(
    session: AsyncSession,
    scope: Scope,
    values: RoundValues,
    *,
    rules_version: str,
    now: datetime,
) -> Round:
    """A new round with its areas (audited, naming the official)."""
    _refuse_unless_manager(scope)
    name = _clean_name(values.name)
    _check_calendar(values)
    await _check_areas(session, scope, values.area_ids)
    round_ = Round(
        level=values.level,
        name=name,
        year=values.submission_deadline.year,
        opens_on=values.opens_on,
        submission_deadline=values.submission_deadline,
        evaluation_deadline=values.evaluation_deadline,
        results_on=values.results_on,
        ceremony_on=values.ceremony_on,
        rules_version=rules_version,
        created_by=scope.official_id,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(round_)
    await session.flush()
    await _set_areas(session, round_.id, values.area_ids)
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=scope.official_id,
        action="round.created",
        entity="round",
        entity_id=round_.id,
        at=now,
        rules_version=rules_version,
        **_details(values),
    )
    return round_


async def update_round(
    session: AsyncSession,
    scope: Scope,
    round_id: int,
    values: RoundValues,
    *,
    version: int,
    now: datetime,
) -> Round:
    """The official's changes to a round shown to them at ``version``; raises
    :class:`StaleRound` when it changed since (another official saved first)."""
    _refuse_unless_manager(scope)
    name = _clean_name(values.name)
    _check_calendar(values)
    await _check_areas(session, scope, values.area_ids)
    if not await _all_areas_in_scope(session, scope, round_id):
        raise RoundError("areas", "the round covers areas outside the official's", "areas")
    await _claim(session, Round, round_id, version)
    round_ = await session.get_one(Round, round_id, populate_existing=True)
    round_.level = values.level
    round_.name = name
    round_.year = values.submission_deadline.year
    round_.opens_on = values.opens_on
    round_.submission_deadline = values.submission_deadline
    round_.evaluation_deadline = values.evaluation_deadline
    round_.results_on = values.results_on
    round_.ceremony_on = values.ceremony_on
    round_.updated_at = now
    await _set_areas(session, round_id, values.area_ids)
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=scope.official_id,
        action="round.updated",
        entity="round",
        entity_id=round_id,
        at=now,
        version=version + 1,
        **_details(values),
    )
    return round_


# --- reading rounds ---------------------------------------------------------------------------


async def get_round(session: AsyncSession, round_id: int) -> Round | None:
    return await session.get(Round, round_id)


async def areas_of_round(session: AsyncSession, round_id: int) -> list[int]:
    """The ids of the areas the round covers."""
    rows = await session.scalars(
        select(RoundArea.area_id).where(RoundArea.round_id == round_id).order_by(RoundArea.area_id)
    )
    return list(rows)


async def _all_areas_in_scope(session: AsyncSession, scope: Scope, round_id: int) -> bool:
    for area_id in await areas_of_round(session, round_id):
        if not await scope.may_see_area(session, area_id):
            return False
    return True


def _visible(scope: Scope) -> ColumnElement[bool]:
    """SQL: the rounds an official may see: one covering an area of theirs, an area inside one
    (a commune of their province), or the province of one of their communes."""
    if scope.everything:
        return Round.id.is_not(None)
    listed, parent = aliased(Area), aliased(Area)
    mine, mine_parent = aliased(Area), aliased(Area)
    provinces_of_mine = (
        select(mine_parent.code)
        .join(mine, mine.parent_id == mine_parent.id)
        .where(mine.code.in_(scope.codes))
    )
    covered = (
        select(RoundArea.round_id)
        .join(listed, listed.id == RoundArea.area_id)
        .outerjoin(parent, parent.id == listed.parent_id)
        .where(
            or_(
                listed.code.in_(scope.codes),
                parent.code.in_(scope.codes),
                listed.code.in_(provinces_of_mine),
            )
        )
    )
    return Round.id.in_(covered)


async def list_rounds(session: AsyncSession, scope: Scope) -> list[Round]:
    """The rounds the official may see, latest deadline first."""
    rows = await session.scalars(
        select(Round)
        .where(_visible(scope))
        .order_by(Round.submission_deadline.desc(), Round.id.desc())
    )
    return list(rows)


async def round_in_scope(session: AsyncSession, scope: Scope, round_id: int) -> Round | None:
    """The round if the official may see it, else None (a page answers 404)."""
    return await session.scalar(select(Round).where(Round.id == round_id, _visible(scope)))


def covering(producer: Producer) -> ColumnElement[bool]:
    """SQL: the rounds covering ``producer`` (their commune or province is listed, by code)."""
    listed, own = aliased(Area), aliased(Area)
    ids = [producer.province_id] + ([producer.commune_id] if producer.commune_id else [])
    codes = select(own.code).where(own.id.in_(ids))
    return Round.id.in_(
        select(RoundArea.round_id)
        .join(listed, listed.id == RoundArea.area_id)
        .where(listed.code.in_(codes))
    )


async def rounds_for_producer(
    session: AsyncSession, producer: Producer, today: date
) -> list[Round]:
    """The rounds covering the producer that are upcoming or open on ``today``, the soonest
    deadline first."""
    rows = await session.scalars(
        select(Round)
        .where(
            covering(producer),
            Round.submission_deadline >= today,
            Round.scores_closed_at.is_(None),
            Round.published_at.is_(None),
        )
        .order_by(Round.submission_deadline, Round.id)
    )
    return list(rows)


async def open_round_for(
    session: AsyncSession,
    producer: Producer,
    today: date,
    level: RoundLevel = RoundLevel.PROVINCE,
) -> Round | None:
    """The round at ``level`` covering the producer that takes dossiers on ``today`` (the
    soonest deadline when several do), or None."""
    return await session.scalar(
        select(Round)
        .where(covering(producer), Round.level == level, _takes_dossiers(today))
        .order_by(Round.submission_deadline, Round.id)
        .limit(1)
    )


async def next_round_for(
    session: AsyncSession,
    producer: Producer,
    today: date,
    level: RoundLevel = RoundLevel.PROVINCE,
) -> Round | None:
    """The next round at ``level`` covering the producer that opens after ``today``, or None."""
    return await session.scalar(
        select(Round)
        .where(covering(producer), Round.level == level, Round.opens_on > today)
        .order_by(Round.opens_on, Round.id)
        .limit(1)
    )


async def _any_round_for(session: AsyncSession, producer: Producer, level: RoundLevel) -> bool:
    found = await session.scalar(
        select(Round.id).where(covering(producer), Round.level == level).limit(1)
    )
    return found is not None


# --- submission -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmissionRound:
    """Where a dossier submitted now goes: ``round`` (open now) or, when it is already in a
    round (corrections), ``entry``; ``refused`` after a deadline with no round open (then
    ``next_round``, if one is set up); neither when no round was ever set up for the
    producer's area (filed without a round, as before rounds existed)."""

    round: Round | None = None
    entry: RoundEntry | None = None
    refused: bool = False
    next_round: Round | None = None


async def entry_of_dossier(session: AsyncSession, dossier_id: int) -> RoundEntry | None:
    return await session.scalar(select(RoundEntry).where(RoundEntry.dossier_id == dossier_id))


async def submission_round(
    session: AsyncSession, dossier: Dossier, producer: Producer, today: date
) -> SubmissionRound:
    """Where a province-level submission of ``dossier`` goes on ``today``."""
    entry = await entry_of_dossier(session, dossier.id)
    if entry is not None:
        return SubmissionRound(entry=entry)
    found = await open_round_for(session, producer, today)
    if found is not None:
        return SubmissionRound(round=found)
    if not await _any_round_for(session, producer, RoundLevel.PROVINCE):
        return SubmissionRound()
    return SubmissionRound(refused=True, next_round=await next_round_for(session, producer, today))


async def enter_round(
    session: AsyncSession,
    dossier: Dossier,
    round_: Round,
    now: datetime,
    *,
    actor_kind: ActorKind = ActorKind.SYSTEM,
    actor_id: int | None = None,
) -> RoundEntry:
    """The dossier's entry in ``round_`` (in the caller's transaction; audited)."""
    product = await session.get_one(Product, dossier.product_id)
    entry = RoundEntry(
        round_id=round_.id,
        dossier_id=dossier.id,
        product_id=product.id,
        producer_id=product.producer_id,
        status=EntryStatus.SUBMITTED,
        submitted_at=now,
        version=1,
    )
    session.add(entry)
    await session.flush()
    audit(
        session,
        actor_kind=actor_kind,
        actor_id=actor_id,
        action="round.entered",
        entity="round_entry",
        entity_id=entry.id,
        producer_id=product.producer_id,
        at=now,
        round_id=round_.id,
        dossier_id=dossier.id,
    )
    return entry


def _current_dossier() -> ColumnElement[bool]:
    """SQL: the dossier is its product's latest."""
    newest = aliased(Dossier)
    latest = (
        select(func.max(newest.id))
        .where(newest.product_id == Dossier.product_id)
        .scalar_subquery()
    )
    return Dossier.id == latest


@dataclass(frozen=True)
class Unfiled:
    """A filed dossier of a covered producer that is in no round yet."""

    dossier: Dossier
    product: Product
    producer: Producer


def covered_by(round_id: int) -> ColumnElement[bool]:
    """SQL: the :class:`Producer` rows ``round_id`` covers (their province or commune listed,
    by code)."""
    listed, own = aliased(Area), aliased(Area)
    covered_codes = (
        select(listed.code)
        .join(RoundArea, RoundArea.area_id == listed.id)
        .where(RoundArea.round_id == round_id)
    )
    own_area = select(own.id).where(own.code.in_(covered_codes))
    return or_(Producer.province_id.in_(own_area), Producer.commune_id.in_(own_area))


def _unfiled(round_: Round, scope: Scope) -> Select[Dossier, Product, Producer]:
    return (
        select(Dossier, Product, Producer)
        .join(Product, Product.id == Dossier.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .where(
            Dossier.status.in_(ADDABLE),
            _current_dossier(),
            ~exists().where(RoundEntry.dossier_id == Dossier.id),
            scope.producers(),
            covered_by(round_.id),
        )
    )


async def unfiled_dossiers(
    session: AsyncSession, round_: Round, scope: Scope, limit: int = PAGE_SIZE
) -> list[Unfiled]:
    """Filed dossiers of producers the round covers (and the official sees) that are in no
    round, oldest submission first: officials add them to the round."""
    rows = await session.execute(
        _unfiled(round_, scope).order_by(Dossier.submitted_at, Dossier.id).limit(limit)
    )
    return [Unfiled(d, p, pr) for d, p, pr in rows.all()]


async def add_to_round(
    session: AsyncSession, scope: Scope, round_: Round, dossier_id: int, now: datetime
) -> RoundEntry:
    """An official adds a filed dossier that is in no round (its producer covered by the round
    and seen by the official) to ``round_``; audited as theirs."""
    _refuse_unless_manager(scope)
    if round_.published_at is not None:
        raise RoundError("dossier", "the round's results are published", "published")
    found = await session.execute(_unfiled(round_, scope).where(Dossier.id == dossier_id))
    row = found.first()
    if row is None:
        raise RoundError("dossier", f"dossier {dossier_id} cannot be added to this round")
    return await enter_round(
        session, row[0], round_, now, actor_kind=ActorKind.OFFICIAL, actor_id=scope.official_id
    )


# --- assignment -------------------------------------------------------------------------------


async def assignable_officials(session: AsyncSession, round_: Round) -> list[Official]:
    """Officials an entry of the round may be assigned to: active administrators, and active
    province officials of a province the round covers (or of a covered commune's province)."""
    listed, parent = aliased(Area), aliased(Area)
    theirs = aliased(Area)
    round_provinces = (
        select(func.coalesce(parent.code, listed.code))
        .select_from(RoundArea)
        .join(listed, listed.id == RoundArea.area_id)
        .outerjoin(parent, parent.id == listed.parent_id)
        .where(RoundArea.round_id == round_.id)
    )
    province_officials = (
        select(OfficialArea.official_id)
        .join(theirs, theirs.id == OfficialArea.area_id)
        .where(theirs.code.in_(round_provinces))
    )
    rows = await session.scalars(
        select(Official)
        .where(
            Official.disabled_at.is_(None),
            or_(
                Official.role == OfficialRole.ADMIN,
                and_(
                    Official.role == OfficialRole.PROVINCE,
                    Official.id.in_(province_officials),
                ),
            ),
        )
        .order_by(Official.display_name, Official.id)
    )
    return list(rows)


async def assign(
    session: AsyncSession,
    scope: Scope,
    entry_id: int,
    official_id: int,
    version: int,
    now: datetime,
) -> RoundEntry:
    """Assign an entry (shown at ``version``) to an official; a ``submitted`` entry goes
    ``in_review``. Raises :class:`StaleRound` when the entry changed since."""
    _refuse_unless_manager(scope)
    entry = await session.get(RoundEntry, entry_id)
    if entry is None or not await scope.may_see_producer(session, entry.producer_id):
        raise RoundError("entry", f"no entry {entry_id}")
    if entry.status not in (EntryStatus.SUBMITTED, EntryStatus.IN_REVIEW):
        raise RoundError("entry", f"entry {entry_id} is {entry.status}", "closed")
    round_ = await session.get_one(Round, entry.round_id)
    if official_id not in {o.id for o in await assignable_officials(session, round_)}:
        raise RoundError("official", f"official {official_id} cannot take this entry")
    await _claim(session, RoundEntry, entry_id, version)
    entry = await session.get_one(RoundEntry, entry_id, populate_existing=True)
    previous = entry.assigned_to
    entry.assigned_to = official_id
    entry.status = EntryStatus.IN_REVIEW
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=scope.official_id,
        action="round.assigned",
        entity="round_entry",
        entity_id=entry_id,
        producer_id=entry.producer_id,
        at=now,
        round_id=entry.round_id,
        assigned_to=official_id,
        previous=previous,
    )
    return entry


# --- the board --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardRow:
    """One entry on a round's board, with its product, producer and assignee's name."""

    entry: RoundEntry
    product: Product
    producer: Producer
    assignee: str


@dataclass(frozen=True)
class Board:
    """A round's entries the official sees: counts by status, one page of the list (by id;
    ``after`` continues it)."""

    counts: dict[EntryStatus, int]
    rows: list[BoardRow]
    after: int | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _entries_in_scope(scope: Scope) -> ColumnElement[bool]:
    return RoundEntry.producer_id.in_(select(Producer.id).where(scope.producers()))


async def entry_counts(
    session: AsyncSession, scope: Scope, round_ids: Sequence[int]
) -> dict[int, dict[EntryStatus, int]]:
    """Per round, its entries the official sees, counted by status (every status present)."""
    counts = {rid: dict.fromkeys(EntryStatus, 0) for rid in round_ids}
    if not round_ids:
        return counts
    rows = await session.execute(
        select(RoundEntry.round_id, RoundEntry.status, func.count())
        .where(RoundEntry.round_id.in_(round_ids), _entries_in_scope(scope))
        .group_by(RoundEntry.round_id, RoundEntry.status)
    )
    for round_id, status, count in rows.all():
        counts[round_id][EntryStatus(status)] = int(count)
    return counts


async def board(
    session: AsyncSession,
    scope: Scope,
    round_: Round,
    *,
    status: EntryStatus | None = None,
    after: int = 0,
    limit: int = PAGE_SIZE,
) -> Board:
    """The board of ``round_``: counts by status and a page of entries (of ``status``)."""
    counts = (await entry_counts(session, scope, [round_.id]))[round_.id]
    query = (
        select(RoundEntry, Product, Producer, Official.display_name)
        .join(Product, Product.id == RoundEntry.product_id)
        .join(Producer, Producer.id == RoundEntry.producer_id)
        .outerjoin(Official, Official.id == RoundEntry.assigned_to)
        .where(RoundEntry.round_id == round_.id, RoundEntry.id > after, scope.producers())
        .order_by(RoundEntry.id)
        .limit(limit + 1)
    )
    if status is not None:
        query = query.where(RoundEntry.status == status)
    found = list((await session.execute(query)).all())
    rows = [BoardRow(e, p, pr, name or "") for e, p, pr, name in found[:limit]]
    more = len(found) > limit
    return Board(counts, rows, rows[-1].entry.id if more and rows else None)


# --- reminders --------------------------------------------------------------------------------


async def producers_to_remind(session: AsyncSession, round_id: int) -> list[Producer]:
    """Producers the round covers with at least one product whose current dossier is not yet
    submitted to it (still editable and in no round): whom a reminder before its deadline is
    for. Producers file to province rounds only, so a central round reminds nobody."""
    round_ = await session.get(Round, round_id)
    if round_ is None or round_.level != RoundLevel.PROVINCE:
        return []
    rows = await session.scalars(
        select(Producer)
        .where(
            covered_by(round_id),
            Producer.id.in_(producers_with_unfiled_dossiers()),
        )
        .order_by(Producer.id)
    )
    return list(rows)


def producers_with_unfiled_dossiers() -> Select[int]:
    """SQL: the ids of producers with at least one product whose current dossier is not yet
    submitted (still editable, and in no round): with :func:`covered_by`, whom a round's
    reminders (and announcements to "dossier incomplete for the round") are for."""
    return (
        select(Product.producer_id)
        .join(Dossier, Dossier.product_id == Product.id)
        .where(
            _current_dossier(),
            Dossier.status.in_(EDITABLE_DOSSIER),
            ~exists().where(RoundEntry.dossier_id == Dossier.id),
        )
    )


def reminder_days(source: object | None = None) -> tuple[int, ...]:
    """How many days before a round's deadline producers are reminded, the earliest first:
    ``source.reminder_days`` (a rule set or the settings) when it gives whole days from 1,
    else :data:`DEFAULT_REMINDER_DAYS`."""
    given = getattr(source, "reminder_days", None)
    if isinstance(given, str):
        given = [part for part in given.replace(",", " ").split() if part]
    if not isinstance(given, list | tuple) or not given:
        return DEFAULT_REMINDER_DAYS
    days: set[int] = set()
    for item in given:
        text = str(item).strip()
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 366:
            return DEFAULT_REMINDER_DAYS
        days.add(int(text))
    return tuple(sorted(days, reverse=True))
