"""Migration 0011_search folds the names of the producers and products already stored (a
database upgraded from 0009 finds them without diacritics), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.migrate import upgrade
from tests.storage.test_migrations import postgres_schema  # noqa: F401

BEFORE = "0010_review"  # the migration before 0011_search
ROWS = [
    "INSERT INTO users (id, display_name, created_at) VALUES (1, 'u', '2026-01-01')",
    "INSERT INTO producers (id, org_type, name, tax_code, rep_name, rep_position, rep_gender,"
    " rep_ethnicity, phone, phone_verified, province_id, commune_name, status, created_at,"
    " updated_at) VALUES (1, 'cooperative', 'Hợp tác xã Lục Ngạn', '0101234567', 'A', 'B',"
    " 'male', 'Kinh', '+84912345678', false, (SELECT min(id) FROM areas), '', 'registered',"
    " '2026-01-01', '2026-01-01')",
    "INSERT INTO products (id, producer_id, product_set, name, description, packaging,"
    " yearly_output, raw_material_area, created_by, created_at, updated_at) VALUES (1, 1, 11,"
    " 'Chè Tân Cương', '', '', '', '', 1, '2026-01-01', '2026-01-01')",
]


async def fill_then_upgrade(engine: AsyncEngine) -> None:
    await upgrade(engine, BEFORE)
    async with engine.begin() as conn:
        for statement in ROWS:
            await conn.execute(text(statement))
    await upgrade(engine)
    async with engine.connect() as conn:
        producer = await conn.scalar(text("SELECT search_name FROM producers WHERE id = 1"))
        product = await conn.scalar(text("SELECT search_name FROM products WHERE id = 1"))
    assert (producer, product) == ("hop tac xa luc ngan", "che tan cuong")


async def test_sqlite_rows_get_their_folded_names(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'ocop.sqlite3'}")
    try:
        await fill_then_upgrade(engine)
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_postgres_rows_get_their_folded_names(
    postgres_schema: AsyncEngine,  # noqa: F811
) -> None:
    await fill_then_upgrade(postgres_schema)
