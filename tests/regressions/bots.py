"""The whole bot for regression tests, on each backend: a copy of a prepared SQLite file, and
(when OCOP_TEST_POSTGRES_URL is set) a fresh PostgreSQL database with provinces and communes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import RunningBot, copy_database, prepare_database, running_bot
from tests.postgres import POSTGRES_URL, temporary_database

__all__ = ["any_bot", "prepared_template"]

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def prepared_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with provinces and communes, made once per run."""
    path = tmp_path_factory.mktemp("regressions") / "ocop.sqlite3"
    asyncio.run(prepare_database(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(params=BACKENDS)
async def any_bot(
    request: pytest.FixtureRequest, prepared_template: Path, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    """The real bot polling a fresh fake Bot API server, on SQLite and on PostgreSQL."""
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("OCOP_TEST_POSTGRES_URL is not set")
        async with temporary_database(POSTGRES_URL, "ocop_test_regression") as url:
            await prepare_database(url)
            async with running_bot(url, tmp_path / "blobs") as running:
                yield running
        return
    url = copy_database(prepared_template, tmp_path / "ocop.sqlite3")
    async with running_bot(url, tmp_path / "blobs") as running:
        yield running
