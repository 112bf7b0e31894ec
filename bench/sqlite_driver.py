"""What a small write transaction costs through aiosqlite and through our thread-less driver.

    .venv/bin/python -m bench.sqlite_driver [--cycles 2000] [--rounds 7]

One cycle is what the engine does many times per update, shrunk: ``BEGIN IMMEDIATE``, a small
``INSERT``, a ``SELECT`` of a few rows, ``COMMIT``, through SQLAlchemy's asyncio engine with the
pragmas of ``storage/db.py`` (WAL, synchronous=NORMAL, foreign keys). Both drivers run in this
process on their own file, round after round in turn (so a busy machine slows both alike), on
asyncio's event loop and, where installed, uvloop's; what start-up made is frozen out of the
garbage collector's sight, as in ``ocop-bot serve``. It prints the median over the rounds of the
process's CPU time per cycle (aiosqlite's threads included) and of the wall time.

Each round also runs one slow read (a recursive count, ~0.1 s) while a heartbeat ticks every
millisecond on the loop, and prints how long the loop stood still: through aiosqlite's thread
it keeps running; on our driver SQLite runs on the loop's thread, so the loop waits for the read.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import storage.sqlite_driver  # noqa: F401 (registers sqlite+ocop)
from bot.event_loop import loop_factory
from storage.db import install_sqlite_pragmas

DRIVERS = ("aiosqlite", "ocop")

metadata = MetaData()
note = Table(
    "note",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat", Integer, nullable=False, index=True),
    Column("text", String, nullable=False),
)


def make_engine(driver: str, path: Path) -> AsyncEngine:
    """An engine set up as ``storage.db.Database`` sets up its writer, on ``driver`` (the
    ``timeout`` is aiosqlite's busy timeout, and the ocop driver's wait on the loop)."""
    engine = create_async_engine(f"sqlite+{driver}:///{path}", connect_args={"timeout": 30})
    install_sqlite_pragmas(engine, begin="BEGIN IMMEDIATE")
    return engine


async def cycles(engine: AsyncEngine, count: int) -> tuple[float, float]:
    """Runs ``count`` cycles; returns CPU and wall µs per cycle."""
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(count):
        chat = n % 50
        async with engine.begin() as conn:
            await conn.execute(insert(note).values(chat=chat, text=f"message {n}"))
            rows = await conn.execute(
                select(note.c.id, note.c.text)
                .where(note.c.chat == chat)
                .order_by(note.c.id.desc())
                .limit(3)
            )
            rows.all()
    return (
        (time.process_time() - cpu) / count * 1e6,
        (time.perf_counter() - wall) / count * 1e6,
    )


# A read that keeps SQLite busy for a while (~0.1 s here), as a console search scanning a
# large table does.
SLOW_READ = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
    "SELECT count(*) FROM n"
)


async def stall(engine: AsyncEngine) -> tuple[float, float]:
    """Runs :data:`SLOW_READ` while a heartbeat ticks every ms on the loop; returns the read's
    wall time and the longest the heartbeat waited (ms)."""
    loop = asyncio.get_running_loop()
    beats: list[float] = []

    async def heartbeat() -> None:
        while True:
            beats.append(loop.time())
            await asyncio.sleep(0.001)

    ticking = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.01)
    start = loop.time()
    async with engine.connect() as conn:
        await conn.execute(SLOW_READ)
    end = loop.time()
    ticking.cancel()
    during = [start, *(beat for beat in beats if start <= beat <= end), end]
    longest = max(later - earlier for earlier, later in pairwise(during))
    return (end - start) * 1000, longest * 1000


async def measure(work: Path, cycle_count: int, rounds: int) -> dict[str, tuple[float, ...]]:
    engines = {driver: make_engine(driver, work / f"{driver}.sqlite3") for driver in DRIVERS}
    try:
        for engine in engines.values():
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
            await cycles(engine, cycle_count // 10)  # warm up: connections, statement caches
        gc.collect()
        gc.freeze()  # as `ocop-bot serve` does once started (bot/app.py)
        figures: dict[str, list[tuple[float, float]]] = {driver: [] for driver in DRIVERS}
        stalls: dict[str, list[tuple[float, float]]] = {driver: [] for driver in DRIVERS}
        for _ in range(rounds):
            for driver, engine in engines.items():
                figures[driver].append(await cycles(engine, cycle_count))
                stalls[driver].append(await stall(engine))
    finally:
        for engine in engines.values():
            await engine.dispose()
    gc.unfreeze()
    return {
        driver: (
            statistics.median(cpu for cpu, _ in runs),
            statistics.median(wall for _, wall in runs),
            statistics.median(read for read, _ in stalls[driver]),
            statistics.median(longest for _, longest in stalls[driver]),
        )
        for driver, runs in figures.items()
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=2000, help="cycles per round and driver")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    loops: dict[str, Callable[[], asyncio.AbstractEventLoop] | None] = {"asyncio": None}
    if (uvloop := loop_factory()) is not None:
        loops["uvloop"] = uvloop
    print(f"{args.rounds} rounds × {args.cycles} cycles (BEGIN IMMEDIATE, INSERT, SELECT, COMMIT)")
    print(
        f"{'loop':8} {'driver':10} {'CPU µs/cycle':>13} {'wall µs/cycle':>14}"
        f" {'slow read ms':>13} {'loop stalled ms':>16}"
    )
    for name, factory in loops.items():
        with tempfile.TemporaryDirectory() as work, asyncio.Runner(loop_factory=factory) as run:
            results = run.run(measure(Path(work), args.cycles, args.rounds))
        for driver, (cpu, wall, read, stalled) in results.items():
            print(f"{name:8} {driver:10} {cpu:13.0f} {wall:14.0f} {read:13.1f} {stalled:16.1f}")
        aiosqlite, ours = results["aiosqlite"][0], results["ocop"][0]
        print(f"{name:8} {'':10} ocop uses {ours / aiosqlite:.2f}× aiosqlite's CPU per cycle")


if __name__ == "__main__":
    main()
