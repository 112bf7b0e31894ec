"""The whole bot for regression tests, on each backend: a copy of a prepared SQLite file, and
(when OCOP_TEST_POSTGRES_URL is set) a copy of a PostgreSQL database prepared with provinces and
communes once per test process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import RunningBot, bot_on

__all__ = ["any_bot"]

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def any_bot(
    request: pytest.FixtureRequest, prepared_database: Path, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    """The real bot polling a fresh fake Bot API server, on SQLite and on PostgreSQL."""
    async with bot_on(request.param, prepared_database, tmp_path,
                      name="ocop_test_regression") as running:  # fmt: skip
        yield running
