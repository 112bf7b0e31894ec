"""Fixtures for conversation tests: the whole bot on a prepared database, and its producers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import RunningBot, copy_database, prepare_database, running_bot


@pytest.fixture(scope="session")
def prepared_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with the provinces and communes, made once per run."""
    path = tmp_path_factory.mktemp("template") / "ocop.sqlite3"
    asyncio.run(prepare_database(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
async def bot(prepared_database: Path, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The real bot, polling a fresh fake Bot API server, on a copy of the prepared database."""
    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    async with running_bot(url, tmp_path / "blobs") as running:
        yield running
