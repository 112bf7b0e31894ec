"""PostgreSQL helpers for tests that need a database of their own."""

from __future__ import annotations

import os

from sqlalchemy.engine import make_url

__all__ = ["POSTGRES_URL", "fresh_database"]

POSTGRES_URL = os.environ.get("OCOP_TEST_POSTGRES_URL")


async def fresh_database(url: str, name: str) -> str:
    """A newly created, empty database on ``url``'s server; returns its URL."""
    import asyncpg  # type: ignore[import-untyped]

    parsed = make_url(url)
    conn = await asyncpg.connect(
        user=parsed.username,
        password=parsed.password,
        host=parsed.host,
        port=parsed.port or 5432,
        database=parsed.database,
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return parsed.set(database=name).render_as_string(hide_password=False)
