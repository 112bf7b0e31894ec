"""Shared fixtures: a real SQLite file database with the schema in place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from storage.models import Base


async def create_schema(db: Database) -> None:
    """Bring an empty database to the current schema.

    For now straight from the models; swap in the Alembic migrations here once they exist.
    """
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh SQLite file database (tmp_path) with the schema created."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'ocop.sqlite3'}")
    await create_schema(database)
    yield database
    await database.dispose()
