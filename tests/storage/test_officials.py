"""Tests for storage/officials.py and storage/passwords.py: adding officials (usernames unique
in any case, roles and their areas), passwords, disabling, and the scope each official sees,
on SQLite and (with OCOP_TEST_POSTGRES_URL) PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from storage.areas import find_commune, find_province, import_areas
from storage.clock import ManualClock
from storage.db import Database
from storage.models import Area, AuditEntry, ConsoleSession, Official, Producer
from storage.officials import (
    OfficialError,
    add_official,
    areas_of,
    disable_official,
    list_officials,
    official_by_username,
    scope_of,
    set_password,
)
from storage.passwords import MAX_PASSWORD, PasswordError, verify_password
from storage.states import OfficialRole
from tests.conftest import create_schema
from tests.postgres import POSTGRES_URL, temporary_database

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "communes-sample.csv"
PASSWORD = "correct horse battery"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


async def _fill(db: Database) -> None:
    await create_schema(db)
    async with db.transaction() as session:
        await import_areas(session, SAMPLE, valid_from=date(2025, 7, 1))


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database with the provinces and the sample communes (Bắc Ninh, Hà Nội)."""
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("OCOP_TEST_POSTGRES_URL is not set")
        async with temporary_database(POSTGRES_URL, "ocop_test_officials") as url:
            db = Database(url)
            await _fill(db)
            yield db
            await db.dispose()
        return
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'officials.sqlite3'}")
    await _fill(db)
    yield db
    await db.dispose()


async def area(db: Database, province: str, commune: str | None = None) -> Area:
    async with db.sessions() as session:
        (found,) = await find_province(session, province)
        if commune is not None:
            (found,) = await find_commune(session, found.area.id, commune)
        return found.area


async def official(
    db: Database, username: str, role: OfficialRole, areas: list[Area], clock: ManualClock
) -> Official:
    async with db.transaction() as session:
        return await add_official(
            session,
            username=username,
            display_name=f"Cán bộ {username}",
            role=role,
            areas=areas,
            locale="vi",
            password=PASSWORD,
            clock=clock,
        )


async def producer(db: Database, name: str, province: Area, commune: Area | None) -> int:
    async with db.transaction() as session:
        row = Producer(
            org_type="coop",
            name=name,
            tax_code="0101234567",
            rep_name="Nguyễn Văn A",
            rep_position="Giám đốc",
            rep_gender="male",
            rep_ethnicity="Kinh",
            phone="0912345678",
            province_id=province.id,
            commune_id=commune.id if commune else None,
            commune_name=commune.name if commune else "Xã chưa có trong danh sách",
        )
        session.add(row)
        await session.flush()
        return row.id


async def test_usernames_are_unique_in_any_case(database: Database) -> None:
    clock = ManualClock()
    bac_ninh = await area(database, "bac ninh")
    added = await official(database, "An.Nguyen", OfficialRole.PROVINCE, [bac_ninh], clock)
    assert added.username == "an.nguyen"
    with pytest.raises(OfficialError, match="taken"):
        await official(database, "AN.NGUYEN", OfficialRole.PROVINCE, [bac_ninh], clock)
    async with database.sessions() as session:
        found = await official_by_username(session, " An.NGUYEN ")
        assert found is not None and found.id == added.id
        assert [a.code for a in await areas_of(session, added.id)] == ["24"]
        audited = await session.scalar(select(AuditEntry).where(AuditEntry.entity == "official"))
        assert audited is not None and audited.action == "official.add"
        assert PASSWORD not in str(audited.details)


async def test_the_database_refuses_a_second_username_and_an_unknown_role(
    database: Database,
) -> None:
    clock = ManualClock()
    await official(database, "admin", OfficialRole.ADMIN, [], clock)
    now = clock.now()
    for username, role in (("admin", "admin"), ("other", "superuser")):
        with pytest.raises(IntegrityError):
            async with database.transaction() as session:
                session.add(
                    Official(
                        username=username,
                        display_name="x",
                        role=role,
                        password_hash="x",
                        created_at=now,
                        updated_at=now,
                    )
                )


@pytest.mark.parametrize(
    ("username", "role", "areas", "error"),
    [
        ("ab", OfficialRole.ADMIN, [], "3 to 60"),
        ("has space", OfficialRole.ADMIN, [], "3 to 60"),
        ("boss", OfficialRole.ADMIN, ["24"], "every area"),
        ("nobody", OfficialRole.PROVINCE, [], "at least one area"),
        ("wrong", OfficialRole.COMMUNE, ["24"], "must be communes"),
        ("wrong2", OfficialRole.PROVINCE, ["24", "Đa Mai"], "must be provinces"),
    ],
)
async def test_roles_and_areas_must_fit(
    database: Database, username: str, role: OfficialRole, areas: list[str], error: str
) -> None:
    found = [await area(database, "24", a if a != "24" else None) for a in areas]
    with pytest.raises(OfficialError, match=error):
        await official(database, username, role, found, ManualClock())


async def test_passwords_are_hashed_and_checked(database: Database) -> None:
    clock = ManualClock()
    added = await official(database, "admin", OfficialRole.ADMIN, [], clock)
    assert PASSWORD not in added.password_hash and added.password_hash.startswith("$argon2id$")
    assert verify_password(added.password_hash, PASSWORD)
    assert not verify_password(added.password_hash, PASSWORD.upper())
    assert not verify_password(None, PASSWORD)
    assert not verify_password("not a hash", PASSWORD)
    longest = "p" * MAX_PASSWORD
    async with database.transaction() as session:
        row = await session.get(Official, added.id)
        assert row is not None
        await set_password(session, row, longest, clock)
        assert verify_password(row.password_hash, longest)
        assert not verify_password(row.password_hash, longest + "anything")  # never cut short
    for weak in ("short", " " * 12, longest + "p"):
        with pytest.raises(PasswordError):
            async with database.transaction() as session:
                row = await session.get(Official, added.id)
                assert row is not None
                await set_password(session, row, weak, clock)


async def test_disabling_and_new_passwords_end_sessions(database: Database) -> None:
    clock = ManualClock()
    added = await official(database, "admin", OfficialRole.ADMIN, [], clock)
    now = clock.now()

    async def open_session(token: str) -> None:
        async with database.transaction() as session:
            session.add(
                ConsoleSession(
                    token_hash=token,
                    official_id=added.id,
                    csrf_token="c",
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + timedelta(hours=8),
                )
            )

    async def revoked(token: str) -> bool:
        async with database.sessions() as session:
            row = await session.scalar(
                select(ConsoleSession).where(ConsoleSession.token_hash == token)
            )
            assert row is not None
            return row.revoked_at is not None

    await open_session("a")
    clock.advance(minutes=5)
    async with database.transaction() as session:
        row = await session.get(Official, added.id)
        assert row is not None
        await set_password(session, row, "a new long password", clock)
    assert await revoked("a")
    await open_session("b")
    async with database.transaction() as session:
        row = await session.get(Official, added.id)
        assert row is not None
        await disable_official(session, row, clock)
    assert await revoked("b")
    async with database.sessions() as session:
        ((listed, areas),) = await list_officials(session)
        assert listed.disabled_at == clock.now() and areas == []
        assert verify_password(listed.password_hash, "a new long password")


async def test_scope_by_role(database: Database) -> None:
    clock = ManualClock()
    bac_ninh, ha_noi = await area(database, "bac ninh"), await area(database, "ha noi")
    da_mai = await area(database, "bac ninh", "Đa Mai")
    tan_son = await area(database, "bac ninh", "Tân Sơn")
    ba_dinh = await area(database, "ha noi", "Ba Đình")
    in_da_mai = await producer(database, "HTX Đa Mai", bac_ninh, da_mai)
    in_tan_son = await producer(database, "HTX Tân Sơn", bac_ninh, tan_son)
    unchecked = await producer(database, "HTX chưa rõ xã", bac_ninh, None)
    in_ha_noi = await producer(database, "HTX Ba Đình", ha_noi, ba_dinh)
    commune = await official(database, "xa.damai", OfficialRole.COMMUNE, [da_mai], clock)
    province = await official(database, "tinh.bn", OfficialRole.PROVINCE, [bac_ninh], clock)
    admin = await official(database, "admin", OfficialRole.ADMIN, [], clock)
    everyone = {in_da_mai, in_tan_son, unchecked, in_ha_noi}
    expected = {
        commune.id: {in_da_mai},
        province.id: {in_da_mai, in_tan_son, unchecked},
        admin.id: everyone,
    }
    areas = {
        commune.id: {da_mai.id},
        province.id: {bac_ninh.id, da_mai.id, tan_son.id},
        admin.id: {bac_ninh.id, ha_noi.id, da_mai.id, tan_son.id, ba_dinh.id},
    }
    async with database.sessions() as session:
        for who in (commune, province, admin):
            scope = await scope_of(session, who)
            listed = set(await session.scalars(select(Producer.id).where(scope.producers())))
            assert listed == expected[who.id], who.username
            assert await scope.count_producers(session) == len(expected[who.id])
            for producer_id in everyone:
                seen = await scope.may_see_producer(session, producer_id)
                assert seen == (producer_id in expected[who.id]), (who.username, producer_id)
            for area_id in (bac_ninh.id, ha_noi.id, da_mai.id, tan_son.id, ba_dinh.id):
                seen = await scope.may_see_area(session, area_id)
                assert seen == (area_id in areas[who.id]), (who.username, area_id)
            assert not await scope.may_see_producer(session, 999_999)


async def test_scope_follows_an_area_renamed_in_the_list(
    database: Database, tmp_path: Path
) -> None:
    clock = ManualClock()
    bac_ninh = await area(database, "bac ninh")
    da_mai = await area(database, "bac ninh", "Đa Mai")
    commune = await official(database, "xa.damai", OfficialRole.COMMUNE, [da_mai], clock)
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(
        "code,name,level,parent_code\n07228,Phường Đa Mai Mới,commune,24\n", encoding="utf-8"
    )
    async with database.transaction() as session:
        await import_areas(session, renamed, valid_from=date(2026, 1, 1))
        new_version = await session.scalar(
            select(Area).where(Area.code == "07228", Area.valid_to.is_(None))
        )
        assert new_version is not None and new_version.id != da_mai.id
    after_rename = await producer(database, "HTX Đa Mai Mới", bac_ninh, new_version)
    async with database.sessions() as session:
        scope = await scope_of(session, commune)
        assert await scope.may_see_producer(session, after_rename)
        assert await scope.may_see_area(session, new_version.id)
        count = await session.scalar(text("SELECT count(*) FROM official_areas"))
        assert count == 1
