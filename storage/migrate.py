"""Schema migrations from code: upgrade a database, ask its revision, compare with the head.

Alembic is configured here, without alembic.ini: the scripts live in ``storage/migrations``
(``versions/0001_initial.py``, ``0002_…`` and so on). ``ocop-bot migrate`` calls :func:`upgrade`;
``serve`` refuses to start unless :func:`is_up_to_date`. Each function takes a database URL, or
an :class:`~sqlalchemy.ext.asyncio.AsyncEngine` that it uses without disposing of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import Database

__all__ = ["MIGRATIONS", "current_revision", "head_revision", "is_up_to_date", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"

T = TypeVar("T")


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision in ``storage/migrations/versions``."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS}")
    return head


@asynccontextmanager
async def _engine(target: str | AsyncEngine) -> AsyncIterator[AsyncEngine]:
    if isinstance(target, AsyncEngine):
        yield target
        return
    database = Database(target)
    try:
        yield database.engine
    finally:
        await database.dispose()


async def _run(target: str | AsyncEngine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` with a sync connection, in one transaction that commits at the end."""
    async with _engine(target) as engine, engine.begin() as conn:
        return await conn.run_sync(work)


async def _migrate(target: str | AsyncEngine, work: Callable[[Connection], T]) -> T:
    """Run the migration ``work`` like :func:`_run`.

    On SQLite, foreign keys are off meanwhile (checked before the commit): a migration in
    batch mode recreates a table, and dropping the old one would otherwise fail, or delete
    the rows that refer to it. SQLite only switches them outside a transaction.
    """
    async with _engine(target) as engine, engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            async with conn.begin():
                return await conn.run_sync(work)
        enforced = await conn.run_sync(_foreign_keys, None)
        await conn.run_sync(_foreign_keys, False)
        try:
            async with conn.begin():
                result = await conn.run_sync(work)
                broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if broken:
                    raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
            return result
        finally:
            await conn.run_sync(_foreign_keys, enforced)


def _foreign_keys(conn: Connection, on: bool | None) -> bool:
    """Switch SQLite's foreign keys on or off (None: leave them); returns whether they are on.

    Goes to the driver's connection: through SQLAlchemy the pragma would open a transaction."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if on is not None:
            cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
        cursor.execute("PRAGMA foreign_keys")
        row = cursor.fetchone()
        return bool(row and row[0])
    finally:
        cursor.close()


async def upgrade(url: str | AsyncEngine, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` (default: the head), in one transaction."""
    await _migrate(url, lambda conn: command.upgrade(_config(conn), revision))


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


async def current_revision(url: str | AsyncEngine) -> str | None:
    """The database's revision, or None when it was never migrated."""
    return await _run(url, _current)


async def is_up_to_date(url: str | AsyncEngine) -> bool:
    """True when the database is at the head revision."""
    return await current_revision(url) == head_revision()
