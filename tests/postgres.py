"""PostgreSQL helpers for tests: every database a test uses is created for it under a unique
name and dropped afterwards, so two suite runs on one server never touch each other's data."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import make_url

__all__ = ["POSTGRES_URL", "drop_database", "fresh_database", "temporary_database", "unique_name"]

POSTGRES_URL = os.environ.get("OCOP_TEST_POSTGRES_URL")


def unique_name(prefix: str) -> str:
    """A database name no other test or suite run uses: prefix, process id, random part."""
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"


async def _admin(url: str) -> Any:
    import asyncpg  # type: ignore[import-untyped]

    parsed = make_url(url)
    return await asyncpg.connect(
        user=parsed.username,
        password=parsed.password,
        host=parsed.host,
        port=parsed.port or 5432,
        database=parsed.database,
    )


async def fresh_database(url: str, prefix: str) -> str:
    """A newly created, empty database named ``<prefix>_<pid>_<random>`` on ``url``'s server;
    returns its URL. The caller drops it with :func:`drop_database`."""
    name = unique_name(prefix)
    conn = await _admin(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str, database_url: str) -> None:
    """Drops the database ``database_url`` names, connected through ``url`` (another database
    of the same server); connections to it are ended first."""
    parsed = make_url(database_url)
    conn = await _admin(url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        await conn.close()


@asynccontextmanager
async def temporary_database(url: str, prefix: str) -> AsyncIterator[str]:
    """A fresh database for the block's duration; dropped at its end, whatever happens."""
    database_url = await fresh_database(url, prefix)
    try:
        yield database_url
    finally:
        await drop_database(url, database_url)
