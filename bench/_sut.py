"""The systems under test, each in its own process: ``python -m bench._sut SYSTEM --api URL …``.

* ``ours``: the real application wired as ``tests/harness.py``'s ``running_bot`` does (engine,
  sender, Telegram channel polling), on a freshly migrated database holding the provinces and
  communes;
* ``ptb-echo``: a plain python-telegram-bot ``Application`` (polling, default settings) whose one
  ``MessageHandler`` echoes every text;
* ``aiogram-fsm``: an aiogram 3 bot with a registration-like FSM in ``MemoryStorage``
  (``bench/_aiogram_fsm.py``).

Each prints ``READY`` on stdout once it is about to poll, stops on SIGTERM (or SIGINT) and
prints ``STATS <json>`` last. ``--profile FILE`` (ours only) writes a pyinstrument report of
the time between READY and SIGTERM.

Asked by signals while it runs:

* SIGUSR1 (ours): prints ``SQL <json>``, the statements, transactions, commits and rollbacks
  run so far, by who ran them: ``engine`` (its worker loop and the tasks it starts),
  ``sender``, ``inbox`` (the Telegram channel's polling task storing updates) and ``other``.
  Each loop runs as a task of its own whose context carries its role (:data:`ROLE`), which
  the tasks it starts and SQLAlchemy's greenlets inherit; counting is one increment per event.
* SIGUSR2 (with ``--cprofile FILE``, every system): the first starts cProfile on the main
  thread, which prints ``CPROFILE on``; the second stops it, writes its statistics to FILE and
  prints ``CPROFILE <json>`` with the number of Python calls profiled.

``ours --worker-only`` runs the engine and the sender (which sends through a Telegram channel)
on a database another process prepared and polls, without fetching updates: a second process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import cProfile
import json
import logging
import os
import pstats
import re
import signal
import sys
import time
import warnings
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

__all__ = ["ROLE", "ROLES", "main"]

ROOT = Path(__file__).resolve().parents[1]
NATIONAL_LIST = ROOT.parent / "shared" / "data" / "vn-admin-units-2025.json"
SAMPLE_LIST = ROOT / "tests" / "data" / "communes-sample.csv"


def _say(line: str) -> None:
    print(line, flush=True)


# Who runs the SQL being counted: set by :func:`_as` at the start of each loop's task.
ROLES = ("engine", "sender", "inbox", "other")
ROLE: contextvars.ContextVar[str] = contextvars.ContextVar("bench_role", default="other")


async def _as(role: str, work: Awaitable[None]) -> None:
    assert role in ROLES
    ROLE.set(role)
    await work


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


# -- ours -------------------------------------------------------------------------------------
async def prepare_database(url: str) -> str:
    """A fresh database at the current schema with the provinces and communes.

    SQLite: the file is deleted first; PostgreSQL: schema ``public`` is dropped and recreated.
    Returns how the schema was made (``alembic``, or ``create_all`` if migrating failed).
    """
    from sqlalchemy import text

    from storage.areas import import_areas, seed_provinces
    from storage.db import Database
    from storage.models import Base

    db = Database(url)
    try:
        if db.is_sqlite:
            database = db.engine.url.database or ""
            for suffix in ("", "-wal", "-shm"):
                Path(database + suffix).unlink(missing_ok=True)
        else:
            await _create_database_if_missing(url)
            async with db.engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        how = "alembic"
        try:
            from storage.migrate import upgrade

            await upgrade(db.engine)
        except Exception as exc:  # another engineer is finishing the migrations
            print(f"migrating failed ({exc!r}); using create_all", file=sys.stderr)
            how = "create_all"
            async with db.engine.begin() as conn:
                await conn.run_sync(Base.metadata.drop_all)
                await conn.run_sync(Base.metadata.create_all)
            async with db.transaction() as session:
                await seed_provinces(session)
        async with db.transaction() as session:
            await import_areas(session, NATIONAL_LIST if NATIONAL_LIST.exists() else SAMPLE_LIST)
    finally:
        await db.dispose()
    return how


async def _counts(db: Any) -> dict[str, Any]:
    from sqlalchemy import func, select

    from storage.models import InboxEvent, OutboxMessage, Producer, TranscriptEntry

    async with db.sessions() as session:
        inbox = dict(
            (
                await session.execute(
                    select(InboxEvent.status, func.count()).group_by(InboxEvent.status)
                )
            ).all()
        )
        outbox = dict(
            (
                await session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                )
            ).all()
        )
        producers = await session.scalar(select(func.count()).select_from(Producer))
        transcript = await session.scalar(select(func.count()).select_from(TranscriptEntry))
    return {"inbox": inbox, "outbox": outbox, "producers": producers, "transcript": transcript}


async def run_ours(args: argparse.Namespace) -> dict[str, Any]:
    from bot.app import build_app
    from bot.channels.telegram import TelegramChannel
    from bot.settings import Settings
    from storage.blobs import LocalBlobStore

    schema = "prepared by another process" if args.worker_only else await prepare_database(args.db)
    settings = Settings(
        database_url=args.db,
        telegram_token=args.token,
        telegram_api_url=args.api,
        blob_dir=Path(args.blob_dir),
        send_rate_per_chat=1000,
        send_rate_global=args.send_rate,
        poll_interval=0.05,
        worker_name=args.worker_name,
    )
    app = build_app(settings)
    by_role = _count_by_role(app.db)
    sql = _count_sql(app.db) if args.count_sql else None
    telegram = TelegramChannel(args.token, args.api, app.engine, poll_timeout=10,
                               blobs=LocalBlobStore(settings.blob_dir))  # fmt: skip
    await telegram.initialize()
    app.channels[telegram.name] = telegram
    stop = _stop_event()
    asyncio.get_running_loop().add_signal_handler(
        signal.SIGUSR1, lambda: _say("SQL " + json.dumps(by_role))
    )
    tasks = [
        asyncio.create_task(_as("engine", app.engine.run(stop)), name="engine"),
        asyncio.create_task(_as("sender", app.sender.run(stop)), name="sender"),
    ]
    if not args.worker_only:
        polling = _as("inbox", telegram.run_polling(stop))
        tasks.append(asyncio.create_task(polling, name="telegram-polling"))
    profiler = _profiler(args.profile)
    _say("READY")
    try:
        await stop.wait()
    finally:
        stop.set()
        if profiler is not None:
            session = profiler.stop()
            session.save(str(Path(args.profile).with_suffix(".pyisession")))
            Path(args.profile).write_text(profiler.output_text(unicode=True, show_all=False))
        await asyncio.gather(*tasks, return_exceptions=True)
        await telegram.shutdown()
        counts = await _counts(app.db)
        await app.db.dispose()
    extra = {"sql": sql} if sql is not None else {}
    return {"schema": schema, "worker": settings.worker_id(), **counts, "by_role": by_role} | extra


def _count_by_role(db: Any) -> dict[str, dict[str, int]]:
    """Statements, transactions (BEGIN), commits and rollbacks by :data:`ROLE`, on every
    engine of ``db``. A statement is what the driver executes (SELECT, INSERT, UPDATE,
    DELETE, SAVEPOINT, RELEASE …) except SQLite's explicit ``BEGIN``, which is counted as a
    transaction, as PostgreSQL's implicit one is."""
    from sqlalchemy import event

    counts = {role: {"statements": 0, "transactions": 0, "commits": 0, "rollbacks": 0}
              for role in ROLES}  # fmt: skip

    def _statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith("BEGIN"):
            counts[ROLE.get()]["statements"] += 1

    def _begin(_conn: Any) -> None:
        counts[ROLE.get()]["transactions"] += 1

    def _commit(_conn: Any) -> None:
        counts[ROLE.get()]["commits"] += 1

    def _rollback(_conn: Any) -> None:
        counts[ROLE.get()]["rollbacks"] += 1

    for engine in getattr(db, "engines", [db.engine, db.read_engine]):
        event.listen(engine.sync_engine, "after_cursor_execute", _statement)
        event.listen(engine.sync_engine, "begin", _begin)
        event.listen(engine.sync_engine, "commit", _commit)
        event.listen(engine.sync_engine, "rollback", _rollback)
    return counts


_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)


def _count_sql(db: Any) -> dict[str, list[float]]:
    """Count the statements ``db`` runs by verb and table: [count, seconds, slow (> 5 ms)];
    statements on a separate read engine (SQLite) are prefixed ``read``.

    Seconds are wall time from the driver call to its return (thread hop included); a slow
    ``BEGIN`` on SQLite is a connection waiting for the file's write lock (busy timeout).
    """
    from sqlalchemy import event

    counts: dict[str, list[float]] = {}
    started: dict[int, float] = {}
    engines = {"": db.engine}
    if getattr(db, "read_engine", db.engine) is not db.engine:
        engines["read "] = db.read_engine
    if getattr(db, "quick_engine", db.engine) is not db.engine:
        engines["quick read "] = db.quick_engine

    def add(key: str, took: float = 0.0) -> None:
        entry = counts.setdefault(key, [0, 0.0, 0])
        entry[0] += 1
        entry[1] += took
        entry[2] += took > 0.005

    for prefix, engine in engines.items():

        def _before(_conn: Any, cursor: Any, *_args: Any) -> None:
            started[id(cursor)] = time.perf_counter()

        def _after(_c: Any, cursor: Any, statement: str, *_a: Any, prefix: str = prefix) -> None:
            took = time.perf_counter() - started.pop(id(cursor), time.perf_counter())
            verb = (statement.split(None, 1) or ["?"])[0].upper()
            table = _TABLE.search(statement)
            add(f"{prefix}{verb} {table.group(1) if table else ''}".strip(), took)

        def _commit(_conn: Any, prefix: str = prefix) -> None:
            add(f"{prefix}COMMIT")

        def _connect(*_args: Any, prefix: str = prefix) -> None:
            add(f"{prefix}(new connection)")

        event.listen(engine.sync_engine, "before_cursor_execute", _before)
        event.listen(engine.sync_engine, "after_cursor_execute", _after)
        event.listen(engine.sync_engine, "commit", _commit)
        event.listen(engine.sync_engine, "connect", _connect)
    return counts


class _CallCounter:
    """cProfile on the main thread, started and stopped by SIGUSR2 (see the module's doc)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.profile: cProfile.Profile | None = None

    def toggle(self, *_args: Any) -> None:
        if self.profile is None:
            self.profile = cProfile.Profile()
            self.profile.enable()
            _say("CPROFILE on")
            return
        self.profile.disable()
        stats = pstats.Stats(self.profile)
        self.profile = None
        stats.dump_stats(self.path)
        calls = {"total_calls": stats.total_calls, "primitive_calls": stats.prim_calls}
        _say("CPROFILE " + json.dumps(calls))


def _profiler(path: str | None) -> Any:
    if not path:
        return None
    from pyinstrument import Profiler  # optional: .venv/bin/pip install pyinstrument

    profiler = Profiler(interval=0.002, async_mode="disabled")
    profiler.start()
    return profiler


# -- python-telegram-bot echo -----------------------------------------------------------------
def run_ptb_echo(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    handled = 0

    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        nonlocal handled
        message = update.effective_message
        if message is not None and message.text:
            await message.reply_text(message.text)
            handled += 1

    async def ready(_app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        _say("READY")

    application = (
        Application.builder()
        .token(args.token)
        .base_url(f"{args.api}/bot")
        .base_file_url(f"{args.api}/file/bot")
        .concurrent_updates(args.concurrent)
        .post_init(ready)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(
        allowed_updates=["message", "callback_query"],
        close_loop=False,
        stop_signals=(signal.SIGINT, signal.SIGTERM),
    )
    return {"handled": handled, "concurrent_updates": args.concurrent}


# -- entry point ------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="one system under test (see bench/README.md)")
    parser.add_argument("system", choices=("ours", "ptb-echo", "aiogram-fsm"))
    parser.add_argument("--api", required=True, help="the fake Bot API root URL")
    parser.add_argument("--token", required=True)
    parser.add_argument("--db", help="ours: database URL")
    parser.add_argument("--blob-dir", default="bench/results/blobs", help="ours: blob store")
    parser.add_argument("--profile", help="ours: write a pyinstrument report here")
    parser.add_argument("--count-sql", action="store_true", help="ours: time SQL statements")
    parser.add_argument("--worker-only", action="store_true", help="ours: no polling, no set-up")
    parser.add_argument("--worker-name", default="bench-1", help="ours: OCOP_WORKER_NAME")
    parser.add_argument("--send-rate", type=float, default=30.0, help="ours: messages/s paced")
    parser.add_argument("--cprofile", help="SIGUSR2 starts/stops cProfile, which writes here")
    parser.add_argument("--concurrent", action="store_true", help="ptb-echo: concurrent_updates")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    warnings.simplefilter("ignore", DeprecationWarning)
    if args.cprofile:
        signal.signal(signal.SIGUSR2, _CallCounter(args.cprofile).toggle)
    stats: dict[str, Any]
    if args.system == "ours":
        if not args.db:
            parser.error("ours needs --db")
        from bot.event_loop import run

        stats = run(run_ours(args))  # uvloop, as `ocop-bot serve` runs
    elif args.system == "ptb-echo":
        stats = run_ptb_echo(args)
    else:
        from bench._aiogram_fsm import run_aiogram

        stats = asyncio.run(run_aiogram(args.api, args.token, _say))
    with contextlib.suppress(BrokenPipeError):
        _say("STATS " + json.dumps(stats, default=str))


async def _server(url: str) -> tuple[Any, str]:
    """A connection to the PostgreSQL server of ``url`` (its ``postgres`` database), and the
    name of the database ``url`` names."""
    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conn = await asyncpg.connect(
        user=parsed.username,
        password=parsed.password,
        host=parsed.host,
        port=parsed.port or 5432,
        database="postgres",
    )
    return conn, str(parsed.database)


async def drop_database(url: str) -> bool:
    """Drops the PostgreSQL database ``url`` names once nothing uses it any more; False (and
    the database left as it is) while someone is still connected to it."""
    import asyncpg  # type: ignore[import-untyped]

    conn, name = await _server(url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    except asyncpg.ObjectInUseError:
        return False
    finally:
        await conn.close()
    return True


async def _create_database_if_missing(url: str) -> None:
    """Creates the benchmark's PostgreSQL database (its name from ``url``) on a new server."""
    conn, name = await _server(url)
    try:
        query = "SELECT 1 FROM pg_database WHERE datname = $1"
        if not await conn.fetchval(query, name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
