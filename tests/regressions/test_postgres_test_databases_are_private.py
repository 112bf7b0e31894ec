"""Two suite runs on one PostgreSQL server must not touch each other's data: every database a
test uses is its own, uniquely named, and dropped when the test ends (the configured database
itself is never dropped or emptied)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import Database
from tests.postgres import POSTGRES_URL, temporary_database

pytestmark = pytest.mark.postgres


async def _databases() -> set[str]:
    assert POSTGRES_URL
    db = Database(POSTGRES_URL)
    try:
        async with db.sessions() as session:
            return set((await session.scalars(text("SELECT datname FROM pg_database"))).all())
    finally:
        await db.dispose()


async def test_each_test_database_is_unique_and_dropped() -> None:
    if not POSTGRES_URL:
        pytest.skip("OCOP_TEST_POSTGRES_URL is not set")
    configured = make_url(POSTGRES_URL).database
    async with (
        temporary_database(POSTGRES_URL, "ocop_test_private") as first,
        temporary_database(POSTGRES_URL, "ocop_test_private") as second,
    ):
        names = {make_url(first).database, make_url(second).database}
        assert len(names) == 2 and configured not in names
        assert names <= await _databases()
    after = await _databases()
    assert not names & after
    assert configured in after
