"""Shared fixtures: a real SQLite file database with the schema in place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from storage.migrate import upgrade


async def create_schema(db: Database) -> None:
    """Bring an empty database to the current schema with the project's own migrations."""
    await upgrade(db.engine)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh SQLite file database (tmp_path) with the schema created."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'ocop.sqlite3'}")
    await create_schema(database)
    yield database
    await database.dispose()
