"""Broadcast benchmark: one announcement to 10,000 producers at the platform's rate limit, with
a kill -9 of the bot in the middle and live conversations going on.

Three processes: the fake Bot API server (``python -m tests.fakes.telegram_api``, flood limits
on: by default 200 messages/s for the bot, counted over any second, and 1 a second per chat
with a burst of 3), the bot (``ocop-bot serve``, the real thing: poller, engine, sender,
broadcaster) and this one, which prepares the database (10,000 producers, each with a person
and a Telegram chat; half of them chose English; 1% blocked the bot), writes the announcement
as an official, drives live chats (``/help`` in a closed loop) and watches. When
``--kill-at`` of the recipients have the announcement, the bot is killed with SIGKILL and
started again at once under the same worker name.

At the end it reads every message the fake server accepted and reports: the achieved send
rate as a fraction of the limit (overall, and in steady state: whole seconds away from the
start, the crash and the end), 429s received (all, and in steady state), duplicates (chats
that got the announcement twice) and losses (reachable chats that never got it), how the
database settled each delivery, and the latency of live replies before and during the
broadcast. The baseline, run in the same process against the same fake server and limit: a
plain in-memory sender (aiohttp, no database) pacing itself at the limit — what this machine
and server allow at best.

    .venv/bin/python -m bench.broadcast --quick          # 2,000 recipients at 200/s (~1 min)
    .venv/bin/python -m bench.broadcast                  # 10,000 at 200/s, SQLite and PostgreSQL

Figures and what they mean: bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout

from bench._procs import (
    Child,
    cpu_delta,
    cpu_snapshot,
    exclusive,
    git_revision,
    log,
    wait_until_idle,
)
from bench._sut import prepare_database
from bench.console_data import generate

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TOKEN = "123456789:BENCH-broadcast_token-for-the-fake"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/ocop_bench_broadcast"
MARK = "Vòng 2 năm 2027 đã mở"  # in the Vietnamese text
MARK_EN = "Round 2 of 2027 is open"
TEXT_VI = f"📢 {MARK}: nộp hồ sơ về UBND xã trước ngày 30/10/2027."
TEXT_EN = f"📢 {MARK_EN}: dossiers to your commune by 30 October 2027."
LIVE_BASE = 7_700_000_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- the data ---------------------------------------------------------------------------------
@dataclass
class Prepared:
    chats: list[int]
    blocked: list[int]
    announcement_id: int


async def prepare(url: str, recipients: int, blocked_share: float) -> Prepared:
    """The database: areas, ``recipients`` producers with a person and chat each (every
    second person chose English), an administrator and the announcement, scheduled now."""
    from sqlalchemy import select, update

    from storage.announcements import (
        AnnouncementValues,
        Audience,
        Button,
        create_announcement,
        schedule_announcement,
    )
    from storage.clock import SYSTEM_CLOCK
    from storage.db import Database
    from storage.models import ChannelIdentity, User
    from storage.officials import Scope, add_official
    from storage.states import OfficialRole

    await prepare_database(url)
    db = Database(url)
    try:
        await generate(db, producers=recipients, documents_per_producer=1,
                       transcript_rows_per_producer=1)  # fmt: skip
        async with db.transaction() as session:
            await session.execute(update(User).where(User.id % 2 == 0).values(locale="en"))
            chats = [
                int(c) for c in (await session.scalars(select(ChannelIdentity.chat_id))).all()
            ]
            admin = await add_official(
                session, username="bench", display_name="Bench", role=OfficialRole.ADMIN,
                areas=[], locale="vi", password="bench-password-long", clock=SYSTEM_CLOCK,
            )  # fmt: skip
        scope = Scope(admin.id, OfficialRole.ADMIN, frozenset())
        values = AnnouncementValues(
            text_vi=TEXT_VI,
            text_en=TEXT_EN,
            audience=Audience(),
            buttons=(Button("📅 Xem hạn nộp", "/deadlines", "📅 See deadlines"),),
        )
        async with db.transaction() as session:
            now = SYSTEM_CLOCK.now()
            announcement = await create_announcement(session, scope, values, now=now)
            # Due 10 s after the bot starts: live replies are measured before it too.
            await schedule_announcement(
                session, scope, announcement.id, at=now + timedelta(seconds=10), version=1,
                now=now,
            )  # fmt: skip
            announcement_id = announcement.id
    finally:
        await db.dispose()
    step = max(1, round(1 / blocked_share)) if blocked_share > 0 else 0
    blocked = chats[::step] if step else []
    return Prepared(chats, blocked, announcement_id)


async def settled(url: str, announcement_id: int) -> dict[str, Any]:
    from sqlalchemy import select

    from storage.announcements import Announcement, delivery_counts
    from storage.db import Database

    db = Database(url)
    try:
        async with db.sessions() as session:
            status = await session.scalar(
                select(Announcement.status).where(Announcement.id == announcement_id)
            )
            counts = await delivery_counts(session, announcement_id)
        return {"status": status, "by_status": counts.by_status,
                "failed_by_reason": counts.failed_by_reason, "total": counts.total}  # fmt: skip
    finally:
        await db.dispose()


# -- the processes ----------------------------------------------------------------------------
class Fake:
    """The fake server's control API."""

    def __init__(self, session: ClientSession, url: str) -> None:
        self.session, self.url = session, url

    async def control(self, action: str, body: Any = None, **params: Any) -> Any:
        method = "GET" if action in ("stats", "sent", "wait_sent") else "POST"
        async with self.session.request(
            method, f"{self.url}/_control/{action}", json=body, params=params or None
        ) as resp:
            if resp.status == 408:
                return None
            resp.raise_for_status()
            return await resp.json()


def bot_argv() -> list[str]:
    return [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main(['serve']))"]


def bot_env(url: str, api: str, port: int, work: Path, rate: float) -> dict[str, str]:
    return {
        **os.environ,
        "OCOP_DATABASE_URL": url,
        "OCOP_TELEGRAM_TOKEN": TOKEN,
        "OCOP_TELEGRAM_API_URL": api,
        "OCOP_HTTP_PORT": str(port),
        "OCOP_HTTP_HOST": "127.0.0.1",
        "OCOP_BLOB_DIR": str(work / "blobs"),
        "OCOP_SEND_RATE_GLOBAL": str(rate),
        "OCOP_WORKER_NAME": "bench-bot",
        "OCOP_LOG_LEVEL": "WARNING",
        "OCOP_QUIET_HOURS": "0-0",
    }


class Bot:
    """``ocop-bot serve`` as a child that can be killed outright and started again."""

    def __init__(self, env: dict[str, str], port: int, work: Path) -> None:
        self.env, self.port, self.work = env, port, work
        self.starts = 0
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, session: ClientSession) -> float:
        """Starts it; returns the monotonic time it answered /healthz."""
        self.starts += 1
        log_file = (self.work / f"bot-{self.starts}.log").open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            *bot_argv(), cwd=ROOT, env=self.env, stdout=log_file, stderr=log_file,
            stdin=asyncio.subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise RuntimeError(f"the bot exited; see {log_file.name}")
            with contextlib.suppress(Exception):
                async with session.get(f"http://127.0.0.1:{self.port}/healthz") as resp:
                    if resp.status in (200, 503):
                        return time.monotonic()
            await asyncio.sleep(0.05)
        raise TimeoutError("the bot did not answer /healthz in 120 s")

    def kill(self) -> float:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        return time.monotonic()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


# -- live chats -------------------------------------------------------------------------------
@dataclass
class Live:
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (sent at, latency)
    timeouts: int = 0


async def live_chat(fake: Fake, chat: int, stop: asyncio.Event, live: Live, think: float) -> None:
    """One person chatting while the broadcast goes: ``/help``, wait for the answer, think."""
    while not stop.is_set():
        seen = len(await fake.control("sent", chat_id=chat) or [])
        start = time.monotonic()
        await fake.control("make/command", {"chat_id": chat, "command": "help"})
        await fake.control("wait_sent", chat_id=chat, n=seen + 1, timeout=20)
        messages = await fake.control("sent", chat_id=chat) or []
        if len(messages) > seen:
            live.latencies.append((start, messages[seen]["at"] - start))
        else:
            live.timeouts += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), think)


# -- one run ----------------------------------------------------------------------------------
def _seconds(times: list[float], spans: list[tuple[float, float]]) -> list[int]:
    """Sends in each whole second of ``spans``, leaving out each span's first and last 2 s."""
    counts: list[int] = []
    ordered = sorted(times)
    for begin, end in spans:
        second = begin + 2
        while second + 1 <= end - 2:
            counts.append(sum(1 for t in ordered if second <= t < second + 1))
            second += 1
    return counts


async def run(backend: str, url: str, args: argparse.Namespace, fake: Fake, api: str,
              session: ClientSession, fake_pid: int) -> dict[str, Any]:  # fmt: skip
    work = args.work / backend
    work.mkdir(parents=True, exist_ok=True)
    log(f"[{backend}] preparing {args.recipients:,} producers …")
    if args.wait_idle:
        load = await wait_until_idle(args.wait_idle)
        log(f"[{backend}] machine load before the run: {load:.2f} cores")
    prepared = await prepare(url, args.recipients, args.blocked)
    await fake.control("reset")
    await fake.control("limit", {"global_per_second": args.limit, "per_chat_per_second": 1,
                                 "window": 1, "chat_window": 3})  # fmt: skip
    live_chats = [LIVE_BASE + n for n in range(args.live)]
    await fake.control("chats", {"chat_ids": prepared.chats + live_chats})
    await fake.control("block", {"chat_ids": prepared.blocked})
    port = _free_port()
    bot = Bot(bot_env(url, api, port, work, args.limit), port, work)
    stop_live = asyncio.Event()
    live = Live()
    samples: list[tuple[float, int, int]] = []  # (time, announcement sends seen, 429s)
    reachable = len(prepared.chats) - len(prepared.blocked)
    try:
        started = await bot.start(session)
        assert bot.proc is not None
        cpu_from, cpu_before = started, cpu_snapshot(bot.proc.pid, fake_pid)
        log(f"[{backend}] bot up; live chats start, the announcement is due in ~10 s")
        live_tasks = [asyncio.create_task(live_chat(fake, c, stop_live, live, args.think))
                      for c in live_chats]  # fmt: skip
        killed_at = restarted_at = None
        deadline = time.monotonic() + args.run_timeout
        while time.monotonic() < deadline:
            stats = await fake.control("stats")
            samples.append((time.monotonic(), stats["accepted"], stats["too_many"]))
            state = await settled(url, prepared.announcement_id)
            sent = state["by_status"].get("sent", 0)
            if killed_at is None and args.kill_at > 0 and sent >= args.kill_at * reachable:
                killed_at = bot.kill()
                await bot.proc.wait()  # type: ignore[union-attr]
                log(f"[{backend}] killed the bot (SIGKILL) at {sent:,} sent; starting it again")
                restarted_at = await bot.start(session)
                assert bot.proc is not None
                cpu_from, cpu_before = restarted_at, cpu_snapshot(bot.proc.pid, fake_pid)
                log(f"[{backend}] up again after {restarted_at - killed_at:.1f} s")
            if state["status"] == "done":
                assert bot.proc is not None
                cpu = cpu_delta(cpu_before, cpu_snapshot(bot.proc.pid, fake_pid))
                cores = {k: round(v / (time.monotonic() - cpu_from), 2) for k, v in cpu.items()}
                break
            await asyncio.sleep(1.0)
        else:
            raise TimeoutError(f"[{backend}] not done in {args.run_timeout} s")
        finished = time.monotonic()
        await asyncio.sleep(2)  # live chats measured a little after the end too
        stop_live.set()
        await asyncio.gather(*live_tasks, return_exceptions=True)
    finally:
        stop_live.set()
        await bot.stop()
    messages = await fake.control("sent")
    stats = await fake.control("stats")
    state = await settled(url, prepared.announcement_id)
    announcement = [m for m in messages if MARK in m["plain"] or MARK_EN in m["plain"]]
    per_chat = Counter(int(m["chat_id"]) for m in announcement)
    blocked = set(prepared.blocked)
    duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
    lost = [c for c in prepared.chats if c not in blocked and per_chat[c] == 0]
    all_times = [m["at"] for m in messages]
    (work / "send_times.json").write_text(json.dumps(sorted(all_times)))
    ann_times = sorted(m["at"] for m in announcement)
    first, last = ann_times[0], ann_times[-1]
    spans = [(first, killed_at or last), (restarted_at, last)] if killed_at else [(first, last)]
    steady = _seconds(all_times, spans)
    window_429 = [
        (b[2] - a[2]) for a, b in itertools.pairwise(samples)
        if any(s + 2 <= a[0] and b[0] <= e - 2 for s, e in spans)
    ]  # fmt: skip
    downtime = (restarted_at - killed_at) if killed_at and restarted_at else 0.0
    during = [lat for at, lat in live.latencies if first <= at <= last]
    before = [lat for at, lat in live.latencies if at < first]
    english = sum(1 for m in announcement if MARK_EN in m["plain"])
    result = {
        "backend": backend,
        "recipients": len(prepared.chats),
        "blocked": len(blocked),
        "limit": args.limit,
        "announcement_messages": len(announcement),
        "english_copies": english,
        "duplicates": duplicates,
        "lost": len(lost),
        "seconds_first_to_last": round(last - first, 2),
        "downtime_s": round(downtime, 2),
        "rate_overall": round(len(announcement) / (last - first), 1) if last > first else 0,
        "rate_overall_without_downtime": round(
            len(announcement) / max(0.001, last - first - downtime), 1
        ),
        "steady_seconds": len(steady),
        "steady_median_per_s": statistics.median(steady) if steady else 0,
        "steady_mean_per_s": round(statistics.fmean(steady), 1) if steady else 0,
        "steady_min_per_s": min(steady) if steady else 0,
        "busiest_second": stats["busiest_second"],
        "too_many_total": stats["too_many"],
        "too_many_steady": sum(window_429),
        "live_replies_before": len(before),
        "live_p50_before_ms": round(_percentile(before, 0.5) * 1000, 1),
        "live_p95_before_ms": round(_percentile(before, 0.95) * 1000, 1),
        "live_replies_during": len(during),
        "live_p50_during_ms": round(_percentile(during, 0.5) * 1000, 1),
        "live_p95_during_ms": round(_percentile(during, 0.95) * 1000, 1),
        "live_p99_during_ms": round(_percentile(during, 0.99) * 1000, 1),
        "live_timeouts": live.timeouts,
        "deliveries": state,
        "per_second": [
            sum(1 for t in all_times if first + k <= t < first + k + 1)
            for k in range(int(last - first) + 1)
        ],
        "finished_after_s": round(finished - started, 1),
        "cpu_cores_last_run_of_the_bot": cores,
    }
    return result


async def baseline(fake: Fake, api: str, chats: list[int], limit: float,
                   session: ClientSession) -> dict[str, Any]:  # fmt: skip
    """A plain in-memory sender at the limit: sendMessage to each chat, paced by a schedule
    of one send every 1/limit s (the best this machine and server allow), no database."""
    await fake.control("reset")
    await fake.control("limit", {"global_per_second": limit, "per_chat_per_second": 1,
                                 "window": 1, "chat_window": 3})  # fmt: skip
    await fake.control("chats", {"chat_ids": chats})
    url = f"{api}/bot{TOKEN}/sendMessage"
    too_many = 0

    async def send(chat: int, at: float) -> None:
        nonlocal too_many
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        while True:
            async with session.post(url, json={"chat_id": chat, "text": TEXT_VI}) as resp:
                if resp.status != 429:
                    return
                too_many += 1
                await asyncio.sleep((await resp.json())["parameters"]["retry_after"])

    start = time.monotonic() + 0.5
    await asyncio.gather(*(send(c, start + i / limit) for i, c in enumerate(chats)))
    messages = await fake.control("sent")
    times = sorted(m["at"] for m in messages)
    steady = _seconds(times, [(times[0], times[-1])])
    return {
        "messages": len(messages),
        "rate_overall": round(len(messages) / (times[-1] - times[0]), 1),
        "steady_median_per_s": statistics.median(steady) if steady else 0,
        "too_many_total": too_many,
    }


async def amain(args: argparse.Namespace) -> int:
    args.work = RESULTS / f"broadcast-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    args.work.mkdir(parents=True, exist_ok=True)
    async with exclusive(RESULTS / ".lock", args.lock_wait):
        port = _free_port()
        api = f"http://127.0.0.1:{port}"
        fake_proc = Child("fake", [sys.executable, "-m", "tests.fakes.telegram_api",
                                   "--token", TOKEN, "--port", str(port)],
                          args.work / "fake.log", ROOT)  # fmt: skip
        results: list[dict[str, Any]] = []
        await fake_proc.start()
        try:
            await fake_proc.wait_line("fake Telegram Bot API on", timeout=30)
            timeout = ClientTimeout(total=120)
            async with ClientSession(timeout=timeout) as session:
                fake = Fake(session, api)
                for backend in args.backends:
                    sqlite = args.work / backend / "ocop.sqlite3"
                    url = args.pg_url if backend == "postgres" else f"sqlite+aiosqlite:///{sqlite}"
                    (args.work / backend).mkdir(parents=True, exist_ok=True)
                    results.append(
                        await run(backend, url, args, fake, api, session, fake_proc.pid)
                    )
                    log(json.dumps(results[-1], indent=1, default=str))
                chats = [9_000_000_000 + n for n in range(args.recipients)]
                base = await baseline(fake, api, chats, args.limit, session)
        finally:
            await fake_proc.stop(timeout=10)
    meta = {"revision": git_revision(ROOT), "cores": os.cpu_count(), "args": {
        k: str(v) for k, v in vars(args).items()}}  # fmt: skip
    (args.work / "results.json").write_text(
        json.dumps({"meta": meta, "runs": results, "baseline": base}, indent=1, default=str)
    )
    print(report(results, base, args.limit))
    print(f"\nresults: {args.work / 'results.json'}")
    return 0 if all(r["duplicates"] <= 1 and not r["lost"] for r in results) else 1


def report(results: list[dict[str, Any]], base: dict[str, Any], limit: float) -> str:
    lines = [
        f"limit {limit:g} messages/s (fake server, any second); baseline (in-memory sender "
        f"paced at the limit): steady {base['steady_median_per_s']}/s "
        f"({base['steady_median_per_s'] / limit:.1%}), overall {base['rate_overall']}/s, "
        f"429s {base['too_many_total']}",
        "",
        "| backend | recipients (blocked) | steady median/s (of limit) | min s | overall/s "
        "(without the crash) | 429 steady / all | duplicates | lost | restart s | live p50/p95 "
        "before ms | live p50/p95/p99 during ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['recipients']:,} ({r['blocked']}) | "
            f"{r['steady_median_per_s']} ({r['steady_median_per_s'] / limit:.1%}) | "
            f"{r['steady_min_per_s']} | {r['rate_overall']} "
            f"({r['rate_overall_without_downtime']}) | "
            f"{r['too_many_steady']} / {r['too_many_total']} | {r['duplicates']} | {r['lost']} | "
            f"{r['downtime_s']} | {r['live_p50_before_ms']}/{r['live_p95_before_ms']} | "
            f"{r['live_p50_during_ms']}/{r['live_p95_during_ms']}/{r['live_p99_during_ms']} |"
        )
    for r in results:
        lines.append(f"\n{r['backend']}: CPU (cores, from the bot's last start to the end): "
                     f"{r['cpu_cores_last_run_of_the_bot']}")  # fmt: skip
        lines.append(
            f"{r['backend']}: deliveries {r['deliveries']}; {r['english_copies']:,} copies in "
            f"English; live replies {r['live_replies_during']} during, {r['live_timeouts']} "
            "timed out"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--recipients", type=int, default=10_000)
    p.add_argument("--limit", type=float, default=200.0, help="the fake server's messages/s")
    p.add_argument("--blocked", type=float, default=0.01, help="share who blocked the bot")
    p.add_argument("--kill-at", type=float, default=0.4,
                   help="SIGKILL the bot when this share has it (0: never)")  # fmt: skip
    p.add_argument("--live", type=int, default=20, help="live chats sending /help meanwhile")
    p.add_argument(
        "--think", type=float, default=3.0, help="s a live chat reads before writing again"
    )
    p.add_argument("--backend", dest="backends", action="append",
                   choices=["sqlite", "postgres"])  # fmt: skip
    p.add_argument("--pg-url", default=os.environ.get("OCOP_BENCH_PG_URL", DEFAULT_PG))
    p.add_argument("--run-timeout", type=float, default=900.0)
    p.add_argument("--wait-idle", type=float, default=0.0,
                   help="wait up to S s before each run for the machine to be quiet")  # fmt: skip
    p.add_argument("--lock-wait", type=float, default=1800.0)
    p.add_argument("--quick", action="store_true", help="2,000 recipients, SQLite only")
    args = p.parse_args(argv)
    if args.quick:
        args.recipients = min(args.recipients, 2_000)
        args.backends = args.backends or ["sqlite"]
    args.backends = args.backends or ["sqlite", "postgres"]
    return asyncio.run(amain(args))


if __name__ == "__main__":
    raise SystemExit(main())
