"""Conversation benchmark: many producers registering at once, through a fake Telegram Bot API.

Three processes: the fake Bot API server (``python -m tests.fakes.telegram_api``), one system
under test at a time (``bench/_sut.py``: our bot on SQLite and on PostgreSQL, a
python-telegram-bot echo bot, an aiogram FSM bot) and this one, which drives simulated
producers (``bench/_driver.py``). The fake server is reset between systems; each system starts
fresh and is measured in four phases on the same process:

1. full load: every producer in a closed loop; updates/s, messages/s, reply latency
   (p50/p95/p99), CPU (ms per update), SQL statements and commits per update (ours);
2. one user in a closed loop: reply latency;
3. half load: updates arriving in an open loop (Poisson) at half the rate of phase 1;
4. a short run under cProfile: Python calls per update.

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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench._driver import Driver, FakeServer, RunResult, client_session, script
from bench._procs import (
    Child,
    cpu_delta,
    cpu_snapshot,
    exclusive,
    git_revision,
    log,
    wait_until_idle,
)
from bench._report import (
    Phase,
    Row,
    SqlCounts,
    cores_line,
    latency_table,
    per_update_table,
    problems,
    ratios,
    save,
    sql_delta,
    sql_details,
    sql_sum,
    table,
    targets,
    timeline,
)
from bench._sut import drop_database
from tests.fakes.telegram_api import UpdateBuilder

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TOKEN = "123456789:BENCH-token_for-the-fake-server"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/ocop_bench"
SYSTEMS = ("ptb-echo", "aiogram-fsm", "ours")
FIRST_CHAT = {"full": 7_200_000_000, "one": 7_300_000_000, "half": 7_400_000_000,
              "cprofile": 7_500_000_000}  # fmt: skip
NOTES = (
    "latency: from the driver's push of the update to the fake server receiving the answering "
    "sendMessage (obs p50: until the driver saw it); CPU: % of one core during the run, sut = "
    "the system's process(es) (main = event-loop threads), db = PostgreSQL's server processes "
    "(our database's connections and the shared ones), other = the rest of the machine",
    "per update: CPU ms = the system's CPU time (on PostgreSQL plus the server's) ÷ updates "
    "answered at full load; calls = Python calls on the main thread under cProfile ÷ updates, "
    "in a short separate phase; SQL = statements executed (not BEGIN/COMMIT/ROLLBACK) and "
    "commits, by the task that ran them: engine (worker loop), sender, inbox (the Telegram "
    "polling task storing updates) and other; the SQL and commits columns add engine, sender "
    "and inbox",
    "latency phases: 1 user = one producer in a closed loop; half load = updates arriving at "
    "random (Poisson) at half the full load's updates/s, each sent by a producer not waiting "
    "for an answer",
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


def _sut_argv(
    system: str, backend: str, args: argparse.Namespace, api: str, tag: str, n: int = 1
) -> list[str]:
    """The command of SUT process ``n`` (from 1); ours' further processes are workers only."""
    argv = [sys.executable, "-m", args.sut_module, system, "--api", api, "--token", TOKEN]
    if system == "ours":
        sqlite = f"sqlite+aiosqlite:///{args.work / 'ours.sqlite3'}"
        argv += ["--db", args.pg_url if backend == "postgres" else sqlite]
        argv += ["--blob-dir", str(args.work / "blobs"), "--worker-name", f"bench-{n}"]
        argv += ["--send-rate", str(args.send_rate)]
        if n > 1:
            argv.append("--worker-only")
        if args.profile and n == 1:
            argv += ["--profile", str(args.work / f"profile-{tag}.txt")]
        if args.count_sql:
            argv.append("--count-sql")
    if args.cprofile_users:
        argv += ["--cprofile", str(args.work / f"cprofile-{tag}-{n}.pstats")]
    if system == "ptb-echo" and args.ptb_concurrent:
        argv.append("--concurrent")
    return argv


class Session:
    """The running process(es) of one system under test, and how a phase is measured on
    them: CPU from /proc and (ours) SQL counts asked of each process before and after."""

    def __init__(self, suts: list[Child], fake_pid: int, database: str | None, sql: bool):
        self.suts, self.fake_pid, self.database, self.counts_sql = suts, fake_pid, database, sql

    async def sql(self) -> SqlCounts | None:
        if not self.counts_sql:
            return None
        answers = [await sut.ask(signal.SIGUSR1, "SQL ") for sut in self.suts]
        return sql_sum([json.loads(a.removeprefix("SQL ")) for a in answers])

    def cpu(self) -> dict[str, float]:
        return cpu_snapshot([sut.pid for sut in self.suts], self.fake_pid, self.database)

    async def phase(self, drive: Callable[[], Awaitable[RunResult]]) -> Phase:
        sql_before = await self.sql()
        before = self.cpu()
        result = await drive()
        cpu = cpu_delta(before, self.cpu())
        sql_after = await self.sql()
        sql = sql_delta(sql_before, sql_after) if sql_before and sql_after else None
        return Phase(result, cpu, sql)

    async def python_calls(self, drive: Callable[[], Awaitable[RunResult]]) -> dict[str, Any]:
        """Python calls of every SUT process while ``drive`` runs under cProfile."""
        for sut in self.suts:
            await sut.ask(signal.SIGUSR2, "CPROFILE on")
        try:
            result = await drive()
        finally:
            answers = [await sut.ask(signal.SIGUSR2, "CPROFILE {", 120) for sut in self.suts]
        calls = [json.loads(a.removeprefix("CPROFILE ")) for a in answers]
        return {
            "total_calls": sum(c["total_calls"] for c in calls),
            "updates": result.updates,
            "registered": result.registered,
            "errors": result.errors[:5],
        }


async def measure(
    fake: FakeServer,
    fake_pid: int,
    system: str,
    backend: str,
    processes: int,
    args: argparse.Namespace,
    api: str,
) -> Row:
    """Run one system under test in its own process(es) and drive the workloads through it."""
    await fake.reset()
    if args.wait_idle:
        await wait_until_idle(args.wait_idle)
    commit = git_revision(ROOT)  # the code this system runs (others may commit meanwhile)
    tag = f"{system}-{backend}" + (f"-x{processes}" if processes > 1 else "")
    suts = [
        Child(
            f"{system}/{backend}" + (f" #{n}" if processes > 1 else ""),
            _sut_argv(system, backend, args, api, tag, n),
            args.work / (f"{tag}.log" if n == 1 else f"{tag}-{n}.log"),
            ROOT,
        )
        for n in range(1, processes + 1)
    ]
    # PostgreSQL's CPU: its shared processes and the connections to the benchmark's database
    # (none for the other systems), not other people's tests on the same server.
    database = make_url(args.pg_url).database
    session = Session(suts, fake_pid, database, sql=system == "ours")
    echo = system == "ptb-echo"

    make = UpdateBuilder()  # one for every phase: update ids keep increasing

    def driver(phase: str) -> Driver:
        return Driver(fake, echo=echo, answer_timeout=args.answer_timeout,
                      first_chat_id=FIRST_CHAT[phase], make=make)  # fmt: skip

    steps = script(args.updates_per_user)
    one_user = half_load = None
    calls: dict[str, Any] | None = None
    try:
        for sut in suts:  # the first prepares the database; the others start after it
            await sut.start()
            await sut.wait_line("READY", timeout=300)
        name = f"{system}/{backend}" + (f"×{processes}" if processes > 1 else "")
        log(f"{name}: ready; {args.users} users × {args.updates_per_user} updates")
        full = await session.phase(lambda: driver("full").run(args.users, steps, args.run_timeout))
        rate = full.result.updates / full.result.seconds if full.result.seconds else 0.0
        if args.one_user_updates:
            await asyncio.sleep(0.5)  # the last replies of the previous phase go out
            log(f"{name}: one user × {args.one_user_updates} updates")
            one_steps = script(args.one_user_updates)
            one_user = await session.phase(
                lambda: driver("one").run(1, one_steps, args.run_timeout)
            )
        if args.half_load_seconds and rate:
            await asyncio.sleep(0.5)
            count = max(10, round(rate / 2 * args.half_load_seconds))
            log(f"{name}: half load, {count} updates arriving at {rate / 2:.1f}/s")
            timeout = min(args.run_timeout, 3 * args.half_load_seconds + args.answer_timeout)
            half_load = await session.phase(
                lambda: driver("half").run_open(rate / 2, count, steps, timeout)
            )
        if args.cprofile_users:
            await asyncio.sleep(0.5)
            log(f"{name}: under cProfile, {args.cprofile_users} users")
            calls = await session.python_calls(
                lambda: driver("cprofile").run(args.cprofile_users, steps, args.run_timeout)
            )
        fake_stats = await fake.stats()
    finally:
        statuses = [await sut.stop() for sut in reversed(suts)]
        if database is not None and system == "ours" and backend == "postgres":
            await _drop(args.pg_url, database)
    line = next((x for x in suts[0].lines if x.startswith("STATS ")), "STATS {}")
    stats = json.loads(line.removeprefix("STATS "))
    stats |= {"exit_statuses": statuses, "commit": commit}
    phases = [p.result for p in (full, one_user, half_load) if p is not None]
    registered = sum(r.registered for r in phases) + (calls or {}).get("registered", 0)
    return Row(
        system, backend, full.result, full.cpu, stats, fake_stats, processes=processes,
        sql=full.sql, one_user=one_user, half_load=half_load, calls=calls, registered=registered,
    )  # fmt: skip


async def _drop(url: str, database: str) -> None:
    """Leaves no benchmark data behind on the PostgreSQL server (best effort, logged)."""
    try:
        if not await drop_database(url):
            log(f"the database {database} is still in use: not dropped")
    except Exception as exc:
        log(f"dropping the database {database} failed: {exc!r}")


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
    plan = [(s, "memory", 1) for s in args.systems if s != "ours"]
    plan += [("ours", b, 1) for b in args.backends if "ours" in args.systems]
    if args.processes > 1 and "ours" in args.systems and "postgres" in args.backends:
        plan.append(("ours", "postgres", args.processes))
    rows: list[Row] = []
    try:
        await fake_proc.start()
        await fake_proc.wait_line("fake Telegram Bot API on", timeout=30)
        async with client_session() as session:
            fake = FakeServer(session, api)
            for system, backend, processes in plan:
                rows.append(
                    await measure(fake, fake_proc.pid, system, backend, processes, args, api)
                )
                log(table(rows[-1:]))
    finally:
        await fake_proc.stop(timeout=10)
    expected = args.users * args.updates_per_user
    commits = ", ".join(dict.fromkeys(f"{r.name} {r.stats['commit']}" for r in rows))
    cores = len(os.sched_getaffinity(0))
    title = (
        f"conversation benchmark {time.strftime('%Y-%m-%d %H:%M')} · {cores} cores · "
        f"Python {platform.python_version()} · {args.users} users × {args.updates_per_user} "
        f"updates each, closed loop\ncode: {commits}"
    )
    print(f"\n{title}\n{table(rows)}\n\n{per_update_table(rows)}\n\n{latency_table(rows)}\n")
    details = [sql_details(r) for r in rows] + [timeline(r) for r in rows]
    details += [cores_line(r, cores) for r in rows if r.processes > 1]
    pace = (
        f"pace: ours runs with OCOP_SEND_RATE_GLOBAL={args.send_rate:g} messages/s (production: "
        "30, Telegram's limit; the fake server has none) and 1,000/s per chat; the baselines "
        "send as fast as they can"
    )
    for line in (*NOTES, pace, *filter(None, details), *ratios(rows)):
        print(line)
    if checks := targets(rows):
        print("issue 12's targets:")
        for line in checks:
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
    p.add_argument("--quick", action="store_true",
                   help="100 users × 20 updates; 1 user × 50; 10 s of half load; "
                        "5 users under cProfile")  # fmt: skip
    p.add_argument("--one-user-updates", type=int, default=200, help="0: no one-user phase")
    p.add_argument("--half-load-seconds", type=float, default=20.0, help="0: no half load")
    p.add_argument("--cprofile-users", type=int, default=20,
                   help="users of the cProfile phase (updates as in the full load)")  # fmt: skip
    p.add_argument("--no-cprofile", action="store_true", help="no cProfile phase")
    p.add_argument("--send-rate", type=float, default=1000.0,
                   help="ours: messages/s of the Telegram channel's pace (OCOP_SEND_RATE_GLOBAL; "
                        "production: 30)")  # fmt: skip
    p.add_argument("--processes", type=int, default=1,
                   help="2: ours on PostgreSQL in two processes too (the second: engine and "
                        "sender only)")  # fmt: skip
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
    p.add_argument("--count-sql", action="store_true",
                   help="ours: SQL statements by verb and table with their time")  # fmt: skip
    p.add_argument("--sut-module", default="bench._sut", help="experiments: a patched SUT")
    return p


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.quick:
        args.users, args.updates_per_user = 100, 20
        args.one_user_updates, args.half_load_seconds, args.cprofile_users = 50, 10.0, 5
    if args.no_cprofile or args.profile:  # pyinstrument and cProfile cannot share a thread
        args.cprofile_users = 0
    if args.processes < 1:
        _parser().error("--processes must be at least 1")
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
