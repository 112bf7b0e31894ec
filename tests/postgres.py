"""PostgreSQL helpers for tests: every database a test uses is created for it under a unique
name and dropped afterwards, so two suite runs (or two xdist workers) on one server never touch
each other's data.

A database that many tests need prepared the same way (migrated, communes loaded) is prepared
once per test process as a template (:class:`Templates`, also uniquely named) and each test gets
its own copy (``CREATE DATABASE … TEMPLATE``), which is much cheaper than migrating again."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import make_url

__all__ = [
    "POSTGRES_URL",
    "Templates",
    "drop_database",
    "drop_templates",
    "fresh_database",
    "templates",
    "temporary_database",
    "unique_name",
]

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


async def fresh_database(url: str, prefix: str, template: str | None = None) -> str:
    """A newly created database named ``<prefix>_<pid>_<random>`` on ``url``'s server, empty or
    a copy of the database named ``template``; returns its URL. The caller drops it with
    :func:`drop_database`."""
    name = unique_name(prefix)
    conn = await _admin(url)
    try:
        copy = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{copy}')
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
async def temporary_database(
    url: str, prefix: str, template: str | None = None
) -> AsyncIterator[str]:
    """A fresh database (empty, or a copy of ``template``) for the block's duration; dropped at
    its end, whatever happens."""
    database_url = await fresh_database(url, prefix, template)
    try:
        yield database_url
    finally:
        await drop_database(url, database_url)


Prepare = Callable[[str], Awaitable[None]]


class Templates:
    """Prepared databases made once per test process on ``url``'s server, each under a unique
    name, for tests to copy; :meth:`drop_all` drops them (the ``postgres_templates`` fixture
    does at the end of the session)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.names: dict[str, str] = {}

    async def template(self, key: str, prepare: Prepare) -> str:
        """The name of the template ``key``, made by ``prepare(database_url)`` the first time
        (``prepare`` must close its connections: a template is copied only when unused)."""
        if key not in self.names:
            database_url = await fresh_database(self.url, f"ocop_test_template_{key}")
            try:
                await prepare(database_url)
            except BaseException:
                await drop_database(self.url, database_url)
                raise
            self.names[key] = str(make_url(database_url).database)
        return self.names[key]

    @asynccontextmanager
    async def copy(self, key: str, prepare: Prepare, prefix: str) -> AsyncIterator[str]:
        """A private copy of the template ``key`` for the block's duration."""
        template = await self.template(key, prepare)
        async with temporary_database(self.url, prefix, template) as database_url:
            yield database_url

    async def drop_all(self) -> None:
        for name in self.names.values():
            await drop_database(self.url, str(make_url(self.url).set(database=name)))
        self.names.clear()


_templates: dict[str, Templates] = {}


def templates() -> Templates:
    """This test process's templates on the configured server (OCOP_TEST_POSTGRES_URL)."""
    assert POSTGRES_URL, "OCOP_TEST_POSTGRES_URL is not set"
    return _templates.setdefault(POSTGRES_URL, Templates(POSTGRES_URL))


async def drop_templates() -> None:
    """Drops every template this process made (tests/conftest.py does at the session's end)."""
    for made in _templates.values():
        await made.drop_all()
