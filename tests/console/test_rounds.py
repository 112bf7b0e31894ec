"""Rounds in the console on both backends: a province official creates a round from the default
calendar pre-filled (the next year whose deadline is ahead) and is told what is wrong; a second
editor is told the round changed; a commune official reads the rounds covering them and cannot
create or change one; another province's round is a 404; the board counts entries by state,
assigns one (a stale assignment told) and adds a filed dossier that is in no round."""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import select

from storage.clock import local_date, local_time
from storage.models import AuditEntry, Dossier, Official, Round, RoundArea, RoundEntry, Timer
from storage.officials import scope_of
from storage.rounds import RoundValues, create_round, enter_round, update_round
from storage.states import EntryStatus, OfficialRole, RoundLevel, TimerStatus
from tests.console.conftest import Console, csrf_of
from tests.console.dashboard_data import add_dossier


async def page(console: Console, path: str, status: int = 200) -> str:
    response = await console.get(path)
    assert response.status == status, (path, response.status)
    return await response.text()


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    assert found, name
    return found.group(1)


FIELDS = ("name", "opens_on", "submission_deadline", "evaluation_deadline", "results_on")


async def test_a_round_created_from_the_default_calendar(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    await console.official("tinh.bn", OfficialRole.PROVINCE, [bac_ninh], locale="vi")
    await console.sign_in("tinh.bn")
    # The clock says 29/11/2026: both province deadlines of 2026 are past, so 2027's.
    form = await page(console, "/console/rounds/new")
    assert field(form, "name") == "Đợt 1 cấp tỉnh 2027"
    assert field(form, "opens_on") == "2027-01-01"
    assert field(form, "submission_deadline") == "2027-04-30"
    assert field(form, "results_on") == "2027-06-30"
    assert f'value="{bac_ninh.id}" checked' in form
    second = await page(console, "/console/rounds/new?template=province-1")
    assert field(second, "submission_deadline") == "2027-10-30"
    assert field(second, "name") == "Đợt 2 cấp tỉnh 2027"

    data = {name: field(form, name) for name in FIELDS}
    wrong = await console.post(
        "/console/rounds/new",
        {"csrf_token": csrf_of(form), **data, "level": "province", "areas": str(bac_ninh.id),
         "results_on": "2027-03-01"},
    )  # fmt: skip
    text = await wrong.text()
    assert wrong.status == 400 and "Các mốc thời gian phải theo thứ tự" in text
    assert 'aria-describedby="round-results_on-error"' in text

    created = await console.post(
        "/console/rounds/new",
        {"csrf_token": csrf_of(form), **data, "level": "province", "areas": str(bac_ninh.id),
         "ceremony_on": "15/07/2027"},
    )  # fmt: skip
    assert created.status == 303, await created.text()
    round_id = int(created.headers["Location"].rsplit("/", 1)[1])
    async with console.db.sessions() as session:
        stored = await session.get_one(Round, round_id)
        areas = (await session.scalars(select(RoundArea.area_id))).all()
        audited = await session.scalar(select(AuditEntry).where(AuditEntry.entity == "round"))
    assert stored.submission_deadline == date(2027, 4, 30)
    assert stored.ceremony_on == date(2027, 7, 15) and stored.rules_version == "2026.1"
    assert list(areas) == [bac_ninh.id]
    assert audited is not None and audited.action == "round.created"
    listed = await page(console, "/console/rounds")
    assert "Đợt 1 cấp tỉnh 2027" in listed and "30/04/2027" in listed
    assert "Sắp mở" in listed  # upcoming


async def test_a_second_editor_is_told(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    first = await console.official("tinh.bn", OfficialRole.PROVINCE, [bac_ninh], locale="en")
    other = await console.official(
        "tinh.bn2", OfficialRole.PROVINCE, [bac_ninh], name="Trần Văn Hùng"
    )
    round_id = await _round(console, first.id, bac_ninh.id)
    await console.sign_in("tinh.bn")
    form = await page(console, f"/console/rounds/{round_id}/edit")
    assert field(form, "version") == "1"
    async with console.db.transaction() as session:
        scope = await scope_of(session, other)
        await update_round(
            session, scope, round_id, _values(bac_ninh.id, "Renamed by Hùng"), version=1,
            now=console.clock.now(),
        )  # fmt: skip
    data = {name: field(form, name) for name in FIELDS}
    late = await console.post(
        f"/console/rounds/{round_id}/edit",
        {"csrf_token": csrf_of(form), **data, "name": "Mine", "level": "province",
         "areas": str(bac_ninh.id), "version": "1"},
    )  # fmt: skip
    text = await late.text()
    assert late.status == 409
    assert "Not saved: Trần Văn Hùng changed this round after you opened the page" in text
    assert 'value="Renamed by Hùng"' in text and 'name="version" value="2"' in text
    ok = await console.post(
        f"/console/rounds/{round_id}/edit",
        {"csrf_token": csrf_of(text), **data, "name": "Mine", "level": "province",
         "areas": str(bac_ninh.id), "version": "2"},
    )  # fmt: skip
    assert ok.status == 303
    async with console.db.sessions() as session:
        assert (await session.get_one(Round, round_id)).name == "Mine"


async def _reminders(
    console: Console, round_id: int, status: TimerStatus = TimerStatus.PENDING
) -> dict[tuple[str, int], datetime]:
    """The round's deadline reminders in ``status``: (deadline announced, days before) -> when
    due."""
    async with console.db.sessions() as session:
        rows = await session.scalars(
            select(Timer).where(Timer.key.like(f"round:{round_id}:%"), Timer.status == status)
        )
        found = {}
        for timer in rows:
            _round, _id, _kind, deadline, days = timer.key.split(":")
            found[(deadline, int(days))] = timer.due_at
        return found


def _eight(day: int) -> datetime:
    """08:00 in Vietnam on ``day``/04/2027: when a reminder of that day falls due."""
    return local_time(date(2027, 4, day), 8)


async def _save(console: Console, round_id: int, area: int, **changes: str) -> None:
    """Open the round's form and save it with ``changes``."""
    form = await page(console, f"/console/rounds/{round_id}/edit")
    data = {name: field(form, name) for name in (*FIELDS, "version")}
    saved = await console.post(
        f"/console/rounds/{round_id}/edit",
        {"csrf_token": csrf_of(form), **data, "level": "province",
         "areas": str(area), **changes},
    )  # fmt: skip
    assert saved.status == 303, await saved.text()


async def test_saving_a_round_moves_its_deadline_reminders(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    await console.official("tinh.bn", OfficialRole.PROVINCE, [bac_ninh], locale="en")
    await console.sign_in("tinh.bn")
    form = await page(console, "/console/rounds/new")
    created = await console.post(
        "/console/rounds/new",
        {"csrf_token": csrf_of(form), **{name: field(form, name) for name in FIELDS},
         "level": "province", "areas": str(bac_ninh.id)},
    )  # fmt: skip
    round_id = int(created.headers["Location"].rsplit("/", 1)[1])
    april = "2027-04-30"
    assert await _reminders(console, round_id) == {  # 08:00, 14, 7 and 1 days before 30/04
        (april, 14): _eight(16), (april, 7): _eight(23), (april, 1): _eight(29),
    }  # fmt: skip

    # 10/04/2027: the deadline brought forward to 20/04; the 14-day reminder's day is past.
    console.clock.advance(days=132)
    assert local_date(console.clock) == date(2027, 4, 10)
    await console.sign_in_as("tinh.bn")
    await _save(console, round_id, bac_ninh.id, submission_deadline="2027-04-20")
    early = "2027-04-20"
    assert await _reminders(console, round_id) == {
        (early, 7): _eight(13), (early, 1): _eight(19),
    }  # fmt: skip
    assert len(await _reminders(console, round_id, TimerStatus.CANCELLED)) == 3
    # Moved back to 30/04 two days later: its cancelled reminders wait again.
    console.clock.advance(days=2)
    await console.sign_in_as("tinh.bn")
    await _save(console, round_id, bac_ninh.id, submission_deadline=april)
    assert await _reminders(console, round_id) == {
        (april, 14): _eight(16), (april, 7): _eight(23), (april, 1): _eight(29),
    }  # fmt: skip
    # The 14-day reminder went on 16/04; on 20/04 the deadline is pushed to 15/05: the new
    # date gets its own reminders, the 14-day one included (the one sent announced 30/04).
    async with console.db.transaction() as session:
        sent = await session.scalar(
            select(Timer).where(Timer.key == f"round:{round_id}:deadline:{april}:14")
        )
        assert sent is not None
        sent.status = TimerStatus.DONE
    console.clock.advance(days=8)
    await console.sign_in_as("tinh.bn")
    await _save(console, round_id, bac_ninh.id, submission_deadline="2027-05-15")
    may = "2027-05-15"
    assert await _reminders(console, round_id) == {
        (may, 14): local_time(date(2027, 5, 1), 8), (may, 7): local_time(date(2027, 5, 8), 8),
        (may, 1): local_time(date(2027, 5, 14), 8),
    }  # fmt: skip
    assert await _reminders(console, round_id, TimerStatus.DONE) == {(april, 14): _eight(16)}
    # A central round reminds nobody (producers file to province rounds): none waits.
    await _save(console, round_id, bac_ninh.id, level="central")
    assert await _reminders(console, round_id) == {}
    form = await page(console, "/console/rounds/new?template=central-1")
    central = await console.post(
        "/console/rounds/new",
        {"csrf_token": csrf_of(form), **{name: field(form, name) for name in FIELDS},
         "level": "central", "areas": str(bac_ninh.id)},
    )  # fmt: skip
    assert central.status == 303, await central.text()
    assert await _reminders(console, int(central.headers["Location"].rsplit("/", 1)[1])) == {}


async def test_scope_commune_officials_read_only(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    luc_ngan = await console.area("bac ninh", "Lục Ngạn")
    ha_noi = await console.area("ha noi")
    province = await console.official("tinh.bn", OfficialRole.PROVINCE, [bac_ninh])
    await console.official("xa.ln", OfficialRole.COMMUNE, [luc_ngan], locale="en")
    await console.official("tinh.hn", OfficialRole.PROVINCE, [ha_noi])
    round_id = await _round(console, province.id, bac_ninh.id)
    producer_id = await console.producer("HTX Lục Ngạn", bac_ninh, luc_ngan)
    dossier_id = await add_dossier(console, producer_id)
    await _enter(console, dossier_id, round_id)

    await console.sign_in("xa.ln")
    listed = await page(console, "/console/rounds")
    assert "Đợt 1 cấp tỉnh 2027" in listed and "New round" not in listed
    await page(console, "/console/rounds/new", 403)
    board = await page(console, f"/console/rounds/{round_id}")
    assert "round-assign" not in board and "Change the round" not in board
    assert f"/console/rounds/{round_id}/council" in board
    csrf = csrf_of(board)
    for path in ("/console/rounds/new", f"/console/rounds/{round_id}/edit"):
        response = await console.post(path, {"csrf_token": csrf, "name": "x"})
        assert response.status == 403, path

    await console.sign_in("tinh.hn")  # another province's round does not exist for them
    await page(console, f"/console/rounds/{round_id}", 404)
    await page(console, f"/console/rounds/{round_id}/edit", 404)
    assert "Đợt 1 cấp tỉnh 2027" not in await page(console, "/console/rounds")


async def test_board_counts_assignment_and_adding_a_dossier(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    luc_ngan = await console.area("bac ninh", "Lục Ngạn")
    province = await console.official(
        "tinh.bn", OfficialRole.PROVINCE, [bac_ninh], name="Lê Thị Mai", locale="en"
    )
    round_id = await _round(console, province.id, bac_ninh.id)
    producer_id = await console.producer("HTX Lục Ngạn", bac_ninh, luc_ngan)
    first = await _enter(console, await add_dossier(console, producer_id, name="Chè"), round_id)
    await _enter(console, await add_dossier(console, producer_id, name="Mật ong"), round_id)
    loose = await add_dossier(console, producer_id, name="Miến dong")

    await console.sign_in("tinh.bn")
    board = await page(console, f"/console/rounds/{round_id}")
    assert "All: 2" in board and "Submitted: 2" in board and "In review: 0" in board
    assert "Filed dossiers in no round" in board and "Add Miến dong to this round" in board
    assert f"/console/entries/{first}/score" in board

    assigned = await console.post(
        f"/console/rounds/{round_id}/entries/{first}/assign",
        {"csrf_token": csrf_of(board), "official": str(province.id), "version": "1"},
    )
    assert assigned.status == 303
    stale = await console.post(
        f"/console/rounds/{round_id}/entries/{first}/assign",
        {"csrf_token": csrf_of(board), "official": str(province.id), "version": "1"},
    )
    assert stale.status == 409
    assert "it is now assigned to Lê Thị Mai" in await stale.text()

    added = await console.post(
        f"/console/rounds/{round_id}/entries",
        {"csrf_token": csrf_of(board), "dossier": str(loose)},
    )
    assert added.status == 303
    board = await page(console, f"/console/rounds/{round_id}")
    assert "All: 3" in board and "Submitted: 2" in board and "In review: 1" in board
    assert "Filed dossiers in no round" not in board
    only = await page(console, f"/console/rounds/{round_id}?status=in_review")
    assert "Chè" in only and "Mật ong" not in only
    async with console.db.sessions() as session:
        entry = await session.get_one(RoundEntry, first)
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert entry.status == EntryStatus.IN_REVIEW and entry.assigned_to == province.id
    assert "round.assigned" in actions


# -- helpers ------------------------------------------------------------------------------------


def _values(area_id: int, name: str = "Đợt 1 cấp tỉnh 2027") -> RoundValues:
    return RoundValues(
        level=RoundLevel.PROVINCE, name=name, opens_on=date(2027, 1, 1),
        submission_deadline=date(2027, 4, 30), evaluation_deadline=date(2027, 6, 30),
        results_on=date(2027, 6, 30), ceremony_on=None, area_ids=(area_id,),
    )  # fmt: skip


async def _round(console: Console, official_id: int, area_id: int) -> int:
    async with console.db.transaction() as session:
        official = await session.get_one(Official, official_id)
        scope = await scope_of(session, official)
        created = await create_round(
            session, scope, _values(area_id), rules_version="2026.1", now=console.clock.now()
        )
        return created.id


async def _enter(console: Console, dossier_id: int, round_id: int) -> int:
    async with console.db.transaction() as session:
        dossier = await session.get_one(Dossier, dossier_id)
        entry = await enter_round(
            session, dossier, await session.get_one(Round, round_id), console.clock.now()
        )
        return entry.id
