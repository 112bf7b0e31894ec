"""The whole bot for regression tests, on each backend: a copy of a prepared SQLite file, and
(when OCOP_TEST_POSTGRES_URL is set) a copy of a PostgreSQL database prepared with provinces and
communes once per test process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import RunningBot, copy_database, prepare_database, running_bot
from tests.postgres import POSTGRES_URL, templates

__all__ = ["any_bot"]

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def any_bot(
    request: pytest.FixtureRequest, prepared_database: Path, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    """The real bot polling a fresh fake Bot API server, on SQLite and on PostgreSQL."""
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("OCOP_TEST_POSTGRES_URL is not set")
        copy = templates().copy("areas", prepare_database, "ocop_test_regression")
        async with copy as url, running_bot(url, tmp_path / "blobs") as running:
            yield running
        return
    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    async with running_bot(url, tmp_path / "blobs") as running:
        yield running
