"""Tests for the Alembic migrations (storage/migrations, storage/migrate.py): a fresh database
upgraded to the head matches the models exactly (CHECK constraints included, which Alembic's
comparison leaves out), on SQLite and (with OCOP_TEST_POSTGRES_URL) on PostgreSQL, and comes
with the 34 provinces."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, Connection, func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.migrate import MIGRATIONS, current_revision, head_revision, is_up_to_date, upgrade
from storage.models import Area, Base
from storage.sqlite_driver import engine_url

POSTGRES_URL = os.environ.get("OCOP_TEST_POSTGRES_URL")


def describe(difference: Any) -> str:
    """One line for an autogenerate difference: ("add_table", Table) or [("modify_type", …)]."""
    if isinstance(difference, list):
        return "; ".join(f"{op} {table}.{column}" for op, _, table, column, *_ in difference)
    op, thing = difference[0], difference[1]
    table = getattr(getattr(thing, "table", None), "name", "")
    return f"{op} {table + '.' if table else ''}{getattr(thing, 'name', thing)}"


def schema_differences(conn: Connection) -> list[str]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return [describe(difference) for difference in compare_metadata(context, Base.metadata)]


def _words(sql: str) -> frozenset[str]:
    """The quoted words of a CHECK's SQL (PostgreSQL rewrites ``IN`` as ``= ANY (ARRAY…)``)."""
    return frozenset(re.findall(r"'([^']*)'", sql))


def check_differences(conn: Connection) -> list[str]:
    """CHECK constraints (name and allowed words) of the models that the database lacks, or
    the other way round."""
    inspector = inspect(conn)
    expected = {
        (table.name, str(c.name), _words(str(c.sqltext)))
        for table in Base.metadata.tables.values()
        for c in table.constraints
        if isinstance(c, CheckConstraint)
    }
    actual = {
        (table, str(c["name"]), _words(c["sqltext"]))
        for table in inspector.get_table_names()
        if table != "alembic_version"
        for c in inspector.get_check_constraints(table)
    }
    return [f"models only: {d}" for d in sorted(expected - actual, key=str)] + [
        f"database only: {d}" for d in sorted(actual - expected, key=str)
    ]


async def check_migrations(engine: AsyncEngine) -> None:
    """Upgrade a fresh database through ``engine`` and check everything a migration promises."""
    assert await current_revision(engine) is None
    assert not await is_up_to_date(engine)

    await upgrade(engine)

    assert await current_revision(engine) == head_revision()
    assert await is_up_to_date(engine)
    async with engine.connect() as conn:
        differences = await conn.run_sync(schema_differences)
        differences += await conn.run_sync(check_differences)
        provinces = await conn.scalar(select(func.count()).select_from(Area))
    assert not differences, "models.py differs from the migrations:\n" + "\n".join(differences)
    assert provinces == 34

    await upgrade(engine)  # at the head already: nothing to do
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(Area)) == 34


async def test_sqlite_file_upgrades_to_head(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new' / 'ocop.sqlite3'}"
    assert await current_revision(url) is None  # also creates the folder
    engine = create_async_engine(engine_url(url))
    try:
        await check_migrations(engine)
    finally:
        await engine.dispose()
    assert await is_up_to_date(url)


async def test_upgrade_by_url(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ocop.sqlite3'}"
    await upgrade(url)
    assert await current_revision(url) == head_revision()
    assert await is_up_to_date(url)


def test_alembic_upgrades_a_url_itself(tmp_path: Path) -> None:
    """What ``alembic upgrade head`` does with OCOP_DATABASE_URL: env.py makes the engine."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'ocop.sqlite3'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url
    command.upgrade(config, "head")
    assert asyncio.run(current_revision(url)) == head_revision()


@pytest.fixture
async def postgres_schema() -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh, empty PostgreSQL schema, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("set OCOP_TEST_POSTGRES_URL to test PostgreSQL")
    schema = f"ocop_migrations_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_async_engine(
        POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}}
    )
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.mark.postgres
async def test_postgres_upgrades_to_head(postgres_schema: AsyncEngine) -> None:
    await check_migrations(postgres_schema)
