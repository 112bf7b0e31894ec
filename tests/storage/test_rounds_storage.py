"""Rounds in storage: the phase at each date edge, coverage by commune and by province, what a
submission finds (open round, refusal after the deadline with the next round, no round ever),
versions telling a second editor, validation, the board, assignment and reminder recipients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.areas import find_commune, find_province, import_areas
from storage.clock import ManualClock
from storage.db import Database
from storage.dossiers import create_product
from storage.models import Area, AuditEntry, Dossier, Official, Producer, Round, User
from storage.officials import Scope, add_official, scope_of
from storage.rounds import (
    RoundError,
    RoundValues,
    StaleRound,
    add_to_round,
    assign,
    board,
    create_round,
    enter_round,
    list_rounds,
    next_round_for,
    open_round_for,
    phase,
    producers_to_remind,
    reminder_days,
    round_in_scope,
    rounds_for_producer,
    submission_round,
    unfiled_dossiers,
    update_round,
)
from storage.states import DossierStatus, EntryStatus, OfficialRole, RoundLevel, RoundPhase
from tests.conftest import create_schema

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "communes-sample.csv"
NOW = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
PASSWORD = "a long enough password"


@pytest.fixture
async def areas_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'rounds.sqlite3'}")
    await create_schema(database)
    async with database.transaction() as session:
        await import_areas(session, SAMPLE)
    yield database
    await database.dispose()


async def area(session: AsyncSession, province: str, commune: str | None = None) -> Area:
    (found,) = await find_province(session, province)
    if commune is not None:
        (found,) = await find_commune(session, found.area.id, commune)
    return found.area


async def official(
    session: AsyncSession, username: str, role: OfficialRole, areas: list[Area]
) -> tuple[Official, Scope]:
    person = await add_official(
        session, username=username, display_name=username.title(), role=role, areas=areas,
        locale="vi", password=PASSWORD, clock=ManualClock(NOW),
    )  # fmt: skip
    return person, await scope_of(session, person)


async def producer(session: AsyncSession, province: Area, commune: Area | None) -> Producer:
    row = Producer(
        org_type="coop", name=f"HTX {commune.name if commune else province.name}",
        tax_code="0101234567", rep_name="Lan", rep_position="Giám đốc", rep_gender="female",
        rep_ethnicity="Kinh", phone="0912345678", province_id=province.id,
        commune_id=commune.id if commune else None,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def product(session: AsyncSession, owner: Producer, status: DossierStatus) -> Dossier:
    user = User(display_name="u")
    session.add(user)
    await session.flush()
    _product, dossier = await create_product(
        session, producer_id=owner.id, user_id=user.id,
        values={"product_set": 21, "name": "Giỏ mây tre"}, dossier_kind="first",
        certificate_ref=None, rules_version="2026.1",
    )  # fmt: skip
    dossier.status = status
    await session.flush()
    return dossier


async def new_round(session: AsyncSession, scope: Scope, given: RoundValues) -> Round:
    return await create_round(session, scope, given, rules_version="2026.1", now=NOW)


def values(areas: list[Area], **changes: object) -> RoundValues:
    base = RoundValues(
        level=RoundLevel.PROVINCE,
        name="Đợt 1 cấp tỉnh 2026",
        opens_on=date(2026, 1, 1),
        submission_deadline=date(2026, 4, 30),
        evaluation_deadline=date(2026, 6, 15),
        results_on=date(2026, 6, 30),
        ceremony_on=None,
        area_ids=tuple(a.id for a in areas),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_phase_at_each_date_edge() -> None:
    round_ = Round(
        opens_on=date(2026, 1, 1),
        submission_deadline=date(2026, 4, 30),
        evaluation_deadline=date(2026, 6, 15),
        results_on=date(2026, 6, 30),
    )
    assert phase(round_, date(2025, 12, 31)) is RoundPhase.UPCOMING
    assert phase(round_, date(2026, 1, 1)) is RoundPhase.OPEN
    assert phase(round_, date(2026, 4, 30)) is RoundPhase.OPEN
    assert phase(round_, date(2026, 5, 1)) is RoundPhase.EVALUATING
    round_.scores_closed_at = NOW
    assert phase(round_, date(2026, 5, 1)) is RoundPhase.SCORED
    round_.published_at = NOW
    assert phase(round_, date(2026, 5, 1)) is RoundPhase.PUBLISHED


async def test_coverage_by_commune_and_by_province(areas_db: Database) -> None:
    async with areas_db.transaction() as session:
        bac_ninh = await area(session, "bac ninh")
        luc_ngan = await area(session, "bac ninh", "Lục Ngạn")
        son_dong = await area(session, "bac ninh", "Sơn Động")
        ha_noi = await area(session, "ha noi")
        _admin, admin = await official(session, "admin", OfficialRole.ADMIN, [])
        province_round = await new_round(session, admin, values([bac_ninh]))
        commune_round = await create_round(
            session, admin,
            values([luc_ngan], name="Đợt riêng Lục Ngạn", submission_deadline=date(2026, 3, 15)),
            rules_version="2026.1", now=NOW,
        )  # fmt: skip
        in_luc_ngan = await producer(session, bac_ninh, luc_ngan)
        in_son_dong = await producer(session, bac_ninh, son_dong)
        in_ha_noi = await producer(session, ha_noi, None)
        today = date(2026, 3, 1)
        # Soonest deadline first; a commune round covers that commune only.
        assert [r.id for r in await rounds_for_producer(session, in_luc_ngan, today)] == [
            commune_round.id,
            province_round.id,
        ]
        assert [r.id for r in await rounds_for_producer(session, in_son_dong, today)] == [
            province_round.id
        ]
        assert await rounds_for_producer(session, in_ha_noi, today) == []
        opened = await open_round_for(session, in_luc_ngan, today)
        assert opened is not None and opened.id == commune_round.id
        # After the commune round's deadline the province round is the one open.
        later = await open_round_for(session, in_luc_ngan, date(2026, 3, 16))
        assert later is not None and later.id == province_round.id
        # A central round does not take producers' dossiers.
        assert await open_round_for(session, in_luc_ngan, today, RoundLevel.CENTRAL) is None


async def test_submission_after_the_deadline_is_refused_with_the_next_round(
    areas_db: Database,
) -> None:
    async with areas_db.transaction() as session:
        bac_ninh = await area(session, "bac ninh")
        tan_son = await area(session, "bac ninh", "Tân Sơn")
        ha_noi = await area(session, "ha noi")
        _admin, admin = await official(session, "admin", OfficialRole.ADMIN, [])
        first = await new_round(session, admin, values([bac_ninh]))
        second = await create_round(
            session, admin,
            values([bac_ninh], name="Đợt 2 cấp tỉnh 2026", opens_on=date(2026, 5, 15),
                   submission_deadline=date(2026, 10, 30), evaluation_deadline=date(2026, 12, 1),
                   results_on=date(2026, 12, 30)),
            rules_version="2026.1", now=NOW,
        )  # fmt: skip
        owner = await producer(session, bac_ninh, tan_son)
        dossier = await product(session, owner, DossierStatus.DRAFT)

        on_deadline = await submission_round(session, dossier, owner, date(2026, 4, 30))
        assert on_deadline.round is not None and on_deadline.round.id == first.id
        assert not on_deadline.refused
        # 1 May: round 1 closed, round 2 not open before 15 May: refused, round 2 offered.
        late = await submission_round(session, dossier, owner, date(2026, 4, 30) + timedelta(1))
        assert late.refused and late.round is None
        assert late.next_round is not None and late.next_round.id == second.id
        assert (await next_round_for(session, owner, date(2026, 4, 30))) is not None
        # On its opening day round 2 takes the dossier.
        opens = await submission_round(session, dossier, owner, date(2026, 5, 15))
        assert opens.round is not None and opens.round.id == second.id
        # After every deadline: refused, nothing next.
        closed = await submission_round(session, dossier, owner, date(2026, 11, 1))
        assert closed.refused and closed.next_round is None

        # A dossier already in a round (corrections) goes on in it.
        entry = await enter_round(session, dossier, first, NOW)
        again = await submission_round(session, dossier, owner, date(2026, 11, 1))
        assert again.entry is not None and again.entry.id == entry.id and not again.refused

        # No round ever set up for the area: filed without a round, not refused.
        elsewhere = await producer(session, ha_noi, None)
        other = await product(session, elsewhere, DossierStatus.DRAFT)
        free = await submission_round(session, other, elsewhere, date(2026, 11, 1))
        assert free.round is None and not free.refused and free.entry is None

        # One entry per dossier.
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await enter_round(session, dossier, second, NOW)


async def test_validation_and_the_calendar_check(areas_db: Database) -> None:
    async with areas_db.transaction() as session:
        bac_ninh = await area(session, "bac ninh")
        ha_noi = await area(session, "ha noi")
        _p, province = await official(session, "bn.official", OfficialRole.PROVINCE, [bac_ninh])
        luc_ngan = await area(session, "bac ninh", "Lục Ngạn")
        _c, commune = await official(session, "ln.official", OfficialRole.COMMUNE, [luc_ngan])
        cases = [
            (values([bac_ninh], name="  "), "name"),
            (values([bac_ninh], submission_deadline=date(2025, 12, 1)), "submission_deadline"),
            (values([bac_ninh], results_on=date(2026, 6, 1)), "results_on"),
            (values([bac_ninh], ceremony_on=date(2026, 6, 29)), "ceremony_on"),
            (values([]), "areas"),
            (values([ha_noi]), "areas"),  # not the official's province
        ]
        for wrong, field in cases:
            with pytest.raises(RoundError) as refused:
                await create_round(session, province, wrong, rules_version="2026.1", now=NOW)
            assert refused.value.field == field
        with pytest.raises(RoundError) as refused:
            await create_round(session, commune, values([bac_ninh]), rules_version="x", now=NOW)
        assert refused.value.field == "role"
        # The database's own CHECK refuses a calendar out of order, whoever writes it.
        session.add(
            Round(
                level="province", name="x", year=2026, opens_on=date(2026, 5, 1),
                submission_deadline=date(2026, 4, 1), evaluation_deadline=date(2026, 6, 1),
                results_on=date(2026, 6, 2), rules_version="2026.1", created_by=_p.id,
                created_at=NOW, updated_at=NOW,
            )
        )  # fmt: skip
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await session.flush()


async def test_a_second_editor_is_told_and_changes_are_audited(areas_db: Database) -> None:
    async with areas_db.transaction() as session:
        bac_ninh = await area(session, "bac ninh")
        luc_ngan = await area(session, "bac ninh", "Lục Ngạn")
        _p, province = await official(session, "bn.official", OfficialRole.PROVINCE, [bac_ninh])
        created = await new_round(session, province, values([bac_ninh]))
        round_id = created.id
    async with areas_db.transaction() as session:
        changed = await update_round(
            session, province, round_id, values([luc_ngan], name="Đợt 1 (sửa)"), version=1, now=NOW
        )
        assert changed.version == 2 and changed.name == "Đợt 1 (sửa)"
    with pytest.raises(StaleRound):
        async with areas_db.transaction() as session:
            await update_round(
                session, province, round_id, values([bac_ninh], name="Cũ"), version=1, now=NOW
            )
    async with areas_db.sessions() as session:
        stored = await session.get_one(Round, round_id)
        assert stored.name == "Đợt 1 (sửa)" and stored.version == 2
        actions = (await session.scalars(select(AuditEntry.action))).all()
        assert actions.count("round.created") == 1 and actions.count("round.updated") == 1


async def test_board_assignment_scope_and_reminders(areas_db: Database) -> None:
    async with areas_db.transaction() as session:
        bac_ninh = await area(session, "bac ninh")
        luc_ngan = await area(session, "bac ninh", "Lục Ngạn")
        son_dong = await area(session, "bac ninh", "Sơn Động")
        ha_noi = await area(session, "ha noi")
        bn_person, bn = await official(session, "bn.official", OfficialRole.PROVINCE, [bac_ninh])
        _h, hn = await official(session, "hn.official", OfficialRole.PROVINCE, [ha_noi])
        _l, ln = await official(session, "ln.official", OfficialRole.COMMUNE, [luc_ngan])
        round_ = await new_round(session, bn, values([bac_ninh]))
        a = await producer(session, bac_ninh, luc_ngan)
        b = await producer(session, bac_ninh, son_dong)
        filed = await product(session, a, DossierStatus.SUBMITTED)
        drafted = await product(session, b, DossierStatus.DRAFT)
        loose = await product(session, b, DossierStatus.SUBMITTED)
        entry = await enter_round(session, filed, round_, NOW)

        # Who sees the round: its province's officials and a commune official inside it.
        assert [r.id for r in await list_rounds(session, ln)] == [round_.id]
        assert await round_in_scope(session, hn, round_.id) is None

        # Reminders: b has a draft not in any round; a's only dossier is in the round.
        assert [p.id for p in await producers_to_remind(session, round_.id)] == [b.id]

        # The submitted dossier of a covered producer not in a round is offered, and added.
        assert [u.dossier.id for u in await unfiled_dossiers(session, round_, bn)] == [loose.id]
        assert await unfiled_dossiers(session, round_, ln) == []  # not in Lục Ngạn
        with pytest.raises(RoundError):
            await add_to_round(session, bn, round_, drafted.id, NOW)
        with pytest.raises(RoundError):
            await add_to_round(session, ln, round_, loose.id, NOW)  # commune: read only
        await add_to_round(session, bn, round_, loose.id, NOW)
        assert await unfiled_dossiers(session, round_, bn) == []

        # Board counts within scope; assignment moves the entry in review, versioned.
        seen = await board(session, bn, round_)
        assert seen.counts[EntryStatus.SUBMITTED] == 2 and seen.total == 2
        assert (await board(session, ln, round_)).total == 1
        with pytest.raises(RoundError):
            await assign(session, bn, entry.id, _h.id, entry.version, NOW)  # not of Bắc Ninh
        await assign(session, bn, entry.id, bn_person.id, 1, NOW)
        with pytest.raises(StaleRound):
            await assign(session, bn, entry.id, bn_person.id, 1, NOW)
        counts = (await board(session, bn, round_)).counts
        assert counts[EntryStatus.IN_REVIEW] == 1 and counts[EntryStatus.SUBMITTED] == 1
        paged = await board(session, bn, round_, limit=1)
        assert len(paged.rows) == 1 and paged.after == paged.rows[0].entry.id
        rest = await board(session, bn, round_, after=paged.after or 0, limit=1)
        assert len(rest.rows) == 1 and rest.after is None
        assert rest.rows[0].entry.id != paged.rows[0].entry.id


def test_reminder_days() -> None:
    class Given:
        def __init__(self, days: object) -> None:
            self.reminder_days = days

    assert reminder_days() == (14, 7, 1)
    assert reminder_days(Given([1, 30, 7, 7])) == (30, 7, 1)
    assert reminder_days(Given("10, 3")) == (10, 3)
    assert reminder_days(Given([0, 3])) == (14, 7, 1)
    assert reminder_days(Given("soon")) == (14, 7, 1)
