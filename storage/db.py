"""Database set-up: the async engine, SQLite pragmas, and one way to open a transaction.

SQLite is the zero-set-up default: WAL journal, ``BEGIN IMMEDIATE`` transactions and one writer
at a time in this process (guarantee 3's "one writer process"), through the thread-less driver of
``storage/sqlite_driver.py`` (also for ``sqlite+aiosqlite`` URLs). PostgreSQL is used as is; the
engine takes row locks where it needs them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.sqlite_driver import engine_url, threaded_url

__all__ = ["Database", "install_sqlite_pragmas"]

log = logging.getLogger(__name__)


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


class Database:
    """One database: an engine for writes, one for reads, and sessions for each.

    On SQLite, writes go through :meth:`transaction` one at a time in this process, each
    starting with ``BEGIN IMMEDIATE``; reads use their own connections with a deferred
    ``BEGIN``, which in WAL mode never waits for the writer: :attr:`sessions` in a thread (any
    read, however long), :attr:`quick_reads` on the loop (the engine's and the sender's short
    reads, each a few indexed rows). On PostgreSQL all three are the same engine.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            _prepare_sqlite_file(url)
            options: dict[str, Any] = {
                "echo": echo,
                # How long a statement waits (on the loop) for another process's lock.
                "connect_args": {"timeout": 30},
                "hide_parameters": True,  # error texts must not carry what users typed
            }
            self.engine: AsyncEngine = create_async_engine(engine_url(url), **options)
            # Reads anyone may make long (the console's searches and reports) run in
            # aiosqlite's thread, so they never hold up the loop; the bot's own short reads
            # (:attr:`quick_reads`) run on the loop like the writes.
            self.read_engine: AsyncEngine = create_async_engine(threaded_url(url), **options)
            self.quick_engine: AsyncEngine = create_async_engine(engine_url(url), **options)
            install_sqlite_pragmas(self.engine, begin="BEGIN IMMEDIATE")
            install_sqlite_pragmas(self.read_engine, begin="BEGIN")
            install_sqlite_pragmas(self.quick_engine, begin="BEGIN")
        else:
            self.engine = create_async_engine(
                url,
                echo=echo,
                pool_size=20,
                max_overflow=10,
                pool_pre_ping=True,
                hide_parameters=True,  # error texts must not carry what users typed
            )
            self.read_engine = self.quick_engine = self.engine
        self.engines = list(dict.fromkeys((self.engine, self.read_engine, self.quick_engine)))
        self.sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self.quick_reads = async_sessionmaker(self.quick_engine, expire_on_commit=False)
        self._writes = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._vacuum_refused = False

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error.

        On SQLite, transactions of this process run one at a time (the file has one writer).
        """
        if self._write_lock is not None:
            async with self._write_lock, self._writes() as session, session.begin():
                yield session
        else:
            async with self._writes() as session, session.begin():
                yield session

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def vacuum(self, tables: Sequence[str]) -> bool:
        """Clears the dead row versions of busy ``tables`` (and refreshes their statistics)
        on PostgreSQL, outside any transaction; SQLite keeps none (it updates in place).
        Returns whether it ran: a role that may not vacuum is logged once and left alone."""
        named = [table for table in tables if table.isidentifier()]
        if self.is_sqlite or self._vacuum_refused or not named:
            return False
        names = ", ".join(f'"{table}"' for table in named)
        try:
            async with self.engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f"VACUUM (ANALYZE) {names}"))
        except Exception as exc:
            self._vacuum_refused = True
            log.warning(
                "VACUUM of %s failed (%s); leaving it to autovacuum", names, type(exc).__name__
            )
            return False
        return True

    async def dispose(self) -> None:
        for engine in self.engines:
            await engine.dispose()


def install_sqlite_pragmas(engine: AsyncEngine, *, begin: str) -> None:
    """WAL, ``synchronous=NORMAL`` and foreign keys on each new connection of ``engine``, and
    ``begin`` as the statement that opens its transactions."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers say IMMEDIATE: they take the write lock up front, so two writers (say, the
        # bot and an `areas import`) wait for each other instead of failing half-way.
        conn.exec_driver_sql(begin)
