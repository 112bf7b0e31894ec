"""Council members' score sheets, and closing a round's scores into each entry's outcome.

A member of a round's council opens their sheet for an entry in review (the row is created
on the first save), saves drafts and submits it; each save names the version it was made
on, so of two saves from the same page state the second is told (:class:`StaleSheet`) rather
than silently overwriting. Points are decimals with at most two decimals, within each
section's maximum; a submitted sheet must also pass :func:`bot.scoring.sheet_errors`.

Until the round's scores are closed a member reads only their own sheet, whoever asks and
however (:func:`sheets_for`, :func:`read_sheet` refuse the others). :func:`close_scores` —
for the council's managers (:func:`storage.council.may_manage`) or its chair — needs a
submitted sheet for every entry in review, evaluates each with the round's rule set
(:func:`bot.rules.rules` of ``Round.rules_version``) and writes the outcomes, the entries'
``scored`` status and ``Round.scores_closed_at`` in the caller's one transaction. After that
every member sees every sheet and no sheet changes. Saves and the close take the round's row
lock (PostgreSQL; SQLite has one writer), so a save never lands after the close.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.rules import RuleSet, rules
from bot.scoring import Outcome, Sheet, evaluate, sheet_errors
from storage.audit import audit
from storage.clock import Clock
from storage.council import may_manage, seat_of
from storage.models import (
    CouncilMember,
    Dossier,
    Official,
    Producer,
    Product,
    Round,
    RoundEntry,
    ScoreSheet,
)
from storage.officials import Scope
from storage.states import ActorKind, EntryStatus

__all__ = [
    "NOTE_LIMIT",
    "EntryAccess",
    "EntryRow",
    "MissingSheets",
    "NotAllowed",
    "NotInReview",
    "ScoresClosed",
    "SheetForm",
    "SheetInvalid",
    "SheetSealed",
    "StaleSheet",
    "check_sheet",
    "close_scores",
    "entries_of_round",
    "entry_access",
    "parse_points",
    "read_sheet",
    "save_sheet",
    "sheet_of",
    "sheets_for",
]

NOTE_LIMIT = 2000
_CENT = Decimal("0.01")
_POINTS = re.compile(r"-?(\d{1,6}(\.\d{0,12})?|\.\d{1,12})")


class NotAllowed(PermissionError):
    """The official may not do this (not on the council, not its manager or chair)."""


class ScoresClosed(ValueError):
    """The round's scores are closed: sheets and council no longer change."""


class NotInReview(ValueError):
    """The entry is not in review: there is nothing to score."""


class SheetSealed(PermissionError):
    """Another member's sheet, asked for before the round's scores are closed."""


class StaleSheet(ValueError):
    """The sheet changed since the page it was saved from was shown; nothing was saved.
    ``version`` and ``updated_at`` are the sheet's now."""

    def __init__(self, version: int, updated_at: datetime | None) -> None:
        super().__init__(f"the sheet changed since it was shown (now version {version})")
        self.version = version
        self.updated_at = updated_at


class SheetInvalid(ValueError):
    """What keeps the sheet from being saved: problems by section code (``missing``,
    ``number``, ``decimals``, ``range``), or by ``minimums``/``knockouts``/``note``
    (``unknown``, ``long``), or ``rules`` (what :func:`sheet_errors` said)."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = dict(problems)


class MissingSheets(ValueError):
    """Entries in review with no submitted sheet: the scores cannot be closed yet.
    ``entries`` are (entry id, product name) pairs."""

    def __init__(self, entries: list[tuple[int, str]]) -> None:
        super().__init__(f"entries without a submitted sheet: {[e for e, _ in entries]}")
        self.entries = entries


@dataclass(frozen=True)
class SheetForm:
    """A sheet as typed: points as text by section code, the codes ticked, the note."""

    points: Mapping[str, str]
    minimums_met: Collection[str] = ()
    knockouts: Collection[str] = ()
    note: str = ""


@dataclass(frozen=True)
class EntryAccess:
    """An entry as one official may reach it: its round, product, producer and dossier, their
    seat on the council (None if not a member) and whether they manage the council."""

    entry: RoundEntry
    round: Round
    product: Product
    producer: Producer
    dossier: Dossier
    seat: CouncilMember | None
    manages: bool

    @property
    def closed(self) -> bool:
        return self.round.scores_closed_at is not None

    @property
    def rule_set(self) -> RuleSet:
        return rules(self.round.rules_version)

    @property
    def set_number(self) -> int:
        return self.product.product_set


async def entry_access(session: AsyncSession, entry_id: int, scope: Scope) -> EntryAccess | None:
    """The entry for an official who sits on its round's council or manages it; None for
    anyone else (and for an entry that does not exist)."""
    row = (
        await session.execute(
            select(RoundEntry, Round, Product, Producer, Dossier)
            .join(Round, Round.id == RoundEntry.round_id)
            .join(Product, Product.id == RoundEntry.product_id)
            .join(Producer, Producer.id == RoundEntry.producer_id)
            .join(Dossier, Dossier.id == RoundEntry.dossier_id)
            .where(RoundEntry.id == entry_id)
        )
    ).one_or_none()
    if row is None:
        return None
    entry, round_, product, producer, dossier = row
    seat = await seat_of(session, round_.id, scope.official_id)
    manages = await may_manage(session, scope, round_)
    if seat is None and not manages:
        return None
    return EntryAccess(entry, round_, product, producer, dossier, seat, manages)


# -- checking a sheet -----------------------------------------------------------------------


def parse_points(typed: str) -> Decimal | str:
    """Points as typed ("12", "12.5", "12,75", "-1" to be refused as out of range) or the
    problem: ``number`` (not a number) or ``decimals`` (more than two)."""
    text = typed.strip().replace(",", ".")
    if not _POINTS.fullmatch(text):
        return "number"
    value = Decimal(text)
    if value != value.quantize(_CENT):
        return "decimals"
    return value.quantize(_CENT)


def check_sheet(
    rule_set: RuleSet, set_number: int, form: SheetForm, *, complete: bool
) -> tuple[Sheet, dict[str, str]]:
    """The sheet the form says and what is wrong with it (nothing: empty). A draft
    (``complete`` False) may leave sections empty; a submitted sheet must also satisfy the
    rules' own check, :func:`bot.scoring.sheet_errors`."""
    problems: dict[str, str] = {}
    points: dict[str, Decimal] = {}
    for section in rule_set.score_sheet(set_number):
        typed = form.points.get(section.code, "").strip()
        if not typed:
            if complete:
                problems[section.code] = "missing"
            continue
        value = parse_points(typed)
        if isinstance(value, str):
            problems[section.code] = value
        elif not 0 <= value <= section.max_points:
            problems[section.code] = "range"
        else:
            points[section.code] = value
    minimums = frozenset(form.minimums_met)
    knockouts = frozenset(form.knockouts)
    if minimums - {m.code for m in rule_set.minimums_for(set_number)}:
        problems["minimums"] = "unknown"
    if knockouts - {k.code for k in rule_set.knockouts_for(set_number)}:
        problems["knockouts"] = "unknown"
    if len(form.note) > NOTE_LIMIT:
        problems["note"] = "long"
    sheet = Sheet(points=points, minimums_met=minimums, knockouts=knockouts)
    if complete and not problems and (errors := sheet_errors(rule_set, set_number, sheet)):
        problems["rules"] = "; ".join(errors)
    return sheet, problems


def _sheet_of_row(row: ScoreSheet) -> Sheet:
    return Sheet(
        points={code: Decimal(text) for code, text in row.points.items()},
        minimums_met=frozenset(row.minimums_met),
        knockouts=frozenset(row.knockouts),
    )


# -- reading sheets -------------------------------------------------------------------------


async def sheet_of(session: AsyncSession, entry_id: int, official_id: int) -> ScoreSheet | None:
    """The official's own sheet for the entry, if saved."""
    return await session.scalar(
        select(ScoreSheet).where(
            ScoreSheet.entry_id == entry_id, ScoreSheet.official_id == official_id
        )
    )


async def read_sheet(
    session: AsyncSession, access: EntryAccess, owner_id: int, *, reader_id: int
) -> ScoreSheet | None:
    """``owner_id``'s sheet for the entry. Before the scores are closed only the owner may
    read it: anyone else gets :class:`SheetSealed`."""
    if owner_id != reader_id and not access.closed:
        raise SheetSealed(f"sheet of official {owner_id} is sealed until the scores close")
    return await sheet_of(session, access.entry.id, owner_id)


async def sheets_for(
    session: AsyncSession, access: EntryAccess, *, reader_id: int
) -> list[tuple[ScoreSheet, Official]]:
    """The sheets of the entry the reader may see: before the scores close, their own (if
    any); after, every member's, by name."""
    query = (
        select(ScoreSheet, Official)
        .join(Official, Official.id == ScoreSheet.official_id)
        .where(ScoreSheet.entry_id == access.entry.id)
        .order_by(Official.display_name, Official.id)
    )
    if not access.closed:
        query = query.where(ScoreSheet.official_id == reader_id)
    return [(sheet, official) for sheet, official in await session.execute(query)]


@dataclass(frozen=True)
class EntryRow:
    """An entry of a round on the council's page: how many sheets are submitted for it (the
    count, never their points) and the reader's own sheet."""

    entry: RoundEntry
    product: str
    producer: str
    submitted: int
    mine: ScoreSheet | None


async def entries_of_round(session: AsyncSession, round_id: int, reader_id: int) -> list[EntryRow]:
    """The round's entries by product name, with their submitted sheets counted."""
    rows = list(
        await session.execute(
            select(RoundEntry, Product.name, Producer.name)
            .join(Product, Product.id == RoundEntry.product_id)
            .join(Producer, Producer.id == RoundEntry.producer_id)
            .where(RoundEntry.round_id == round_id)
            .order_by(Product.name, RoundEntry.id)
        )
    )
    ids = [entry.id for entry, _, _ in rows]
    counts: dict[int, int] = dict(
        (entry_id, int(n))
        for entry_id, n in await session.execute(
            select(ScoreSheet.entry_id, func.count())
            .where(ScoreSheet.entry_id.in_(ids), ScoreSheet.submitted_at.is_not(None))
            .group_by(ScoreSheet.entry_id)
        )
    )
    mine = {
        sheet.entry_id: sheet
        for sheet in await session.scalars(
            select(ScoreSheet).where(
                ScoreSheet.entry_id.in_(ids), ScoreSheet.official_id == reader_id
            )
        )
    }
    return [
        EntryRow(entry, product, producer, counts.get(entry.id, 0), mine.get(entry.id))
        for entry, product, producer in rows
    ]


# -- saving a sheet -------------------------------------------------------------------------


async def _locked_round(session: AsyncSession, round_id: int) -> Round:
    found = await session.scalar(
        select(Round)
        .where(Round.id == round_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise LookupError(f"no round {round_id}")
    return found


async def save_sheet(
    session: AsyncSession,
    entry_id: int,
    official_id: int,
    form: SheetForm,
    *,
    submit: bool,
    expected_version: int,
    clock: Clock,
) -> ScoreSheet:
    """Save the member's sheet for the entry as a draft, or submitted (audited, without the
    points). ``expected_version`` is the version shown (0: no sheet yet). A draft saved over
    a submitted sheet takes it back to a draft."""
    entry = await session.get_one(RoundEntry, entry_id)
    round_ = await _locked_round(session, entry.round_id)
    if round_.scores_closed_at is not None:
        raise ScoresClosed(f"round {round_.id}")
    if await seat_of(session, round_.id, official_id) is None:
        raise NotAllowed(f"official {official_id} is not on the council of round {round_.id}")
    if entry.status != EntryStatus.IN_REVIEW:
        raise NotInReview(f"entry {entry.id} is {entry.status}")
    product = await session.get_one(Product, entry.product_id)
    sheet, problems = check_sheet(
        rules(round_.rules_version), product.product_set, form, complete=submit
    )
    if problems:
        raise SheetInvalid(problems)
    row = await sheet_of(session, entry_id, official_id)
    if (row.version if row else 0) != expected_version:
        raise StaleSheet(row.version if row else 0, row.updated_at if row else None)
    now = clock.now()
    if row is None:
        row = ScoreSheet(entry_id=entry_id, official_id=official_id, version=0)
        session.add(row)
    row.points = {code: str(points) for code, points in sheet.points.items()}
    row.minimums_met = sorted(sheet.minimums_met)
    row.knockouts = sorted(sheet.knockouts)
    row.note = form.note.strip()
    row.submitted_at = now if submit else None
    row.updated_at = now
    row.version += 1
    await session.flush()
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=official_id,
        action="sheet.submitted" if submit else "sheet.saved",
        entity="round_entry",
        entity_id=entry_id,
        producer_id=entry.producer_id,
        sheet_id=row.id,
        version=row.version,
        at=now,
    )
    return row


# -- closing the scores ---------------------------------------------------------------------


async def close_scores(
    session: AsyncSession, round_id: int, scope: Scope, *, clock: Clock
) -> dict[int, Outcome]:
    """Close the round's scores: every entry in review gets the outcome of its submitted
    sheets under the round's rule set and becomes ``scored``; ``Round.scores_closed_at`` is
    set (audited, in the caller's transaction). For the council's managers or chair;
    :class:`MissingSheets` names the entries still without a submitted sheet (none named:
    there is no entry in review to score)."""
    round_ = await _locked_round(session, round_id)
    seat = await seat_of(session, round_id, scope.official_id)
    if not (seat is not None and seat.chair) and not await may_manage(session, scope, round_):
        raise NotAllowed(f"official {scope.official_id} may not close round {round_id}")
    if round_.scores_closed_at is not None:
        raise ScoresClosed(f"round {round_id}")
    entries = list(
        await session.execute(
            select(RoundEntry, Product)
            .join(Product, Product.id == RoundEntry.product_id)
            .where(RoundEntry.round_id == round_id, RoundEntry.status == EntryStatus.IN_REVIEW)
            .order_by(RoundEntry.id)
        )
    )
    sheets: dict[int, list[Sheet]] = {}
    for row in await session.scalars(
        select(ScoreSheet)
        .where(
            ScoreSheet.entry_id.in_([entry.id for entry, _ in entries]),
            ScoreSheet.submitted_at.is_not(None),
        )
        .order_by(ScoreSheet.id)
    ):
        sheets.setdefault(row.entry_id, []).append(_sheet_of_row(row))
    missing = [(entry.id, product.name) for entry, product in entries if entry.id not in sheets]
    if missing or not entries:
        raise MissingSheets(missing)
    rule_set = rules(round_.rules_version)
    now = clock.now()
    outcomes: dict[int, Outcome] = {}
    for entry, product in entries:
        outcome = evaluate(rule_set, product.product_set, sheets[entry.id])
        outcomes[entry.id] = outcome
        entry.score = outcome.score
        entry.stars_by_points = outcome.stars_by_points
        entry.stars = outcome.stars
        entry.capped_by = list(outcome.capped_by)
        entry.knocked_out = list(outcome.knocked_out)
        entry.potential_five_star = outcome.potential_five_star
        entry.rules_version = outcome.rules_version
        entry.status = EntryStatus.SCORED
        entry.version += 1
        audit(
            session,
            actor_kind=ActorKind.OFFICIAL,
            actor_id=scope.official_id,
            action="entry.scored",
            entity="round_entry",
            entity_id=entry.id,
            producer_id=entry.producer_id,
            score=str(outcome.score),
            stars=outcome.stars,
            capped_by=list(outcome.capped_by),
            knocked_out=list(outcome.knocked_out),
            sheets=len(sheets[entry.id]),
            rules_version=outcome.rules_version,
            at=now,
        )
    round_.scores_closed_at = now
    round_.updated_at = now
    round_.version += 1
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=scope.official_id,
        action="round.scores_closed",
        entity="round",
        entity_id=round_id,
        entries=len(entries),
        rules_version=rule_set.version,
        at=now,
    )
    return outcomes
