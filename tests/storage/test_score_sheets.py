"""Councils and score sheets (storage/council.py, storage/score_sheets.py) on SQLite and, with
OCOP_TEST_POSTGRES_URL, PostgreSQL: sheet validation, a concurrent save told instead of
overwritten, members sealed from each other's sheets until the scores close, closing refused
while an entry has no submitted sheet, and closing computing every entry's outcome (a cap, a
knock-out, potential 5★) under the round's rule version in one go."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.rules import rules
from storage.clock import ManualClock
from storage.council import (
    CouncilError,
    add_member,
    candidates,
    council_of,
    progress_of,
    remove_member,
)
from storage.db import Database
from storage.models import AuditEntry, Official, Round, RoundEntry, ScoreSheet
from storage.officials import scope_of, set_council
from storage.score_sheets import (
    MissingSheets,
    NotAllowed,
    NotInReview,
    ScoresClosed,
    SheetForm,
    SheetInvalid,
    SheetSealed,
    StaleSheet,
    check_sheet,
    close_scores,
    entry_access,
    read_sheet,
    save_sheet,
    sheets_for,
)
from storage.states import EntryStatus, OfficialRole
from tests.console.conftest import _database as console_database
from tests.console.conftest import prepared_console_database  # noqa: F401 (a fixture)
from tests.scoring_data import (
    RULES,
    council_official,
    every_minimum,
    full_points,
    make_entry,
    make_round,
)
from tests.storage.test_officials import BACKENDS, area

PASSWORD = "correct horse battery"


@pytest.fixture(params=BACKENDS)
async def database(
    request: pytest.FixtureRequest,
    prepared_console_database: Path,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> AsyncIterator[Database]:
    """The provinces and sample communes on each backend (the console tests' template)."""
    async with console_database(request.param, prepared_console_database, tmp_path) as db:
        yield db


class Council:
    """A round of Bắc Ninh with a province official managing it and three council members."""

    def __init__(self, db: Database, clock: ManualClock) -> None:
        self.db = db
        self.clock = clock

    async def official(
        self, username: str, role: OfficialRole = OfficialRole.ADMIN, areas: list = [],  # noqa: B006
        *, council: bool = True,
    ) -> Official:  # fmt: skip
        return await council_official(
            self.db, username, role, areas, password=PASSWORD, council=council
        )

    async def setup(self) -> None:
        self.bac_ninh = await area(self.db, "bac ninh")
        self.manager = await self.official(
            "tinh.bacninh", OfficialRole.PROVINCE, [self.bac_ninh], council=False
        )
        self.round_id = await make_round(self.db, self.bac_ninh, self.manager.id)
        da_mai = await area(self.db, "bac ninh", "Đa Mai")
        self.members = [
            await self.official(f"hd{i}", OfficialRole.COMMUNE, [da_mai]) for i in (1, 2, 3)
        ]
        async with self.db.transaction() as session:
            round_ = await session.get_one(Round, self.round_id)
            for i, member in enumerate(self.members):
                await add_member(
                    session, round_, member.id, chair=i == 0, actor_id=self.manager.id,
                    clock=self.clock,
                )  # fmt: skip

    async def save(
        self, entry_id: int, member: Official, form: SheetForm, *, submit: bool = True,
        version: int | None = None,
    ) -> ScoreSheet:  # fmt: skip
        if version is None:
            async with self.db.sessions() as session:
                found = await session.scalar(
                    select(ScoreSheet.version).where(
                        ScoreSheet.entry_id == entry_id, ScoreSheet.official_id == member.id
                    )
                )
            version = found or 0
        async with self.db.transaction() as session:
            return await save_sheet(
                session, entry_id, member.id, form, submit=submit, expected_version=version,
                clock=self.clock,
            )  # fmt: skip

    async def close(self, who: Official) -> dict:
        async with self.db.transaction() as session:
            return await close_scores(
                session, self.round_id, await scope_of(session, who), clock=self.clock
            )


@pytest.fixture
async def council(database: Database) -> Council:
    made = Council(database, ManualClock())
    await made.setup()
    return made


def full(set_number: int = 1, share: str = "1", **kw: object) -> SheetForm:
    return SheetForm(
        points=full_points(set_number, share),
        minimums_met=kw.get("minimums", every_minimum(set_number)),  # type: ignore[arg-type]
        knockouts=kw.get("knockouts", ()),  # type: ignore[arg-type]
    )


def test_a_sheet_says_what_is_wrong_section_by_section() -> None:
    rule_set = rules(RULES)
    typed = full_points(1) | {"A1": "19", "A2": "abc", "A3": "1.234", "B1": "-1", "C1": "11,5"}
    del typed["C7"]
    form = SheetForm(points=typed, minimums_met=["trademark", "moon"], knockouts=["x"])
    sheet, problems = check_sheet(rule_set, 1, form, complete=True)
    assert problems == {
        "A1": "range", "A2": "number", "A3": "decimals", "B1": "range", "C7": "missing",
        "minimums": "unknown", "knockouts": "unknown",
    }  # fmt: skip
    assert sheet.points["C1"] == Decimal("11.50")
    # A draft may leave sections empty, but not hold a wrong number.
    draft = SheetForm(points={"A1": "17.25", "A2": "10.5"})
    assert check_sheet(rule_set, 1, draft, complete=False)[1] == {"A2": "range"}
    assert check_sheet(rule_set, 1, full(), complete=True)[1] == {}
    # Set 5 has the three parts A 40 / B 25 / C 35.
    assert check_sheet(rule_set, 5, SheetForm({"A": "40", "B": "25.01", "C": "0"}),
                       complete=True)[1] == {"B": "range"}  # fmt: skip


async def test_saving_drafts_submitting_and_validation(council: Council) -> None:
    entry = await make_entry(council.db, council.round_id, council.bac_ninh)
    member = council.members[1]
    with pytest.raises(SheetInvalid) as refused:
        await council.save(entry, member, SheetForm({"A1": "18", "A2": "3.333"}), submit=False)
    assert refused.value.problems == {"A2": "decimals"}
    draft = await council.save(entry, member, SheetForm({"A1": "18"}, note=" nháp "), submit=False)
    assert (draft.version, draft.submitted_at, draft.points, draft.note) == (
        1, None, {"A1": "18.00"}, "nháp"
    )  # fmt: skip
    with pytest.raises(SheetInvalid) as incomplete:
        await council.save(entry, member, SheetForm({"A1": "18"}))
    assert incomplete.value.problems["C7"] == "missing"
    submitted = await council.save(entry, member, full(share="0.5"))
    assert submitted.version == 2 and submitted.submitted_at == council.clock.now()
    assert sum(Decimal(v) for v in submitted.points.values()) == Decimal("50.00")
    # Someone not on the council cannot save; an entry not in review cannot be scored.
    with pytest.raises(NotAllowed):
        await council.save(entry, council.manager, full())
    waiting = await make_entry(
        council.db, council.round_id, council.bac_ninh, status=EntryStatus.SUBMITTED
    )
    with pytest.raises(NotInReview):
        await council.save(waiting, member, full())
    async with council.db.sessions() as session:
        actions = (await session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity == "round_entry")
            .order_by(AuditEntry.id)
        )).all()  # fmt: skip
        details = (await session.scalars(select(AuditEntry.details))).all()
    assert actions == ["sheet.saved", "sheet.submitted"]
    assert not any("points" in d for d in details)  # the audit log does not leak scores


async def test_a_concurrent_save_is_told_not_overwritten(council: Council) -> None:
    entry = await make_entry(council.db, council.round_id, council.bac_ninh)
    member = council.members[0]
    # Two tabs opened on the empty sheet: the second save is told.
    await council.save(entry, member, SheetForm({"A1": "10"}), submit=False, version=0)
    with pytest.raises(StaleSheet) as stale:
        await council.save(entry, member, SheetForm({"A1": "12"}), submit=False, version=0)
    assert stale.value.version == 1 and stale.value.updated_at == council.clock.now()

    # Two saves of version 1 at the same moment: exactly one wins.
    async def attempt(points: str) -> str:
        try:
            await council.save(entry, member, SheetForm({"A1": points}), submit=False, version=1)
        except StaleSheet:
            return "stale"
        return "saved"

    results = await asyncio.gather(attempt("13"), attempt("14"))
    assert sorted(results) == ["saved", "stale"]
    async with council.db.sessions() as session:
        (row,) = (await session.scalars(select(ScoreSheet))).all()
    assert row.version == 2 and row.points["A1"] in {"13.00", "14.00"}


async def test_members_see_only_their_own_sheet_until_the_scores_close(council: Council) -> None:
    entry = await make_entry(council.db, council.round_id, council.bac_ninh)
    first, second, _third = council.members
    await council.save(entry, first, full(share="0.9"))
    await council.save(entry, second, full(share="0.7"))
    async with council.db.sessions() as session:
        access = await entry_access(session, entry, await scope_of(session, second))
        assert access is not None and access.seat is not None and not access.closed
        with pytest.raises(SheetSealed):
            await read_sheet(session, access, first.id, reader_id=second.id)
        own = await read_sheet(session, access, second.id, reader_id=second.id)
        assert own is not None and own.official_id == second.id
        listed = await sheets_for(session, access, reader_id=second.id)
        assert [official.id for _, official in listed] == [second.id]
        # The manager, not on the council, sees no sheet before the close either.
        managing = await entry_access(session, entry, await scope_of(session, council.manager))
        assert managing is not None and managing.manages and managing.seat is None
        assert await sheets_for(session, managing, reader_id=council.manager.id) == []
    # Officials neither on the council nor managing it do not reach the entry at all.
    da_mai = await area(council.db, "bac ninh", "Đa Mai")
    hanoi = await area(council.db, "ha noi")
    commune = await council.official("xa.damai", OfficialRole.COMMUNE, [da_mai])
    other = await council.official("tinh.hanoi", OfficialRole.PROVINCE, [hanoi])
    admin = await council.official("admin", council=False)
    async with council.db.sessions() as session:
        assert await entry_access(session, entry, await scope_of(session, commune)) is None
        assert await entry_access(session, entry, await scope_of(session, other)) is None
        found = await entry_access(session, entry, await scope_of(session, admin))
        assert found is not None and found.manages

    await council.close(first)  # the chair
    async with council.db.sessions() as session:
        access = await entry_access(session, entry, await scope_of(session, second))
        assert access is not None and access.closed
        assert (await read_sheet(session, access, first.id, reader_id=second.id)) is not None
        listed = await sheets_for(session, access, reader_id=second.id)
        assert sorted(o.id for _, o in listed) == sorted([first.id, second.id])


async def test_closing_computes_every_outcome_with_the_rounds_rules(council: Council) -> None:
    db = council.db
    five = await make_entry(db, council.round_id, council.bac_ninh, product="Mật ong")
    capped = await make_entry(db, council.round_id, council.bac_ninh, product="Chè", product_set=5)
    knocked = await make_entry(db, council.round_id, council.bac_ninh, product="Nước mắm")
    untouched = await make_entry(
        db, council.round_id, council.bac_ninh, product="Gạo", status=EntryStatus.SUBMITTED
    )
    a, b, c = council.members
    # 5★: 96, 92 and 91 → 93, every minimum met.
    for member, share in ((a, "0.96"), (b, "0.92"), (c, "0.91")):
        await council.save(five, member, full(share=share))
    # 80 points, but two of three find no registered trademark: capped at 2★.
    no_mark = [m for m in every_minimum(5) if m != "trademark"]
    await council.save(capped, a, full(5, "0.8", minimums=no_mark))
    await council.save(capped, b, full(5, "0.8", minimums=no_mark))
    await council.save(capped, c, full(5, "0.8"))
    # Two of three tick "no food safety certificate": knocked out whatever the points.
    await council.save(knocked, a, full(share="0.95", knockouts=["no_food_safety"]))
    await council.save(knocked, b, full(share="0.95", knockouts=["no_food_safety"]))
    await council.save(knocked, c, full(share="0.95"))

    # A member who is not the chair may not close.
    with pytest.raises(NotAllowed):
        await council.close(b)
    outcomes = await council.close(council.manager)
    assert set(outcomes) == {five, capped, knocked}
    async with db.sessions() as session:
        rows = {e.id: e for e in await session.scalars(select(RoundEntry))}
        round_ = await session.get_one(Round, council.round_id)
        closed = (await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "round.scores_closed")
        )).one()  # fmt: skip
    got = {
        i: (e.status, e.score, e.stars_by_points, e.stars, e.capped_by, e.knocked_out,
            e.potential_five_star, e.rules_version)
        for i, e in rows.items()
    }  # fmt: skip
    assert got == {
        five: ("scored", Decimal("93.00"), 5, 5, [], [], True, RULES),
        capped: ("scored", Decimal("80.00"), 4, 2, ["trademark"], [], False, RULES),
        knocked: ("scored", Decimal("95.00"), 5, 0, [], ["no_food_safety"], False, RULES),
        untouched: ("submitted", None, None, None, None, None, False, None),
    }
    assert round_.scores_closed_at == council.clock.now() and round_.version == 2
    assert closed.actor_id == council.manager.id and closed.details["entries"] == 3

    # Closed: no sheet changes, no second close, the council stays as it is.
    with pytest.raises(ScoresClosed):
        await council.save(five, a, full(share="0.5"))
    with pytest.raises(ScoresClosed):
        await council.close(a)
    async with db.transaction() as session:
        with pytest.raises(CouncilError):
            await remove_member(
                session, round_, c.id, actor_id=council.manager.id, clock=council.clock
            )


async def test_a_round_scores_by_its_own_rules_version(council: Council) -> None:
    """The round names its rule set: closing asks that version, not the one in force."""
    entry = await make_entry(council.db, council.round_id, council.bac_ninh)
    await council.save(entry, council.members[0], full())
    async with council.db.transaction() as session:
        round_ = await session.get_one(Round, council.round_id)
        round_.rules_version = "1999.9"
    with pytest.raises(KeyError, match=r"1999\.9"):
        await council.close(council.manager)


async def test_closing_is_refused_while_an_entry_has_no_submitted_sheet(council: Council) -> None:
    db = council.db
    done = await make_entry(db, council.round_id, council.bac_ninh, product="Mật ong")
    waiting = await make_entry(db, council.round_id, council.bac_ninh, product="Chè xanh")
    a = council.members[0]
    with pytest.raises(MissingSheets) as nothing:
        await council.close(a)
    assert {e for e, _ in nothing.value.entries} == {done, waiting}
    await council.save(done, a, full())
    await council.save(waiting, a, SheetForm({"A1": "1"}), submit=False)  # a draft is not a sheet
    with pytest.raises(MissingSheets) as missing:
        await council.close(a)
    assert missing.value.entries == [(waiting, "Chè xanh")]
    async with db.sessions() as session:
        round_ = await session.get_one(Round, council.round_id)
        assert round_.scores_closed_at is None
        statuses = (await session.scalars(select(RoundEntry.status))).all()
        assert set(statuses) == {EntryStatus.IN_REVIEW}
        assert not (await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "round.scores_closed")
        )).all()  # fmt: skip


async def test_the_council_is_made_of_council_officials(council: Council) -> None:
    db, clock = council.db, council.clock
    plain = await council.official("no.council", council=False)
    extra = await council.official("hd4", OfficialRole.PROVINCE, [council.bac_ninh])
    async with db.transaction() as session:
        round_ = await session.get_one(Round, council.round_id)
        assert [o.username for o in await candidates(session, round_.id)] == ["hd4"]
        with pytest.raises(CouncilError) as refused:
            await add_member(session, round_, plain.id, chair=False, actor_id=1, clock=clock)
        assert refused.value.reason == "not_council"
        with pytest.raises(CouncilError) as twice:
            await add_member(
                session, round_, council.members[1].id, chair=False, actor_id=1, clock=clock
            )
        assert twice.value.reason == "member"
        await add_member(session, round_, extra.id, chair=True, actor_id=1, clock=clock)
    async with db.sessions() as session:
        seats = await council_of(session, council.round_id)
    assert [(s.official.username, s.chair) for s in seats] == [
        ("hd4", True), ("hd1", False), ("hd2", False), ("hd3", False)
    ]  # fmt: skip
    async with db.transaction() as session:
        official = await session.get_one(Official, plain.id)
        assert await set_council(session, official, True, clock)
        assert not await set_council(session, official, True, clock)

    entry = await make_entry(db, council.round_id, council.bac_ninh)
    await council.save(entry, extra, SheetForm({"A1": "5"}), submit=False)
    await council.save(entry, council.members[1], full())
    async with db.sessions() as session:
        progress = {
            p.seat.official.username: p for p in await progress_of(session, council.round_id)
        }
    assert (progress["hd4"].drafts, progress["hd4"].submitted, progress["hd4"].to_score) == (
        1,
        0,
        1,
    )
    assert (progress["hd2"].drafts, progress["hd2"].submitted) == (0, 1)
    async with db.transaction() as session:
        round_ = await session.get_one(Round, council.round_id)
        with pytest.raises(CouncilError) as scored:
            await remove_member(session, round_, council.members[1].id, actor_id=1, clock=clock)
        assert scored.value.reason == "has_sheets"
        await remove_member(session, round_, extra.id, actor_id=1, clock=clock)
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ScoreSheet)) == 1
        actions = (await session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity == "round").order_by(AuditEntry.id)
        )).all()  # fmt: skip
    assert actions == ["council.add"] * 4 + ["council.remove"]
