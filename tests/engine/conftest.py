"""Engine fixtures: the database under test (SQLite file, and PostgreSQL when configured) and
a channel that records what it is asked to send."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.base import BaseChannel
from bot.vocabulary import FileRef, Reply
from storage.db import Database
from tests.conftest import migrate, migrated_copy
from tests.postgres import POSTGRES_URL, templates

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def database(
    request: pytest.FixtureRequest, migrated_sqlite: Path, tmp_path: Path
) -> AsyncIterator[Database]:
    """An empty database with the current schema, on each backend."""
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("OCOP_TEST_POSTGRES_URL is not set")
        async with templates().copy("schema", migrate, "ocop_test_engine") as url:
            db = Database(url)
            yield db
            await db.dispose()
        return
    db = migrated_copy(migrated_sqlite, tmp_path / "engine.sqlite3")
    yield db
    await db.dispose()


class RecordingChannel(BaseChannel):
    """A channel that keeps what it sends, optionally slowly for some chats."""

    name = "test"

    def __init__(self, delays: dict[str, float] | None = None) -> None:
        self.sent: dict[str, list[Reply]] = defaultdict(list)
        self.delays = delays or {}
        self.in_flight: dict[str, int] = defaultdict(int)
        self.overlaps = 0
        self._ids = 0

    async def send(self, chat_id: str, reply: Reply) -> str:
        self.in_flight[chat_id] += 1
        if self.in_flight[chat_id] > 1:
            self.overlaps += 1
        await asyncio.sleep(self.delays.get(chat_id, 0))
        self.sent[chat_id].append(reply)
        self.in_flight[chat_id] -= 1
        self._ids += 1
        return str(self._ids)

    async def download(self, file: FileRef, max_bytes: int) -> bytes:
        raise NotImplementedError

    def texts(self, chat_id: str) -> list[str]:
        return [r.text for r in self.sent[chat_id]]
