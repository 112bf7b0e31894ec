"""Tests for the thread-less SQLite driver (storage/sqlite_driver.py): which URLs it serves, the
pragmas its connections get, and when a statement refused as busy waits (on the loop) or fails.

The "other process" here is a plain ``sqlite3`` connection of the test, released from the loop;
tests/regressions/test_sqlite_lock_waits_keep_the_loop_running.py uses a real one."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.db import Database
from storage.sqlite_driver import engine_url


def test_aiosqlite_urls_are_served_by_the_driver() -> None:
    assert str(engine_url("sqlite+aiosqlite:///data/ocop.sqlite3")) == (
        "sqlite+ocop:///data/ocop.sqlite3"
    )
    assert str(engine_url("sqlite+ocop:///x.sqlite3")) == "sqlite+ocop:///x.sqlite3"
    postgres = "postgresql+asyncpg://bot@db.example/ocop"
    assert str(engine_url(postgres)) == postgres


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "ocop.sqlite3"


@pytest.fixture
async def db(path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{path}")
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE note (text TEXT NOT NULL)"))
    yield database
    await database.dispose()


@pytest.fixture
def other(path: Path, db: Database) -> Iterator[sqlite3.Connection]:
    """Another connection to the file, as another process would have."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=0)
    yield connection
    connection.close()


async def test_database_connections_wait_on_the_loop_not_in_sqlite(db: Database) -> None:
    assert db.engine.dialect.driver == db.quick_engine.dialect.driver == "ocop"
    assert db.read_engine.dialect.driver == "aiosqlite"  # reads that may be long: a thread
    for engine in (db.engine, db.quick_engine):
        async with engine.connect() as conn:
            pragmas = [
                (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            ]
        assert pragmas == ["wal", 1, 1, 0]


async def test_a_writer_waits_for_the_lock_then_commits(
    db: Database, other: sqlite3.Connection
) -> None:
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO note VALUES ('other')")
    loop = asyncio.get_running_loop()
    loop.call_later(0.3, other.execute, "COMMIT")
    start = loop.time()
    async with db.transaction() as session:
        await session.execute(text("INSERT INTO note VALUES ('ours')"))
    assert loop.time() - start >= 0.3
    async with db.sessions() as session:
        assert (await session.scalars(text("SELECT text FROM note"))).all() == ["other", "ours"]


@pytest.fixture
async def short_wait(path: Path, db: Database) -> AsyncIterator[AsyncEngine]:
    """An engine on the file whose statements wait at most 0.2 s for a lock."""
    engine = create_async_engine(engine_url(f"sqlite+aiosqlite:///{path}?timeout=0.2"))
    yield engine
    await engine.dispose()


async def test_a_writer_gives_up_after_its_timeout(
    short_wait: AsyncEngine, other: sqlite3.Connection
) -> None:
    other.execute("BEGIN IMMEDIATE")
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(exc.OperationalError, match="database is locked"):
        async with short_wait.connect() as conn:
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
    assert 0.2 <= loop.time() - start < 1.5
    other.execute("ROLLBACK")


async def test_a_transaction_that_read_is_refused_a_write_at_once(
    db: Database, other: sqlite3.Connection
) -> None:
    """Waiting could not help a transaction whose snapshot predates the other writer's commit:
    SQLite refuses it at once, and so does the driver (within the 30 s it would wait)."""
    loop = asyncio.get_running_loop()
    async with db.quick_engine.connect() as conn:
        await conn.exec_driver_sql("SELECT count(*) FROM note")
        other.execute("BEGIN IMMEDIATE")
        start = loop.time()
        with pytest.raises(exc.OperationalError, match="database is locked"):
            await conn.exec_driver_sql("INSERT INTO note VALUES ('ours')")
        assert loop.time() - start < 1
        other.execute("INSERT INTO note VALUES ('other')")
        other.execute("COMMIT")
        with pytest.raises(exc.OperationalError, match="database is locked"):
            await conn.exec_driver_sql("INSERT INTO note VALUES ('ours')")
        assert loop.time() - start < 1


async def test_many_rows_first_in_a_deferred_transaction_wait_for_the_lock(
    db: Database, other: sqlite3.Connection
) -> None:
    other.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(0.2, other.execute, "COMMIT")
    async with db.quick_engine.connect() as conn:  # BEGIN, not BEGIN IMMEDIATE
        await conn.exec_driver_sql(
            "INSERT INTO note VALUES (?)", [(f"row {n}",) for n in range(3)]
        )
        await conn.commit()
    async with db.sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM note")) == 3
