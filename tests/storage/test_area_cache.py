"""Tests for storage/area_cache.py, on SQLite and PostgreSQL: the areas in memory answer what the
queries of storage/areas.py answer (the national list and the sample, with history: renames,
moves, corrections, closings, three levels, other names), on every day; an import committed in
this process is seen at the next lookup; one committed by another process (``ocop-bot areas
import``) once the refresh interval has passed on the clock, not before, and with no SQL
meanwhile."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.area_cache import REFRESH_SECONDS, AreaRecord, AreaSnapshot, current_areas
from storage.areas import (
    REFORM_DAY,
    AreaImportError,
    AreaMatch,
    ImportReport,
    communes_of,
    find_commune,
    find_province,
    get_area,
    import_areas,
    list_provinces,
)
from storage.clock import ManualClock
from storage.db import Database
from storage.models import Area
from storage.text import fold, strip_area_prefix
from tests.conftest import migrate
from tests.harness import copy_database, prepare_database
from tests.postgres import POSTGRES_URL, templates

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "communes-sample.csv"
OTHER_NAMES = ROOT / "tests" / "data" / "communes-merged-from.json"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

THREE_LEVELS = """\
code,name,level,parent_code
T1,Tỉnh Thử Nghiệm,province,
H1,Huyện Lục Ngạn,district,T1
X1,Xã Tân Lập,commune,H1
X2,Xã Kiên Thành,commune,H1
H2,Huyện Sơn Động,district,T1
X3,Thị trấn An Châu,commune,H2
"""
CHANGES = """\
code,name,level,parent_code,valid_from,valid_to
X1,Xã Tân Lập,commune,H2,2026-01-01,
X2,Xã Kiên Thành Sửa,,H1,2023-01-01,
X3,Thị trấn An Châu,commune,H2,,2025-12-31
"""
RENAMED = '[{"code": "24", "name": "Thành phố Bắc Ninh", "aliases": ["Kinh Bắc"]}]'
# None: today. The others fall before, on and after the reform, the changes and the rename.
DAYS = (
    None,
    date(2023, 6, 1),
    date(2025, 6, 30),
    REFORM_DAY,
    date(2026, 1, 1),
    date(2026, 12, 31),
    date(2027, 2, 1),
)
FIND_DAYS = (None, date(2023, 6, 1), date(2027, 2, 1))  # fewer: each find runs a query
TYPED_PROVINCES = (
    "bac can", "son laa", "ha tnh", "quang", "qwerty", "99", "1", "01", "hcm", "tp hcm",
    "sai gon", "vung tau", "ha tay", "bac giang", "kinh bac", "tp bac ninh", "thu nghiem", "T1",
)  # fmt: skip


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements ``db``'s engines run in the block."""
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    engines = {engine.sync_engine for engine in db.engines}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def record(area: Area | None) -> AreaRecord | None:
    """A stored area as the cache holds it."""
    if area is None:
        return None
    return AreaRecord(**{f.name: getattr(area, f.name) for f in fields(AreaRecord)})


def records(areas: Sequence[Area]) -> list[AreaRecord | None]:
    return [record(area) for area in areas]


def matches(found: Sequence[AreaMatch[Area]] | Sequence[AreaMatch[AreaRecord]]) -> list[object]:
    return [
        (m.area if isinstance(m.area, AreaRecord) else record(m.area), m.score, m.via)
        for m in found
    ]


def spellings(area: AreaRecord) -> list[str]:
    """What people type for an area: its name, without diacritics, without the unit word, a
    letter missing, its code."""
    folded = strip_area_prefix(fold(area.name))
    return [area.name, folded, folded[:-1], area.code]


async def assert_same_answers(db: Database) -> int:
    """Compares the lookups of the cache with their queries: every area by id, provinces and
    communes of every parent on each of :data:`DAYS`, names found on :data:`FIND_DAYS`;
    returns how many answers were compared."""
    async with db.sessions() as session:
        snapshot = await current_areas(session)
        stored = list(await session.scalars(select(Area).order_by(Area.id)))
        assert [snapshot.get(area.id) for area in stored] == records(stored)
        last = stored[-1].id
        for area_id in (stored[0].id, last, last + 1):
            assert snapshot.get(area_id) == record(await get_area(session, area_id))
        compared = len(stored) + 3
        parents = sorted({area.parent_id for area in stored if area.parent_id is not None})
        for day in DAYS:
            provinces = snapshot.provinces(on=day)
            assert list(provinces) == records(await list_provinces(session, on=day)), day
            for area_id in [*parents, last, last + 1]:
                sql = await communes_of(session, area_id, on=day)
                assert list(snapshot.communes_of(area_id, on=day)) == records(sql), (day, area_id)
                compared += 1
            if day not in FIND_DAYS:
                continue
            typed = [*TYPED_PROVINCES, *(t for p in provinces for t in spellings(p))]
            for text in typed:
                sql_matches = await find_province(session, text, on=day)
                assert matches(snapshot.find_province(text, on=day)) == matches(sql_matches)
                compared += 1
            compared += await same_communes_found(session, snapshot, provinces, day)
    return compared


async def same_communes_found(
    session: AsyncSession,
    snapshot: AreaSnapshot,
    provinces: Sequence[AreaRecord],
    day: date | None,
) -> int:
    compared = 0
    for province in provinces:
        communes = snapshot.communes_of(province.id, on=day)
        typed = ["zzzz", "pho co", "hang bac", "kien thanh"]
        typed += [t for commune in communes[len(communes) // 2 :][:1] for t in spellings(commune)]
        for text in typed:
            sql = await find_commune(session, province.id, text, on=day)
            assert matches(snapshot.find_commune(province.id, text, on=day)) == matches(sql)
            compared += 1
    return compared


async def add_history(db: Database, tmp_path: Path) -> None:
    """Other names, a three-level province, a move, a correction in place, a closing and a
    renamed province, each by an import."""
    three_levels = tmp_path / "three-levels.csv"
    three_levels.write_text(THREE_LEVELS, encoding="utf-8")
    changes = tmp_path / "changes.csv"
    changes.write_text(CHANGES, encoding="utf-8")
    renamed = tmp_path / "renamed.json"
    renamed.write_text(RENAMED, encoding="utf-8")
    async with db.transaction() as session:
        await import_areas(session, OTHER_NAMES, valid_from=REFORM_DAY)
        await import_areas(session, three_levels, valid_from=date(2023, 1, 1))
    async with db.transaction() as session:
        report = await import_areas(session, changes, valid_from=date(2026, 1, 1))
        assert report == ImportReport(moved=1, renamed=1, closed=1)
    async with db.transaction() as session:
        assert await import_areas(session, renamed, valid_from=date(2027, 1, 1)) == ImportReport(
            renamed=1
        )


@pytest.fixture(params=BACKENDS)
async def areas_db(
    request: pytest.FixtureRequest, prepared_database: Path, tmp_path: Path
) -> AsyncIterator[Database]:
    """A database with the provinces and communes (the national list from ../shared when it is
    there, else the sample), on each backend."""
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("OCOP_TEST_POSTGRES_URL is not set")
        async with templates().copy("areas", prepare_database, "ocop_test_area_cache") as url:
            db = Database(url)
            yield db
            await db.dispose()
        return
    db = Database(copy_database(prepared_database, tmp_path / "areas.sqlite3"))
    yield db
    await db.dispose()


@pytest.fixture(params=BACKENDS)
async def sample_db(
    request: pytest.FixtureRequest, migrated_sqlite: Path, tmp_path: Path
) -> AsyncIterator[Database]:
    """A migrated database with the sample of tests/data imported, on each backend."""

    async def imported(db: Database) -> Database:
        async with db.transaction() as session:
            await import_areas(session, SAMPLE, valid_from=REFORM_DAY)
        return db

    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("OCOP_TEST_POSTGRES_URL is not set")
        async with templates().copy("schema", migrate, "ocop_test_area_cache") as url:
            db = await imported(Database(url))
            yield db
            await db.dispose()
        return
    db = await imported(Database(copy_database(migrated_sqlite, tmp_path / "sample.sqlite3")))
    yield db
    await db.dispose()


async def test_memory_answers_as_the_queries_on_the_national_list(
    areas_db: Database, tmp_path: Path
) -> None:
    await add_history(areas_db, tmp_path)
    compared = await assert_same_answers(areas_db)
    print(f"{compared:,} answers compared")
    assert compared > 1000


async def test_memory_answers_as_the_queries_on_the_sample(
    sample_db: Database, tmp_path: Path
) -> None:
    await add_history(sample_db, tmp_path)
    assert await assert_same_answers(sample_db) > 500


async def add_commune(db: Database, tmp_path: Path, code: str, name: str) -> ImportReport:
    path = tmp_path / f"{code}.csv"
    path.write_text(f"code,name,parent_code\n{code},{name},24\n", encoding="utf-8")
    async with db.transaction() as session:
        return await import_areas(session, path)


async def test_an_import_in_this_process_is_seen_at_the_next_lookup(
    areas_db: Database, tmp_path: Path
) -> None:
    clock = ManualClock()
    async with areas_db.transaction() as session:
        before = await current_areas(session, clock)
        bac_ninh = before.find_province("bac ninh")[0].area
        assert before.find_commune(bac_ninh.id, "thu nghiem moi") == []
    assert await add_commune(areas_db, tmp_path, "99001", "Xã Thử Nghiệm Mới") == ImportReport(
        added=1
    )
    async with areas_db.transaction() as session:
        after = await current_areas(session, clock)
        (found,) = after.find_commune(bac_ninh.id, "thu nghiem moi")
        sql = await find_commune(session, bac_ninh.id, "thu nghiem moi")
    assert after is not before
    assert matches([found]) == matches(sql)
    assert found.area.name == "Xã Thử Nghiệm Mới" and found.exact

    # An import that changes nothing, and one that fails, keep the areas loaded.
    assert await add_commune(areas_db, tmp_path, "99001", "Xã Thử Nghiệm Mới") == ImportReport(
        unchanged=1
    )
    with pytest.raises(AreaImportError):
        await add_commune(areas_db, tmp_path, "99002", "")
    with statements(areas_db) as seen:
        async with areas_db.transaction() as session:
            assert await current_areas(session, clock) is after
    assert not [s for s in seen if "areas" in s or "data_versions" in s]


async def test_another_process_import_is_seen_after_the_refresh_interval(
    areas_db: Database, tmp_path: Path
) -> None:
    clock = ManualClock()
    async with areas_db.transaction() as session:
        before = await current_areas(session, clock)
    bac_ninh = before.find_province("bac ninh")[0].area
    path = tmp_path / "other-process.csv"
    path.write_text("code,name,parent_code\n99003,Xã Từ Nơi Khác,24\n", encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "areas", "import", str(path), cwd=ROOT,
        env={**os.environ, "OCOP_DATABASE_URL": areas_db.url,
             "OCOP_BLOB_DIR": str(tmp_path / "blobs")},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert "1 added" in out.decode()

    with statements(areas_db) as seen:
        for wait in (0.0, REFRESH_SECONDS - 1):
            clock.advance(wait)
            async with areas_db.transaction() as session:
                assert await current_areas(session, clock) is before
    assert not [s for s in seen if "areas" in s or "data_versions" in s]
    assert before.find_commune(bac_ninh.id, "tu noi khac") == []

    clock.advance(1)
    with statements(areas_db) as seen:
        async with areas_db.transaction() as session:
            after = await current_areas(session, clock)
            sql = await find_commune(session, bac_ninh.id, "tu noi khac")
    assert after is not before
    (found,) = after.find_commune(bac_ninh.id, "tu noi khac")
    assert found.area.name == "Xã Từ Nơi Khác"
    assert matches([found]) == matches(sql)
    assert sum("data_versions" in s for s in seen) == 2  # the check, and the load

    # Once loaded, the next check is another interval away.
    with statements(areas_db) as seen:
        clock.advance(REFRESH_SECONDS - 1)
        async with areas_db.transaction() as session:
            assert await current_areas(session, clock) is after
    assert not [s for s in seen if "areas" in s or "data_versions" in s]
