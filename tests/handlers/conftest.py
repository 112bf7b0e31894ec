"""Fixtures for conversation tests: the whole bot on a copy of the prepared database
(``prepared_database``, tests/conftest.py), and its producers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import RunningBot, copy_database, running_bot


@pytest.fixture
async def bot(prepared_database: Path, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The real bot, polling a fresh fake Bot API server, on a copy of the prepared database."""
    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    async with running_bot(url, tmp_path / "blobs") as running:
        yield running
