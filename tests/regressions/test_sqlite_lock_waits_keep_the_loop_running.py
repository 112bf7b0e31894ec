"""Guarantee: waiting for another process's SQLite lock never blocks the event loop.

The bot's SQLite driver runs ``sqlite3`` on the loop's thread (storage/sqlite_driver.py). Were
SQLite's own busy timeout left on, a writer whose ``BEGIN IMMEDIATE`` meets another process's
write transaction (an ``areas import``, a second bot by mistake) would sleep on that thread and
stop every chat, the heartbeat here included, for as long as the other process holds the lock.
Here a real second process holds the lock for a second while a heartbeat on the loop ticks
every 10 ms; our transaction waits for the lock, the heartbeat goes on, then it commits.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import Database

HOLD = 1.0  # seconds the other process keeps its lock
TICK = 0.01

# A second process: takes the write lock (or, with "exclusive", every lock: readers too, as
# a checkpoint of its last connection closing would), says so, keeps it HOLD seconds, lets go.
HOLDER = """
import sqlite3, sys, time
path, hold, mode = sys.argv[1], float(sys.argv[2]), sys.argv[3]
connection = sqlite3.connect(path, isolation_level=None, timeout=10)
if mode == "exclusive":
    connection.execute("PRAGMA locking_mode=EXCLUSIVE")
connection.execute("BEGIN IMMEDIATE")
connection.execute("INSERT INTO note (text) VALUES ('other process')")
if mode == "exclusive":
    connection.execute("COMMIT")
print("locked", flush=True)
time.sleep(hold)
if mode == "exclusive":
    connection.execute("PRAGMA locking_mode=NORMAL")
    connection.execute("SELECT count(*) FROM note").fetchall()
else:
    connection.execute("COMMIT")
connection.close()
"""


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'ocop.sqlite3'}")
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE note (text TEXT NOT NULL)"))
    yield database
    await database.dispose()


async def hold_lock(db: Database, mode: str) -> asyncio.subprocess.Process:
    """Starts the other process; returns once it holds its lock."""
    path = db.engine.url.database
    assert path
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, path, str(HOLD), mode, stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdout is not None
    assert await holder.stdout.readline() == b"locked\n"
    return holder


class Heartbeat:
    """Ticks every 10 ms on the loop, noting when."""

    def __init__(self) -> None:
        self.beats: list[float] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self.beats.append(loop.time())
            await asyncio.sleep(TICK)

    def between(self, start: float, end: float) -> list[float]:
        return [beat for beat in self.beats if start <= beat <= end]


def assert_loop_ran(heartbeat: Heartbeat, start: float, end: float) -> None:
    assert end - start >= HOLD * 0.8, "the statement did not wait for the other process's lock"
    beats = [start, *heartbeat.between(start, end), end]
    longest = max(later - earlier for earlier, later in pairwise(beats))
    # Ticking freely would give ~100 beats; a loop blocked by the wait gives none.
    assert len(beats) - 2 >= 25, f"{len(beats) - 2} heartbeats in {end - start:.2f} s"
    assert longest < 0.25, f"the loop stood still for {longest:.2f} s"


async def test_a_writer_waits_for_another_process_without_blocking_the_loop(
    db: Database,
) -> None:
    loop = asyncio.get_running_loop()
    holder = await hold_lock(db, "write")
    heartbeat = Heartbeat()
    try:
        start = loop.time()
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO note (text) VALUES ('this process')"))
        end = loop.time()
    finally:
        heartbeat.task.cancel()
    assert await holder.wait() == 0
    assert_loop_ran(heartbeat, start, end)
    async with db.sessions() as session:
        notes = (await session.scalars(text("SELECT text FROM note ORDER BY rowid"))).all()
    assert notes == ["other process", "this process"]


@pytest.mark.parametrize("reads", ["sessions", "quick_reads"])
async def test_a_reader_waits_for_another_process_without_blocking_the_loop(
    db: Database, reads: str
) -> None:
    loop = asyncio.get_running_loop()
    await db.dispose()  # an exclusive lock is only had with no other connection open
    holder = await hold_lock(db, "exclusive")
    heartbeat = Heartbeat()
    try:
        start = loop.time()
        async with getattr(db, reads)() as session:
            notes = (await session.scalars(text("SELECT text FROM note"))).all()
        end = loop.time()
    finally:
        heartbeat.task.cancel()
    assert await holder.wait() == 0
    assert_loop_ran(heartbeat, start, end)
    assert notes == ["other process"]


async def test_a_long_read_runs_beside_the_loop(db: Database) -> None:
    """A read anyone may make long (the console's searches and reports) goes through
    ``Database.sessions``, whose connections run in a thread: the loop goes on meanwhile."""
    loop = asyncio.get_running_loop()
    slow = text(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 4000000) "
        "SELECT count(*) FROM n"
    )
    heartbeat = Heartbeat()
    try:
        start = loop.time()
        async with db.sessions() as session:
            assert await session.scalar(slow) == 4000000
        end = loop.time()
    finally:
        heartbeat.task.cancel()
    beats = [start, *heartbeat.between(start, end), end]
    longest = max(later - earlier for earlier, later in pairwise(beats))
    assert end - start > 0.2, "the read was too quick to show anything"
    assert longest < 0.1, f"the loop stood still for {longest:.2f} s of {end - start:.2f} s"
