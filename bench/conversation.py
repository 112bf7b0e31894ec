"""Conversation benchmark: many producers registering at once, through a fake Telegram Bot API.

Three processes: the fake Bot API server (``python -m tests.fakes.telegram_api``), one system
under test at a time (``bench/_sut.py``: our bot on SQLite and PostgreSQL, a python-telegram-bot
echo bot, an aiogram FSM bot) and this one, which drives closed-loop simulated producers
(``bench/_driver.py``) and measures updates/s, messages/s, reply latency and CPU.

    .venv/bin/python -m bench.conversation --quick            # 100 users × 20 updates
    .venv/bin/python -m bench.conversation                    # 1,000 users × 20 updates

See bench/README.md for what exactly is measured and the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import platform
import resource
import signal
import socket
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench._driver import Driver, FakeServer, RunResult, client_session, percentile, script

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TOKEN = "123456789:BENCH-token_for-the-fake-server"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/ocop_bench"
DURABILITY = ("ours commits every step (inbox row, domain writes, conversation, transcript, "
              "outbox) in one transaction before replying, plus 2 small transactions per sent "
              "message; SQLite: WAL, synchronous=NORMAL; the baselines keep state in memory")  # fmt: skip


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Child:
    """A child process: stdout read line by line, stderr into a log file; always stopped."""

    def __init__(self, name: str, argv: list[str], log: Path) -> None:
        self.name, self.argv, self.log = name, argv, log
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._new_line = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as errors:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=errors,
                stdin=asyncio.subprocess.DEVNULL, start_new_session=True,
                preexec_fn=_die_with_parent)  # fmt: skip
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            self._new_line.set()
        self._new_line.set()

    async def wait_line(self, prefix: str, timeout: float) -> str:
        """The first stdout line starting with ``prefix``; error if it exits or times out."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if line.startswith(prefix):
                    return line
            if self.proc.returncode is not None or (self._reader and self._reader.done()):
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}); see {self.log}")
            if (left := deadline - time.monotonic()) <= 0:
                raise TimeoutError(f"{self.name}: no {prefix!r} in {timeout:.0f} s; see {self.log}")
            self._new_line.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_line.wait(), left)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout`` s; returns the exit status."""
        proc = self.proc
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                _log(f"{self.name} did not stop in {timeout:.0f} s; killing it")
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await asyncio.wait_for(proc.wait(), 10)
        if self._reader is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 5)
        return proc.returncode


@dataclass
class Row:
    """One system's measurement."""

    system: str
    backend: str
    result: RunResult
    cpu: dict[str, float] = field(default_factory=dict)  # seconds: sut, fake, driver
    stats: dict[str, Any] = field(default_factory=dict)  # what the SUT said at exit
    fake: dict[str, Any] = field(default_factory=dict)  # the fake server's counters

    def updates_per_s(self) -> float:
        return self.result.updates / self.result.seconds if self.result.seconds else 0.0

    def ms(self, q: float, observed: bool = False) -> float:
        values = self.result.observed if observed else self.result.latencies
        return 1000 * percentile(values, q)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def measure(fake: FakeServer, fake_pid: int, system: str, backend: str,
                  args: argparse.Namespace, api: str) -> Row:  # fmt: skip
    """Run one system under test in its own process and drive the workload through it."""
    await fake.reset()
    argv = [sys.executable, "-m", "bench._sut", system, "--api", api, "--token", TOKEN]
    if system == "ours":
        db = args.pg_url if backend == "postgres" else f"sqlite+aiosqlite:///{RESULTS}/ours.sqlite3"
        argv += ["--db", db, "--blob-dir", str(RESULTS / "blobs")]
        if args.profile:
            argv += ["--profile", str(RESULTS / f"profile-ours-{backend}.txt")]
        if args.count_sql:
            argv.append("--count-sql")
    if system == "ptb-echo" and args.ptb_concurrent:
        argv.append("--concurrent")
    sut = Child(f"{system}/{backend}", argv, RESULTS / "logs" / f"{system}-{backend}.log")
    try:
        await sut.start()
        await sut.wait_line("READY", timeout=300)
        _log(f"{system}/{backend}: ready; {args.users} users × {args.updates_per_user} updates")
        driver = Driver(fake, echo=system == "ptb-echo", answer_timeout=args.answer_timeout)
        before = (cpu_seconds(sut.pid), cpu_seconds(fake_pid), own_cpu_seconds())
        result = await driver.run(args.users, script(args.updates_per_user), args.run_timeout)
        after = (cpu_seconds(sut.pid), cpu_seconds(fake_pid), own_cpu_seconds())
        fake_stats = await fake.stats()
    finally:
        status = await sut.stop()
    stats_line = next((line for line in sut.lines if line.startswith("STATS ")), "STATS {}")
    stats = json.loads(stats_line[6:]) | {"exit_status": status}
    cpu = dict(zip(("sut", "fake", "driver"), (b - a for a, b in zip(before, after, strict=True)),
                   strict=True))  # fmt: skip
    return Row(system, backend, result, cpu, stats, fake_stats)


def _table(rows: list[Row]) -> str:
    head = (f"{'system':<12} {'backend':<9} {'updates':>7} {'seconds':>8} {'upd/s':>8} "
            f"{'msg/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'obs p50':>8} "
            f"{'CPU% sut/fake/driver':>21}")  # fmt: skip
    lines = [head, "-" * len(head)]
    for r in rows:
        secs = r.result.seconds or 1.0
        cpu = "/".join(f"{100 * r.cpu.get(k, 0) / secs:.0f}" for k in ("sut", "fake", "driver"))
        lines.append(f"{r.system:<12} {r.backend:<9} {r.result.updates:>7} {secs:>8.1f} "
                     f"{r.updates_per_s():>8.1f} {r.result.messages / secs:>8.1f} "
                     f"{r.ms(.5):>8.1f} {r.ms(.95):>8.1f} {r.ms(.99):>8.1f} "
                     f"{r.ms(.5, observed=True):>8.1f} {cpu:>21}")  # fmt: skip
    return "\n".join(lines)


def _timeline(row: Row, buckets: int = 10) -> str:
    """Updates/s in each tenth of the run: shows whether the rate decays as tables grow."""
    times, secs = row.result.answered_at, row.result.seconds
    if not times or not secs:
        return ""
    counts = [0] * buckets
    for t in times:
        counts[min(buckets - 1, int(t / secs * buckets))] += 1
    rates = " ".join(f"{c * buckets / secs:.0f}" for c in counts)
    return f"{row.system}/{row.backend} updates/s by tenth of the run: {rates}"


def _ratios(rows: list[Row]) -> list[str]:
    baselines = {r.system: r for r in rows if r.system != "ours" and r.updates_per_s()}
    out = []
    for ours in (r for r in rows if r.system == "ours"):
        for name, base in baselines.items():
            out.append(f"ours({ours.backend})/{name}: throughput ×{ours.updates_per_s() / base.updates_per_s():.3f}, "
                       f"p50 latency ×{ours.ms(.5) / base.ms(.5):.1f}")  # fmt: skip
    return out


def _problems(row: Row, expected: int) -> list[str]:
    r, name = row.result, f"{row.system}/{row.backend}"
    out = [f"{name}: {e}" for e in r.errors[:5]]
    if r.updates != expected:
        out.append(f"{name}: {r.updates} of {expected} updates answered")
    if r.clock_violations:
        out.append(f"{name}: {r.clock_violations} samples outside pushed ≤ at ≤ observed")
    if r.stray:
        out.append(f"{name}: {r.stray} messages arrived after their update was answered")
    if row.fake.get("pending_updates"):
        out.append(f"{name}: {row.fake['pending_updates']} updates never fetched")
    producers = row.stats.get("producers")
    if row.system == "ours" and producers is not None and producers != r.users:
        out.append(f"{name}: {producers} producers registered for {r.users} users")
    return out


async def run(args: argparse.Namespace) -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    port = args.port or _free_port()
    api = f"http://127.0.0.1:{port}"
    fake_proc = Child("fake", [sys.executable, "-m", "tests.fakes.telegram_api", "--port",
                               str(port), "--token", TOKEN], RESULTS / "logs" / "fake.log")  # fmt: skip
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
                _log(_table(rows[-1:]))
    finally:
        await fake_proc.stop(timeout=10)
    expected = args.users * args.updates_per_user
    print(f"\nconversation benchmark {time.strftime('%Y-%m-%d %H:%M')} · {os.cpu_count()} "
          f"cores · Python {platform.python_version()} · {args.users} users × "
          f"{args.updates_per_user} updates, closed loop")  # fmt: skip
    print(_table(rows))
    print("latency: update pushed to the fake server → the answering sendMessage received by it "
          "(obs p50: → seen by the driver); CPU in % of one core during the run")  # fmt: skip
    print(f"durability: {DURABILITY}")
    for row in rows:
        print(_timeline(row))
    for line in _ratios(rows):
        print(line)
    problems = [p for row in rows for p in _problems(row, expected)]
    for line in problems:
        print(f"PROBLEM {line}")
    out = RESULTS / f"conversation-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps([{**asdict(r), "result": {**asdict(r.result), "latencies": None,
                                "observed": None, "answered_at": None}, "timeline": _timeline(r), "upd_per_s": r.updates_per_s(),
                                "p50_ms": r.ms(.5), "p95_ms": r.ms(.95), "p99_ms": r.ms(.99)}
                               for r in rows], indent=1, default=str))  # fmt: skip
    _log(f"details in {out}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--updates-per-user", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="100 users × 20 updates")
    parser.add_argument("--systems", default="ptb-echo,aiogram-fsm,ours",
                        help="comma-separated: ptb-echo, aiogram-fsm, ours")
    parser.add_argument("--backends", default="sqlite,postgres", help="ours: sqlite,postgres")
    parser.add_argument("--pg-url", default=os.environ.get("OCOP_BENCH_POSTGRES_URL", DEFAULT_PG))
    parser.add_argument("--port", type=int, default=0, help="fake server port (0: any free)")
    parser.add_argument("--answer-timeout", type=float, default=120.0,
                        help="seconds a producer waits for one answer")
    parser.add_argument("--run-timeout", type=float, default=900.0,
                        help="seconds one system may take for the whole workload")
    parser.add_argument("--ptb-concurrent", action="store_true",
                        help="PTB echo with concurrent_updates=True (default: sequential)")
    parser.add_argument("--profile", action="store_true",
                        help="ours: pyinstrument report in bench/results/ (pip install pyinstrument)")
    parser.add_argument("--count-sql", action="store_true",
                        help="ours: count SQL statements by kind (in the JSON details)")
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.updates_per_user = 100, 20
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    try:
        sys.exit(asyncio.run(run(args)))
    except KeyboardInterrupt:
        _log("interrupted; every process was stopped")
        sys.exit(130)


if __name__ == "__main__":
    main()
