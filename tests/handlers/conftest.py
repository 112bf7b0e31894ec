"""Fixtures for conversation tests: the whole bot on a prepared database, and its producers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.areas import import_areas, seed_provinces
from storage.db import Database
from tests.conftest import create_schema
from tests.harness import RunningBot, copy_database, running_bot

ROOT = Path(__file__).resolve().parents[2]
NATIONAL_LIST = ROOT.parent / "shared" / "data" / "vn-admin-units-2025.json"
SAMPLE_LIST = ROOT / "tests" / "data" / "communes-sample.csv"


async def _prepare(path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await create_schema(db)
        async with db.transaction() as session:
            await seed_provinces(session)
            await import_areas(session, NATIONAL_LIST if NATIONAL_LIST.exists() else SAMPLE_LIST)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def prepared_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with the provinces and communes, made once per run."""
    path = tmp_path_factory.mktemp("template") / "ocop.sqlite3"
    asyncio.run(_prepare(path))
    return path


@pytest.fixture
async def bot(prepared_database: Path, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The real bot, polling a fresh fake Bot API server, on a copy of the prepared database."""
    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    async with running_bot(url, tmp_path / "blobs") as running:
        yield running
