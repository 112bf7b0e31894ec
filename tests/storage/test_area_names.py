"""Tests for the other names of areas (storage/areas.py): aliases and merged-from names read by
the importer (CSV and JSON), stored with the area (migration 0007), kept, changed in place and
carried to a new version; and found by find_commune as provinces are. On SQLite and, with
OCOP_TEST_POSTGRES_URL, on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.areas import (
    REFORM_DAY,
    AreaImportError,
    ImportReport,
    OtherName,
    find_commune,
    find_province,
    import_areas,
)
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Area
from tests.postgres import POSTGRES_URL, temporary_database

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

# Two wards of Hà Nội as the 2025 list has them, with wards merged into them on 1 July 2025.
CSV = """\
code,name,parent_code,merged_from,aliases
00004,Phường Ba Đình,01,Phường Quán Thánh | Phường Trúc Bạch,
00070,Phường Hoàn Kiếm,01,"Phường Hàng Bạc; Phường Hàng Đào",Phố cổ
"""
JSON = """[
  {"Code": "00004", "FullName": "Phường Ba Đình", "ProvinceCode": "01",
   "OldNames": ["Phường Quán Thánh", "Phường Trúc Bạch"]},
  {"Code": "00070", "FullName": "Phường Hoàn Kiếm", "ProvinceCode": "01",
   "merged_from": "Phường Hàng Bạc | Phường Hàng Đào", "aliases": ["Phố cổ"]}
]"""


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database brought to the head migration (the 34 provinces seeded), on each backend."""
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("OCOP_TEST_POSTGRES_URL is not set")
        async with temporary_database(POSTGRES_URL, "ocop_test_area_names") as url:
            db = Database(url)
            await upgrade(db.engine)
            yield db
            await db.dispose()
        return
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'areas.sqlite3'}")
    await upgrade(db.engine)
    yield db
    await db.dispose()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def hanoi_id(db: Database) -> int:
    async with db.sessions() as session:
        (found,) = await find_province(session, "ha noi")
    return found.area.id


async def found(db: Database, typed: str) -> list[tuple[str, bool, OtherName | None]]:
    province = await hanoi_id(db)
    async with db.sessions() as session:
        matches = await find_commune(session, province, typed)
    return [(m.area.name, m.exact, m.via) for m in matches]


@pytest.mark.parametrize(("name", "text"), [("names.csv", CSV), ("names.json", JSON)])
async def test_imported_old_names_find_the_new_commune(
    database: Database, tmp_path: Path, name: str, text: str
) -> None:
    async with database.transaction() as session:
        report = await import_areas(session, write(tmp_path, name, text), valid_from=REFORM_DAY)
    assert report == ImportReport(added=2)
    quan_thanh = OtherName("Phường Quán Thánh", "Phường Quán Thánh", REFORM_DAY)
    assert await found(database, "quan thanh") == [("Phường Ba Đình", True, quan_thanh)]
    assert (await found(database, "Phường Trúc Bạch"))[0][:2] == ("Phường Ba Đình", True)
    hang_dao = OtherName("Phường Hàng Đào", "Phường Hàng Đào", REFORM_DAY)
    assert await found(database, "hang dao") == [("Phường Hoàn Kiếm", True, hang_dao)]
    assert await found(database, "pho co") == [("Phường Hoàn Kiếm", True, OtherName("Phố cổ"))]
    assert await found(database, "ba dinh") == [("Phường Ba Đình", True, None)]
    near = await found(database, "quan thanhh")
    assert near[0] == ("Phường Ba Đình", False, quan_thanh)


async def test_names_are_kept_changed_in_place_and_carried_to_a_new_version(
    database: Database, tmp_path: Path
) -> None:
    async with database.transaction() as session:
        await import_areas(session, write(tmp_path, "v1.csv", CSV), valid_from=REFORM_DAY)
    without_names = write(
        tmp_path, "plain.csv", "code,name,parent_code\n00004,Phường Ba Đình,01\n"
    )
    fewer_names = write(
        tmp_path,
        "fewer.json",
        '[{"code": "00004", "name": "Phường Ba Đình", "ma cha": "01", "tên cũ": []}]',
    )
    renamed = write(
        tmp_path, "renamed.csv", "code,name,parent_code\n00004,Phường Ba Đình Mới,01\n"
    )
    async with database.transaction() as session:
        assert await import_areas(session, without_names) == ImportReport(unchanged=1)
    assert (await found(database, "truc bach"))[0][0] == "Phường Ba Đình"
    async with database.transaction() as session:
        report = await import_areas(session, write(tmp_path, "v1-again.csv", CSV))
        assert report == ImportReport(unchanged=2)
        report = await import_areas(session, fewer_names)
        assert report == ImportReport(named=1)
        assert str(report).endswith("0 closed, 1 with new other names")
    assert not [name for name, exact, _ in await found(database, "truc bach") if exact]
    async with database.transaction() as session:
        await import_areas(session, write(tmp_path, "v2.csv", CSV))  # names back, in place
        assert await session.scalar(select(func.count()).where(Area.code == "00004")) == 1
        report = await import_areas(session, renamed, valid_from=date(2026, 1, 1))
        assert report == ImportReport(renamed=1)
    assert (await found(database, "truc bach"))[0][:2] == ("Phường Ba Đình Mới", True)


async def test_names_must_be_text(database: Database, tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "bad.json",
        '[{"code": "00004", "name": "Phường Ba Đình", "parent_code": "01", "merged_from": [7]},'
        ' {"code": "00070", "name": "Phường Hoàn Kiếm", "parent_code": "01", "aliases": {}}]',
    )
    async with database.transaction() as session:
        with pytest.raises(AreaImportError) as raised:
            await import_areas(session, bad)
    assert raised.value.problems == [
        "item 1: merged_from must be a list of names",
        "item 2: aliases must be text",
    ]
