"""Conversation benchmark: many producers registering at once, through a fake Telegram Bot API.

Three processes: the fake Bot API server (``python -m tests.fakes.telegram_api``), one system
under test at a time (``bench/_sut.py``: our bot on SQLite and on PostgreSQL, a
python-telegram-bot echo bot, an aiogram FSM bot) and this one, which drives closed-loop
simulated producers (``bench/_driver.py``) and measures updates/s, messages/s, reply latency
(p50/p95/p99) and CPU. The fake server is reset between systems; each system starts fresh.

    .venv/bin/python -m bench.conversation --quick      # 100 users × 20 updates, a smoke run
    .venv/bin/python -m bench.conversation              # 1,000 users × 20 updates

What exactly is measured, and the figures: bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

from bench._driver import Driver, FakeServer, client_session, script
from bench._procs import (
    Child,
    cpu_delta,
    cpu_snapshot,
    exclusive,
    git_revision,
    log,
    wait_until_idle,
)
from bench._report import Row, problems, ratios, save, table, timeline

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TOKEN = "123456789:BENCH-token_for-the-fake-server"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/ocop_bench"
SYSTEMS = ("ptb-echo", "aiogram-fsm", "ours")
NOTES = (
    "latency: from the driver's push of the update to the fake server receiving the answering "
    "sendMessage (obs p50: until the driver saw it); CPU: % of one core during the run, sut = "
    "the system's process (main = its event-loop thread), db = PostgreSQL's server processes, "
    "other = the rest of the machine",
    "durability: ours commits each update to its inbox before acknowledging it, and each "
    "step (domain writes, conversation, transcript, outbox, inbox row done) before its reply "
    "can be sent (steps of several chats may share a transaction, a savepoint each); the "
    "sender records its claims and results in the database too. SQLite: WAL with "
    "synchronous=NORMAL (safe against a process crash, not against a power cut); "
    "PostgreSQL: synchronous_commit=on. The baselines keep everything in memory",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sut_argv(system: str, backend: str, args: argparse.Namespace, api: str) -> list[str]:
    argv = [sys.executable, "-m", args.sut_module, system, "--api", api, "--token", TOKEN]
    if system == "ours":
        sqlite = f"sqlite+aiosqlite:///{args.work / 'ours.sqlite3'}"
        argv += ["--db", args.pg_url if backend == "postgres" else sqlite]
        argv += ["--blob-dir", str(args.work / "blobs")]
        if args.profile:
            argv += ["--profile", str(args.work / f"profile-ours-{backend}.txt")]
        if args.count_sql:
            argv.append("--count-sql")
    if system == "ptb-echo" and args.ptb_concurrent:
        argv.append("--concurrent")
    return argv


async def measure(
    fake: FakeServer, fake_pid: int, system: str, backend: str, args: argparse.Namespace, api: str
) -> Row:
    """Run one system under test in its own process and drive the workload through it."""
    await fake.reset()
    if args.wait_idle:
        await wait_until_idle(args.wait_idle)
    commit = git_revision(ROOT)  # the code this system runs (others may commit meanwhile)
    sut = Child(
        f"{system}/{backend}",
        _sut_argv(system, backend, args, api),
        args.work / f"{system}-{backend}.log",
        ROOT,
    )
    try:
        await sut.start()
        await sut.wait_line("READY", timeout=300)
        log(f"{system}/{backend}: ready; {args.users} users × {args.updates_per_user} updates")
        driver = Driver(fake, echo=system == "ptb-echo", answer_timeout=args.answer_timeout)
        before = cpu_snapshot(sut.pid, fake_pid)
        result = await driver.run(args.users, script(args.updates_per_user), args.run_timeout)
        cpu = cpu_delta(before, cpu_snapshot(sut.pid, fake_pid))
        fake_stats = await fake.stats()
    finally:
        status = await sut.stop()
    line = next((x for x in sut.lines if x.startswith("STATS ")), "STATS {}")
    stats = json.loads(line.removeprefix("STATS ")) | {"exit_status": status, "commit": commit}
    return Row(system, backend, result, cpu, stats, fake_stats)


async def run(args: argparse.Namespace) -> int:
    """The whole benchmark, alone on the machine; working files in a directory of its own."""
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):  # stop every child in order, then exit
        asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    async with exclusive(RESULTS / ".lock", args.lock_wait):
        args.work = RESULTS / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        args.work.mkdir(parents=True)
        try:
            return await _run(args)
        finally:
            for scratch in ("ours.sqlite3", "ours.sqlite3-wal", "ours.sqlite3-shm"):
                (args.work / scratch).unlink(missing_ok=True)
            shutil.rmtree(args.work / "blobs", ignore_errors=True)
            for path in args.work.iterdir():  # empty logs
                if path.is_file() and not path.stat().st_size:
                    path.unlink()
            with contextlib.suppress(OSError):
                args.work.rmdir()  # only when nothing is left


async def _run(args: argparse.Namespace) -> int:
    api = f"http://127.0.0.1:{args.port or _free_port()}"
    fake_argv = [sys.executable, "-m", "tests.fakes.telegram_api", "--token", TOKEN]
    fake_argv += ["--port", api.rsplit(":", 1)[1]]
    fake_proc = Child("fake", fake_argv, args.work / "fake.log", ROOT)
    plan = [(s, "memory") for s in args.systems if s != "ours"]
    plan += [("ours", b) for b in args.backends if "ours" in args.systems]
    rows: list[Row] = []
    try:
        await fake_proc.start()
        await fake_proc.wait_line("fake Telegram Bot API on", timeout=30)
        async with client_session() as session:
            fake = FakeServer(session, api)
            for system, backend in plan:
                rows.append(await measure(fake, fake_proc.pid, system, backend, args, api))
                log(table(rows[-1:]))
    finally:
        await fake_proc.stop(timeout=10)
    expected = args.users * args.updates_per_user
    commits = ", ".join(dict.fromkeys(f"{r.name} {r.stats['commit']}" for r in rows))
    title = (
        f"conversation benchmark {time.strftime('%Y-%m-%d %H:%M')} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · {args.users} users × {args.updates_per_user} "
        f"updates each, closed loop\ncode: {commits}"
    )
    print(f"\n{title}\n{table(rows)}")
    for line in (*NOTES, *map(timeline, rows), *ratios(rows)):
        print(line)
    found = [p for row in rows for p in problems(row, expected)]
    for line in found:
        print(f"PROBLEM {line}")
    out = args.work / "results.json"
    save(rows, out, {"title": title, "argv": sys.argv, "problems": found})
    log(f"details in {out}")
    return 1 if found else 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--updates-per-user", type=int, default=20)
    p.add_argument("--quick", action="store_true", help="100 users × 20 updates")
    p.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset")
    p.add_argument("--backends", default="sqlite,postgres", help="for ours: sqlite,postgres")
    p.add_argument("--pg-url", default=os.environ.get("OCOP_BENCH_POSTGRES_URL", DEFAULT_PG))
    p.add_argument("--port", type=int, default=0, help="fake server port (default: any free)")
    p.add_argument("--answer-timeout", type=float, default=120.0, help="s to wait per answer")
    p.add_argument("--run-timeout", type=float, default=1200.0, help="s per system, at most")
    p.add_argument("--lock-wait", type=float, default=1800.0, help="s to wait for another run")
    p.add_argument("--wait-idle", type=float, default=0.0, help="s to wait for a quiet machine")
    p.add_argument("--ptb-concurrent", action="store_true", help="concurrent_updates=True")
    p.add_argument("--profile", action="store_true", help="ours: pyinstrument report")
    p.add_argument("--count-sql", action="store_true", help="ours: SQL statements by kind")
    p.add_argument("--sut-module", default="bench._sut", help="experiments: a patched SUT")
    return p


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.quick:
        args.users, args.updates_per_user = 100, 20
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.systems) - set(SYSTEMS)
    if unknown or not set(args.backends) <= {"sqlite", "postgres"}:
        _parser().error(f"unknown system or backend: {sorted(unknown) or args.backends}")
    try:
        sys.exit(asyncio.run(run(args)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        log("interrupted; every process was stopped")
        sys.exit(130)


if __name__ == "__main__":
    main()
