"""SQLite for SQLAlchemy's asyncio engine without a thread: the ``sqlite+ocop`` dialect.

aiosqlite runs every call of a connection in a thread of its own and hands the result back to
the event loop: about 31 hand-offs per update, nearly half of the engine's CPU (issue 12). The
calls themselves take microseconds, and SQLAlchemy's asyncio layer already runs its sync code
in a greenlet on the loop's thread, so here the stdlib ``sqlite3`` runs right there.

What made the thread necessary is the one call that can wait: a lock another process holds (its
``BEGIN IMMEDIATE``, the checkpoint of its last connection closing). SQLite's busy timeout would
sleep on the loop's thread and stop every chat, so it is 0 on these connections. A statement
refused as busy is tried again after an ``asyncio.sleep`` (1 ms, doubling up to 50 ms) during
which the loop runs everything else, until the connection's ``timeout`` (seconds, 5 unless the
URL or ``connect_args`` say otherwise) has passed; then the error is raised.

A statement is tried again only where SQLite itself would have waited, so where it has done
nothing yet: outside a transaction (``BEGIN IMMEDIATE``), as the first statement of one (the
first read of a deferred ``BEGIN``), and ``COMMIT``. A transaction that has read and then meets
a writer when it writes gets the error at once, as from SQLite (waiting could not help: its
snapshot is older than that writer's commit).

``sqlite+aiosqlite`` URLs, the documented form, are served by this driver: see
:func:`engine_url`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from greenlet import getcurrent
from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.util.concurrency import await_, in_greenlet

__all__ = [
    "DRIVER",
    "InlineConnection",
    "InlineCursor",
    "SQLiteDialect_ocop",
    "engine_url",
    "threaded_url",
]

DRIVER = "ocop"
DEFAULT_TIMEOUT = 5.0
FIRST_PAUSE = 0.001
LONGEST_PAUSE = 0.05

T = TypeVar("T")


def threaded_url(url: str | URL) -> URL:
    """``url`` through aiosqlite (a thread per connection) when it names SQLite: for reads
    that may take long, which this driver would run on the loop's thread."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    return parsed


def engine_url(url: str | URL) -> URL:
    """``url`` with this driver when it names SQLite through aiosqlite; any other as it is."""
    parsed = make_url(url)
    if parsed.drivername == "sqlite+aiosqlite":
        return parsed.set(drivername=f"sqlite+{DRIVER}")
    return parsed


class _Ready:
    """An awaitable that is done at once: awaiting it switches greenlets but not tasks."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        yield from ()


_READY = _Ready()


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", sqlite3.SQLITE_BUSY)
    return code & 0xFF == sqlite3.SQLITE_BUSY and code != sqlite3.SQLITE_BUSY_SNAPSHOT


def _until_not_busy(
    connection: InlineConnection, call: Callable[..., T], *args: Any, changes: int | None = None
) -> T:
    """``call(*args)``, called again after a pause on the loop while SQLite answers busy; with
    ``changes`` (the connection's ``total_changes`` before), only while it has changed nothing.
    """
    deadline: float | None = None
    pause = FIRST_PAUSE
    while True:
        try:
            return call(*args)
        except sqlite3.OperationalError as error:
            # Outside SQLAlchemy's greenlet there is no way to wait without blocking the loop.
            if not _is_busy(error) or not in_greenlet():
                raise
            if changes is not None and connection.total_changes != changes:
                raise
            now = asyncio.get_running_loop().time()
            if deadline is None:
                deadline = now + connection.busy_timeout
            if now >= deadline:
                raise
        await_(asyncio.sleep(min(pause, deadline - now)))
        pause = min(pause * 2, LONGEST_PAUSE)


class InlineCursor(sqlite3.Cursor):
    """A ``sqlite3`` cursor whose statements wait for another process's lock on the loop."""

    connection: InlineConnection

    def _may_wait(self) -> bool:
        """Whether this statement may wait for a lock: where SQLite itself would, outside a
        transaction or as the first statement of one (marks the transaction touched)."""
        connection = self.connection
        if not connection.in_transaction:
            connection.touched = False
            return True
        first = not connection.touched
        connection.touched = True
        return first

    def execute(self, sql: str, parameters: Any = (), /) -> InlineCursor:
        if not self._may_wait():
            return super().execute(sql, parameters)
        return _until_not_busy(self.connection, super().execute, sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> InlineCursor:
        if not self._may_wait():
            return super().executemany(sql, seq_of_parameters)
        connection = self.connection
        # Rows refused after others went (outside a transaction, each its own) are not retried.
        rows = seq_of_parameters
        if not isinstance(rows, list):
            rows = list(rows)
        return _until_not_busy(
            connection, super().executemany, sql, rows, changes=connection.total_changes
        )

    async def _async_soft_close(self) -> None:
        """What SQLAlchemy's asyncio results call once out of the greenlet: nothing to do, the
        rows left are read from SQLite as they are fetched, without waiting."""


class InlineConnection(sqlite3.Connection):
    """A ``sqlite3`` connection for the loop's thread: its cursors are :class:`InlineCursor`.

    ``touched`` says whether the open transaction has run a statement since its ``BEGIN``;
    ``busy_timeout`` is how long (seconds) a statement may wait for a lock; ``greenlet`` is the
    one its dialect last executed in."""

    busy_timeout = DEFAULT_TIMEOUT
    touched = False
    greenlet: object = None

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or InlineCursor)

    def execute(self, sql: str, parameters: Any = (), /) -> InlineCursor:
        cursor: InlineCursor = self.cursor()
        return cursor.execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> InlineCursor:
        cursor: InlineCursor = self.cursor()
        return cursor.executemany(sql, seq_of_parameters)

    def commit(self) -> None:
        # A refused COMMIT leaves the transaction open and whole, so it may be tried again.
        if self.in_transaction:
            _until_not_busy(self, super().commit)


class SQLiteDialect_ocop(SQLiteDialect_pysqlite):
    """pysqlite's dialect, async, on :class:`InlineConnection`; pooled like aiosqlite's."""

    driver = DRIVER
    is_async = True
    has_terminate = True  # closing never waits, so the pool may close where it must
    supports_statement_cache = True

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool if cls._is_url_file_db(url) else pool.StaticPool

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        wait = float(cparams.pop("timeout", DEFAULT_TIMEOUT))
        # Only the loop's thread uses a connection; the pool may close one from elsewhere.
        cparams.update(timeout=0, factory=InlineConnection, check_same_thread=False)
        connection: InlineConnection = sqlite3.connect(*cargs, **cparams)
        connection.busy_timeout = wait
        return connection

    def do_terminate(self, dbapi_connection: Any) -> None:
        dbapi_connection.close()

    def do_execute(
        self, cursor: Any, statement: Any, parameters: Any, context: Any = None
    ) -> None:
        _await_once(cursor.connection)
        cursor.execute(statement, parameters)

    def do_execute_no_params(self, cursor: Any, statement: Any, context: Any = None) -> None:
        _await_once(cursor.connection)
        cursor.execute(statement)

    def do_executemany(
        self, cursor: Any, statement: Any, parameters: Any, context: Any = None
    ) -> None:
        _await_once(cursor.connection)
        cursor.executemany(statement, parameters)


def _await_once(connection: InlineConnection) -> None:
    """Awaits, once per greenlet, something already done.

    ``AsyncConnection.execute`` checks that its greenlet awaited at least once (a sync driver
    by mistake would block the loop); these statements rightly do not, so they pass it this way
    (a few µs, once per call rather than per statement).
    """
    current = getcurrent()
    if connection.greenlet is not current:
        connection.greenlet = current
        if in_greenlet():
            await_(_READY)


dialect = SQLiteDialect_ocop

registry.register(f"sqlite.{DRIVER}", __name__, "SQLiteDialect_ocop")
