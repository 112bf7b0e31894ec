"""Alembic environment: runs the migrations in ``versions/`` on SQLite or PostgreSQL (async).

The database is, in order: a connection passed in ``config.attributes["connection"]`` (what
``storage.migrate`` does), ``config.attributes["url"]``, ``sqlalchemy.url`` in alembic.ini, the
``OCOP_DATABASE_URL`` environment variable. SQLite gets batch mode (``render_as_batch``) so that
later migrations can alter tables.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from storage.models import Base
from storage.sqlite_driver import engine_url
from storage.types import UTCDateTime

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = (
        config.attributes.get("url")
        or config.get_main_option("sqlalchemy.url")
        or os.environ.get("OCOP_DATABASE_URL")
    )
    if not url:
        raise RuntimeError(
            "no database to migrate: set OCOP_DATABASE_URL "
            "(e.g. sqlite+aiosqlite:///./data/ocop.sqlite3)"
        )
    return str(url)


def render_item(kind: str, obj: Any, _context: Any) -> str | Literal[False]:
    """Autogenerate writes our column types as plain SQLAlchemy ones (no app imports)."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    """Write the SQL to stdout (``alembic upgrade head --sql``)."""
    url = database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        render_item=render_item,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_async_engine(engine_url(database_url()), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
