"""Tests for storage/areas.py: importing unit lists (the real 2025 list, CSV, JSON), versions on
rename, file errors, and the lookups the registration conversation uses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.areas import (
    AreaImportError,
    ImportReport,
    communes_of,
    find_commune,
    find_province,
    get_area,
    import_areas,
    list_provinces,
    province_rows,
    seed_provinces,
)
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Area
from storage.text import strip_area_prefix
from tests.conftest import migrated_copy
from tests.harness import copy_database

# The shared data sits next to the project: ../shared/data (never copied into it).
REAL_FILE = Path(__file__).resolve().parents[3] / "shared" / "data" / "vn-admin-units-2025.json"
needs_real_file = pytest.mark.skipif(
    not REAL_FILE.exists(), reason=f"shared data not found: {REAL_FILE} (see shared/data/README)"
)
REFORM = date(2025, 7, 1)

# Communes per province, from the table of Decision 19/2025/QĐ-TTg in docs/ocop-domain.md.
COMMUNES = {
    "01": 126, "04": 56, "08": 124, "11": 45, "12": 38, "14": 75, "15": 99, "19": 92, "20": 65,
    "22": 54, "24": 99, "25": 148, "31": 114, "33": 104, "37": 129, "38": 166, "40": 130,
    "42": 69, "44": 78, "46": 40, "48": 94, "51": 96, "52": 135, "56": 65, "66": 102, "68": 124,
    "75": 95, "79": 168, "80": 96, "82": 102, "86": 124, "91": 102, "92": 103, "96": 64,
}  # fmt: skip


@pytest.fixture
async def migrated(migrated_sqlite: Path, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh SQLite file database at the head migration (34 provinces seeded): a copy of the
    one the test process migrated."""
    database = migrated_copy(migrated_sqlite, tmp_path / "areas.sqlite3")
    yield database
    await database.dispose()


@pytest.fixture(scope="module")
def imported_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with the real 2025 list imported, made once for the module."""

    async def make(url: str) -> None:
        database = Database(url)
        try:
            await upgrade(database.engine)
            async with database.transaction() as session:
                await import_areas(session, REAL_FILE, valid_from=REFORM)
        finally:
            await database.dispose()

    path = tmp_path_factory.mktemp("areas") / "imported.sqlite3"
    asyncio.run(make(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
async def imported(imported_template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    """A copy of the migrated database with the real 2025 list imported (tests using it need
    the file)."""
    database = Database(copy_database(imported_template, tmp_path / "imported.sqlite3"))
    yield database
    await database.dispose()


async def count_areas(session: AsyncSession) -> int:
    return (await session.scalar(select(func.count()).select_from(Area))) or 0


async def province(session: AsyncSession, typed: str) -> Area:
    (found,) = await find_province(session, typed)
    return found.area


async def find_communes(
    session: AsyncSession, province_id: int, typed: str, limit: int = 6
) -> list[Area]:
    return [match.area for match in await find_commune(session, province_id, typed, limit)]


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


# --- the real list of 2025 ----------------------------------------------------------------


@needs_real_file
async def test_real_file_imports_34_provinces_and_3321_communes(migrated: Database) -> None:
    started = time.perf_counter()
    async with migrated.transaction() as session:
        report = await import_areas(session, REAL_FILE, valid_from=REFORM)
    elapsed = time.perf_counter() - started
    print(f"imported 3,321 communes in {elapsed:.2f} s")
    assert elapsed < 10
    assert report == ImportReport(added=3321, unchanged=34)  # provinces came with the migration
    async with migrated.sessions() as session:
        provinces = await list_provinces(session)
        assert len(provinces) == 34
        counts = {p.code: len(await communes_of(session, p.id)) for p in provinces}
        assert counts == COMMUNES
        assert sum(counts.values()) == 3321
        bac_ninh = await province(session, "bac ninh")
        assert bac_ninh.name == "Tỉnh Bắc Ninh"
        assert len(await communes_of(session, bac_ninh.id)) == 99


@needs_real_file
async def test_reimport_changes_nothing(imported: Database) -> None:
    async with imported.transaction() as session:
        before = await count_areas(session)
        report = await import_areas(session, REAL_FILE)
        assert report == ImportReport(unchanged=3355)
        assert await count_areas(session) == before


@needs_real_file
@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("bac ninh", "24"),
        ("Bắc Ninh", "24"),
        ("tinh bac ninh", "24"),
        ("24", "24"),
        ("ha noi", "01"),
        ("Hà Nội", "01"),
        ("hanoi", "01"),
        ("1", "01"),
        ("hue", "46"),
        ("tp hue", "46"),
        ("thua thien hue", "46"),
        ("tp hcm", "79"),
        ("TP.HCM", "79"),
        ("hcm", "79"),
        ("ho chi minh", "79"),
        ("sai gon", "79"),
        ("thanh hoa", "38"),
        ("dak lak", "66"),
        ("bac giang", "24"),  # merged into Bắc Ninh on 1 July 2025
        ("vung tau", "79"),  # a city of a province merged into it: an alias of that province
    ],
)
async def test_find_province(imported: Database, typed: str, code: str) -> None:
    async with imported.sessions() as session:
        found = await find_province(session, typed)
    assert found[0].area.code == code


# Old names and typical spellings → (code of the province, the unit merged into it that the
# match goes through, or "" for an alias). Mergers: Resolution 202/2025/QH15, from 1 July 2025;
# Hà Tây: Resolution 15/2008/QH12, from 1 August 2008.
OLD_NAMES = {
    "ha tay": ("01", "Tỉnh Hà Tây"),
    "sai gon": ("79", ""),
    "tp hcm": ("79", ""),
    "hue": ("46", ""),
    "thua thien hue": ("46", ""),
    "vung tau": ("79", "Tỉnh Bà Rịa - Vũng Tàu"),
    "ba ria vung tau": ("79", "Tỉnh Bà Rịa - Vũng Tàu"),
    "binh duong": ("79", "Tỉnh Bình Dương"),
    "quang nam": ("48", "Tỉnh Quảng Nam"),
    "kon tum": ("51", "Tỉnh Kon Tum"),
    "kontum": ("51", "Tỉnh Kon Tum"),
    "dak nong": ("68", "Tỉnh Đắk Nông"),
    "ha giang": ("08", "Tỉnh Hà Giang"),
    "yen bai": ("15", "Tỉnh Yên Bái"),
    "bac kan": ("19", "Tỉnh Bắc Kạn"),
    "vinh phuc": ("25", "Tỉnh Vĩnh Phúc"),
    "hoa binh": ("25", "Tỉnh Hoà Bình"),
    "bac giang": ("24", "Tỉnh Bắc Giang"),
    "hai duong": ("31", "Tỉnh Hải Dương"),
    "thai binh": ("33", "Tỉnh Thái Bình"),
    "nam dinh": ("37", "Tỉnh Nam Định"),
    "ha nam": ("37", "Tỉnh Hà Nam"),
    "quang binh": ("44", "Tỉnh Quảng Bình"),
    "binh dinh": ("52", "Tỉnh Bình Định"),
    "phu yen": ("66", "Tỉnh Phú Yên"),
    "ninh thuan": ("56", "Tỉnh Ninh Thuận"),
    "binh phuoc": ("75", "Tỉnh Bình Phước"),
    "long an": ("80", "Tỉnh Long An"),
    "ben tre": ("86", "Tỉnh Bến Tre"),
    "tra vinh": ("86", "Tỉnh Trà Vinh"),
    "soc trang": ("92", "Tỉnh Sóc Trăng"),
    "bac lieu": ("96", "Tỉnh Bạc Liêu"),
    "hau giang": ("92", "Tỉnh Hậu Giang"),
    "kien giang": ("91", "Tỉnh Kiên Giang"),
    "tien giang": ("82", "Tỉnh Tiền Giang"),
    "binh thuan": ("68", "Tỉnh Bình Thuận"),
    "dak lak": ("66", ""),
    "daklak": ("66", ""),
    "dac lac": ("66", ""),
}


@pytest.mark.parametrize(("typed", "expected"), OLD_NAMES.items())
async def test_old_names_and_typical_spellings_find_one_province(
    migrated: Database, typed: str, expected: tuple[str, str]
) -> None:
    async with migrated.sessions() as session:
        (match,) = await find_province(session, typed)
    assert match.exact
    assert (match.area.code, match.merged.merged if match.merged else "") == expected
    if match.merged:
        since = date(2008, 8, 1) if typed == "ha tay" else REFORM
        assert match.merged.since == since


@pytest.mark.parametrize(
    ("typed", "offered"),
    [
        ("bac can", ["Tỉnh Thái Nguyên", "Tỉnh Bắc Ninh"]),  # via Bắc Kạn before the weak name
        ("son laa", ["Tỉnh Sơn La"]),  # a single near name is not exact either
        ("ha tnh", ["Tỉnh Hà Tĩnh"]),
    ],
)
async def test_near_names_are_not_exact_and_rank_across_names_and_aliases(
    migrated: Database, typed: str, offered: list[str]
) -> None:
    async with migrated.sessions() as session:
        found = await find_province(session, typed)
    assert [m.area.name for m in found[: len(offered)]] == offered
    assert not any(m.exact for m in found)
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)


async def test_find_province_lists_the_candidates_of_a_partial_name(migrated: Database) -> None:
    async with migrated.sessions() as session:
        found = [match.area for match in await find_province(session, "quang")]
        assert {p.name for p in found} >= {"Tỉnh Quảng Ninh", "Tỉnh Quảng Ngãi", "Tỉnh Quảng Trị"}
        assert found[0].name.startswith("Tỉnh Quảng")
        assert await find_province(session, "qwerty") == []
        assert await find_province(session, "99") == []


@needs_real_file
async def test_find_commune_typed_without_diacritics(imported: Database) -> None:
    async with imported.sessions() as session:
        bac_ninh = await province(session, "bac ninh")
        for typed in ("kinh bac", "phuong kinh bac", "KINH BẮC", "xa kinh bac"):
            found = await find_communes(session, bac_ninh.id, typed)
            assert [c.name for c in found] == ["Phường Kinh Bắc"], typed
        (luc_ngan,) = await find_communes(session, bac_ninh.id, "luc ngan")
        assert luc_ngan.name == "Xã Lục Ngạn"
        assert luc_ngan.parent_id == bac_ninh.id
        assert await get_area(session, luc_ngan.id) is luc_ngan
        assert await find_communes(session, bac_ninh.id, luc_ngan.code) == [luc_ngan]


@needs_real_file
async def test_misspelled_commune_gives_closest_matches(imported: Database) -> None:
    async with imported.sessions() as session:
        bac_ninh = await province(session, "bac ninh")
        found = await find_communes(session, bac_ninh.id, "luc ngn")
        assert 1 < len(found) <= 6
        assert found[0].name == "Xã Lục Ngạn"
        found = await find_communes(session, bac_ninh.id, "kin bac", limit=3)
        assert len(found) <= 3
        assert found[0].name == "Phường Kinh Bắc"
        assert await find_communes(session, bac_ninh.id, "zzzz") == []


@needs_real_file
async def test_renamed_province_keeps_its_communes_then_and_now(
    imported: Database, tmp_path: Path
) -> None:
    path = write(tmp_path, "rename.json", '[{"code": "24", "name": "Thành phố Bắc Ninh"}]')
    async with imported.transaction() as session:
        assert await import_areas(session, path, valid_from=date(2026, 1, 1)) == ImportReport(
            renamed=1
        )
    async with imported.sessions() as session:
        new = await province(session, "tp bac ninh")
        assert new.name == "Thành phố Bắc Ninh"
        old = (await find_province(session, "bac ninh", on=date(2025, 8, 1)))[0].area
        assert (old.name, old.valid_to) == ("Tỉnh Bắc Ninh", date(2025, 12, 31))
        assert len(await communes_of(session, new.id)) == 99
        assert len(await communes_of(session, old.id, on=date(2025, 8, 1))) == 99
        (commune,) = await find_communes(session, new.id, "kinh bac")
        assert commune.parent_id == new.id  # current children follow the new version


@needs_real_file
async def test_communes_are_sorted_by_name_without_unit_word(imported: Database) -> None:
    async with imported.sessions() as session:
        hanoi = await province(session, "ha noi")
        names = [strip_area_prefix(c.search_name) for c in await communes_of(session, hanoi.id)]
        assert names == sorted(names)


# --- the shipped provinces ----------------------------------------------------------------


async def test_provinces_come_with_the_migration_and_seeding_is_idempotent(
    migrated: Database,
) -> None:
    async with migrated.transaction() as session:
        provinces = await list_provinces(session)
        assert len(provinces) == 34
        assert provinces[0].name == "Tỉnh An Giang"  # sorted without the unit word
        assert {p.level for p in provinces} == {"province"}
        assert {p.valid_from for p in provinces} == {REFORM}
        assert await seed_provinces(session) == 0
        assert await count_areas(session) == 34


def test_province_rows_match_the_domain_table() -> None:
    rows = province_rows()
    assert {row["code"] for row in rows} == set(COMMUNES)
    hcm = next(row for row in rows if row["code"] == "79")
    assert hcm["name"] == "Thành phố Hồ Chí Minh"
    assert hcm["search_name"] == "thanh pho ho chi minh"


# --- CSV and JSON of any depth ------------------------------------------------------------

THREE_LEVELS = """\
code,name,level,parent_code
X1,Xã Tân Lập,commune,H1
T1,Tỉnh Thử Nghiệm,province,
H1,Huyện Lục Ngạn,district,T1
X2,Xã Kiên Thành,commune,H1
H2,Huyện Sơn Động,district,T1
X3,Thị trấn An Châu,commune,H2
"""


@pytest.mark.parametrize(
    ("separator", "encoding"), [(",", "utf-8"), (";", "utf-8-sig"), ("\t", "utf-8-sig")]
)
async def test_csv_with_three_levels(
    migrated: Database, tmp_path: Path, separator: str, encoding: str
) -> None:
    text = THREE_LEVELS.replace(",", separator).replace("\n", "\r\n")
    path = write(tmp_path, "units.csv", text, encoding)
    async with migrated.transaction() as session:
        report = await import_areas(session, path, valid_from=date(2023, 1, 1))
    assert report == ImportReport(added=6)
    async with migrated.sessions() as session:
        top = await province(session, "thu nghiem")
        communes = await communes_of(session, top.id)
        assert [c.name for c in communes] == [
            "Thị trấn An Châu",
            "Xã Kiên Thành",
            "Xã Tân Lập",
        ]
        (an_chau,) = await find_communes(session, top.id, "an chau")
        district = await get_area(session, an_chau.parent_id or 0)
        assert district is not None
        assert (district.name, district.level, district.parent_id) == (
            "Huyện Sơn Động",
            "district",
            top.id,
        )


async def test_csv_vietnamese_headers_blank_columns_and_day_first_dates(
    migrated: Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "xa.csv",
        "\n\nMã;Tên;Mã cha;Từ ngày;;\n99001;Xã Thử;24;01/07/2025;;\n",  # as Excel may save it
    )
    async with migrated.transaction() as session:
        assert await import_areas(session, path) == ImportReport(added=1)
        bac_ninh = await province(session, "24")
        (commune,) = await communes_of(session, bac_ninh.id)
        assert (commune.level, commune.valid_from) == ("commune", REFORM)


async def test_nested_json_of_any_depth_and_flat_json(migrated: Database, tmp_path: Path) -> None:
    nested = write(
        tmp_path,
        "nested.json",
        """[{"code": "T9", "name": "Tỉnh Chín", "children": [
              {"code": "H9", "name": "Huyện Chín", "level": "district", "children": [
                 {"code": "X9", "name": "Xã  Chín ", "valid_to": "2030-12-31"}]}]}]""",
    )
    flat = write(
        tmp_path,
        "flat.json",
        '[{"code": "X10", "name": "Xã Mười", "level": "commune", "parent_code": "H9"}]',
    )
    async with migrated.transaction() as session:
        assert await import_areas(session, nested) == ImportReport(added=3)
        assert await import_areas(session, flat) == ImportReport(added=1)
        top = await province(session, "chin")
        assert [c.name for c in await communes_of(session, top.id)] == ["Xã Chín", "Xã Mười"]
        later = await communes_of(session, top.id, on=date(2031, 1, 1))
        assert [c.name for c in later] == ["Xã Mười"]


# --- versions -----------------------------------------------------------------------------


async def test_rename_keeps_the_old_row_closed(migrated: Database, tmp_path: Path) -> None:
    first = write(tmp_path, "v1.csv", THREE_LEVELS)
    renamed = write(
        tmp_path,
        "v2.csv",
        "code,name,parent_code\n"
        "X1,Xã Tân Lập Mới,H1\nH1,Huyện Lục Ngạn Mới,T1\nX2,Xã Kiên Thành,H1\n",
    )
    async with migrated.transaction() as session:
        await import_areas(session, first, valid_from=date(2023, 1, 1))
    async with migrated.sessions() as session:
        old = (await find_communes(session, (await province(session, "T1")).id, "tan lap"))[0]
    async with migrated.transaction() as session:
        report = await import_areas(session, renamed, valid_from=date(2025, 7, 1))
    assert report == ImportReport(renamed=2, unchanged=1)
    async with migrated.sessions() as session:
        versions = (
            await session.scalars(select(Area).where(Area.code == "X1").order_by(Area.valid_from))
        ).all()
        assert [(v.name, v.valid_from, v.valid_to) for v in versions] == [
            ("Xã Tân Lập", date(2023, 1, 1), date(2025, 6, 30)),
            ("Xã Tân Lập Mới", date(2025, 7, 1), None),
        ]
        assert versions[0].id == old.id  # old records keep pointing at the old name
        top = await province(session, "T1")
        now = await communes_of(session, top.id)
        assert [c.name for c in now] == ["Thị trấn An Châu", "Xã Kiên Thành", "Xã Tân Lập Mới"]
        # the unchanged child follows its renamed district
        district = await get_area(session, now[1].parent_id or 0)
        assert district is not None and district.name == "Huyện Lục Ngạn Mới"
        before = await communes_of(session, top.id, on=date(2024, 1, 1))
        assert "Xã Tân Lập" in [c.name for c in before]
        assert [c.name for c in await find_communes(session, top.id, "tan lap")] == [
            "Xã Tân Lập Mới"
        ]


async def test_move_correction_and_closing(migrated: Database, tmp_path: Path) -> None:
    async with migrated.transaction() as session:
        await import_areas(session, write(tmp_path, "v1.csv", THREE_LEVELS), valid_from=REFORM)
    changes = write(
        tmp_path,
        "v2.csv",
        "code,name,level,parent_code,valid_from,valid_to\n"
        "X1,Xã Tân Lập,commune,H2,2026-01-01,\n"  # moved to another district
        "X2,Xã Kiên Thành Sửa,,H1,2025-07-01,\n"  # typo fixed in place (same start)
        "X3,Thị trấn An Châu,commune,H2,,2025-12-31\n",  # abolished
    )
    async with migrated.transaction() as session:
        report = await import_areas(session, changes)
    assert report == ImportReport(moved=1, renamed=1, closed=1)
    async with migrated.sessions() as session:
        assert await session.scalar(select(func.count()).where(Area.code == "X2")) == 1
        top = await province(session, "T1")
        names = [c.name for c in await communes_of(session, top.id, on=date(2026, 2, 1))]
        assert names == ["Xã Kiên Thành Sửa", "Xã Tân Lập"]


async def test_new_version_cannot_start_before_the_current_one(
    migrated: Database, tmp_path: Path
) -> None:
    path = write(tmp_path, "old.csv", "code,name,valid_from\n24,Tỉnh Bắc Ninh Cũ,2020-01-01\n")
    async with migrated.transaction() as session:
        with pytest.raises(AreaImportError, match="line 2: valid_from 2020-01-01 is before"):
            await import_areas(session, path)


# --- bad files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "messages"),
    [
        (
            "missing.csv",
            "code,name,parent_code\n99001,,24\n,Xã Không Mã,24\n",
            ["line 2: name is missing", "line 3: code is missing"],
        ),
        (
            "parent.csv",
            "code,name,parent_code\n99001,Xã Một,77\n99002,Xã Hai,1\n",
            ["line 2: parent code 77 is neither", "line 3: parent code 1 ", "did you mean 01?"],
        ),
        (
            "duplicate.csv",
            "code,name,parent_code\n99001,Xã Một,24\n99002,Xã Hai,24\n99001,Xã Ba,24\n",
            ["line 4: code 99001 is already on line 2"],
        ),
        ("empty.csv", "", ["empty.csv is empty"]),
        ("header-only.csv", "\ufeffcode,name\n", ["the file lists no areas"]),
        ("empty.json", "[]", ["the file lists no areas"]),
        ("notes.txt", "Danh sách các xã\nXã Một, Xã Hai\n", ["neither CSV", "nor JSON"]),
        ("columns.csv", "code,name,parnet_code\n1,A,\n", ["unknown column “parnet_code”"]),
        ("noname.csv", "code,level\n1,province\n", ["line 1: no “name” column"]),
        ("broken.json", '[{"code": "1",', ["not valid JSON (line 1"]),
        ("object.json", '"hello"', ["JSON must be a list"]),
        (
            "nested.json",
            '[{"Code": "T1", "FullName": "Tỉnh Một", "Wards": [{"Code": "X1", "FullName": '
            '"Xã Một", "ProvinceCode": "T2"}, "oops"]}, {"Code": "T1", "FullName": "Tỉnh Hai"}]',
            [
                "item 1, child 1: parent code T2 but inside T1",
                "item 1, child 2: expected an object",
                "item 2: code T1 is already on item 1",
            ],
        ),
        (
            "loop.csv",
            "code,name,parent_code\nA,Xã A,B\nB,Xã B,A\nC,Xã C,C\n",
            ["parent codes form a loop", "code C is its own parent"],
        ),
        (
            "dates.csv",
            "code,name,valid_from,valid_to\nA,Xã A,1/13/2025,\nB,Xã B,2025-07-01,2025-01-01\n",
            ["line 2: valid_from “1/13/2025” is not a date", "line 3: valid_to 2025-01-01 is"],
        ),
        ("long.csv", f"code,name\n{'1' * 21},Xã\n", ["code longer than 20 characters"]),
    ],
)
async def test_bad_files_import_nothing(
    migrated: Database, tmp_path: Path, name: str, content: str, messages: list[str]
) -> None:
    path = write(tmp_path, name, content)
    async with migrated.transaction() as session:
        before = await count_areas(session)
        with pytest.raises(AreaImportError) as caught:
            await import_areas(session, path)
        assert await count_areas(session) == before
    for message in messages:
        assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert caught.value.problems


async def test_binary_file_is_refused(migrated: Database, tmp_path: Path) -> None:
    path = tmp_path / "units.xlsx"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb5U\x80\xff")
    async with migrated.transaction() as session:
        with pytest.raises(AreaImportError, match="not UTF-8 text"):
            await import_areas(session, path)
        with pytest.raises(AreaImportError, match="cannot read"):
            await import_areas(session, tmp_path / "missing.csv")


async def test_all_problems_are_listed_at_once(migrated: Database, tmp_path: Path) -> None:
    lines = "".join(f"{n},,24\n" for n in range(100, 200))
    path = write(tmp_path, "many.csv", "code,name,parent_code\n" + lines)
    async with migrated.transaction() as session:
        with pytest.raises(AreaImportError) as caught:
            await import_areas(session, path)
    assert len(caught.value.problems) == 100
    assert "… and 50 more" in str(caught.value)
