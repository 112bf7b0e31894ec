"""Console benchmark: page latency of the officials' console on a large data set.

For each backend (SQLite, PostgreSQL): a fresh database (a SQLite file in a temporary folder; a
private PostgreSQL database under a unique name, dropped after), migrated, filled by
``bench/console_data.py`` (100,000 producers, 300,000 documents, 2,000,000 transcript lines; the
generation is timed), an administrator added; then the real server (``ocop-bot serve`` in its own
process) and this process as the browser: an aiohttp client that signs in through the sign-in
form and asks for each page in turn, one request at a time, over real HTTP on loopback.

Pages: the dashboard, the producers and products lists, a search, the busy producer's page, its
dossier, its transcript, and the audit log (all, by action, by producer). A page another part of
the console provides that is not built on this checkout answers 404: it is reported "not built".

    .venv/bin/python -m bench.console --quick           # 10,000 producers, a smoke run
    .venv/bin/python -m bench.console                   # 100,000 producers
    .venv/bin/python -m bench.console --backends sqlite --requests 200

The figures: bench/README.md (section "console.py").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bench._driver import percentile
from bench._procs import exclusive, git_revision, log
from bench.console_data import generate
from storage.clock import LOCAL_TIMEZONE, SYSTEM_CLOCK
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Area, Dossier, Producer, Product
from storage.officials import add_official
from storage.plans import TargetValues, add_target, create_plan
from storage.states import OfficialRole
from tests.postgres import temporary_database

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DEFAULT_PG = os.environ.get(
    "OCOP_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
USERNAME, PASSWORD = "bench.admin", "a long enough bench password"
COMMUNE_USERNAME = "bench.commune"  # the busy producer's commune office
PROVINCE_USERNAME = "bench.province"  # the busy producer's province office
TARGET_MS = 200.0
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def pages(busy: int, dossier: int) -> list[tuple[str, str]]:
    """(name, path) of every page measured as the administrator (who sees every producer)."""
    return [
        ("dashboard", "/console/"),
        ("producers list", "/console/producers"),
        ("products list", "/console/products"),
        ("search", "/console/producers?q=mat+ong+da+mai"),
        ("producer", f"/console/producers/{busy}"),
        ("dossier", f"/console/dossiers/{dossier}"),
        ("transcript (busy)", f"/console/producers/{busy}/transcript"),
        ("audit log", "/console/audit"),
        ("audit by action", "/console/audit?action=document.uploaded"),
        ("audit by producer", f"/console/audit?producer={busy}"),
    ]


# Pages measured as the busy producer's commune and province offices (the scopes' own queries).
COMMUNE_PAGES = [
    ("dashboard, commune office", "/console/"),
    ("audit, commune office", "/console/audit"),
]
PROVINCE_PAGES = [("dashboard, province office", "/console/")]


@dataclass
class PageResult:
    name: str
    path: str
    status: int
    latencies: list[float] = field(default_factory=list)  # seconds

    def ms(self, q: float) -> float:
        return 1000 * percentile(self.latencies, q)

    @property
    def built(self) -> bool:
        return self.status != 404


@dataclass
class BackendResult:
    backend: str
    counts: dict[str, int]
    generation_s: float
    pages: list[PageResult]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def database(backend: str, work: Path, pg_url: str) -> AsyncIterator[str]:
    """A new, empty database for one run; a PostgreSQL one is dropped afterwards."""
    if backend == "postgres":
        async with temporary_database(pg_url, "ocop_bench_console") as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{work / 'console.sqlite3'}"


async def prepare(url: str, args: argparse.Namespace) -> tuple[dict[str, int], float, int]:
    """Migrate, generate (timed), add the administrator; the counts, seconds and the dossier of
    the busy producer."""
    db = Database(url)
    try:
        await upgrade(db.engine)
        started = time.perf_counter()
        counts = await generate(
            db,
            producers=args.producers,
            documents_per_producer=3,
            transcript_rows_per_producer=20,
            seed=args.seed,
        )
        seconds = time.perf_counter() - started
        async with db.transaction() as session:
            busy = await session.get_one(Producer, counts["busy_producer"])
            province = await session.get_one(Area, busy.province_id)
            commune = await session.get(Area, busy.commune_id) if busy.commune_id else None
            officials = []
            for username, role, areas in (
                (USERNAME, OfficialRole.ADMIN, ()),
                (PROVINCE_USERNAME, OfficialRole.PROVINCE, (province,)),
                (COMMUNE_USERNAME, OfficialRole.COMMUNE, (commune,) if commune else ()),
            ):
                official = await add_official(
                    session,
                    username=username,
                    display_name=f"Bench {role}",
                    role=role,
                    areas=areas,
                    locale="vi",
                    password=PASSWORD,
                    clock=SYSTEM_CLOCK,
                )
                officials.append(official)
            await add_plan(session, officials[1].id, province, commune)
        async with db.sessions() as session:
            dossier = await session.scalar(
                select(Dossier.id)
                .join(Product, Product.id == Dossier.product_id)
                .where(Product.producer_id == counts["busy_producer"])
            )
        return counts, seconds, int(dossier or 0)
    finally:
        await db.dispose()


async def add_plan(
    session: AsyncSession, official_id: int, province: Area, commune: Area | None
) -> None:
    """This year's plan of the busy producer's province, which every dashboard that sees the
    province follows: a target for the province and one for the busy producer's commune."""
    year = SYSTEM_CLOCK.now().astimezone(LOCAL_TIMEZONE).year
    plan = await create_plan(
        session,
        year=year,
        province=province,
        name="Kế hoạch OCOP",
        official_id=official_id,
        clock=SYSTEM_CLOCK,
    )
    targets = [TargetValues(count=500), TargetValues(count=5, product_group="I")]
    if commune is not None:
        targets.append(TargetValues(count=10, area_id=commune.id))
    for values in targets:
        await add_target(session, plan, values, official_id=official_id, clock=SYSTEM_CLOCK)


@contextlib.asynccontextmanager
async def server(url: str, work: Path) -> AsyncIterator[str]:
    """``ocop-bot serve`` on ``url`` in its own process; yields its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "OCOP_DATABASE_URL": url,
        "OCOP_HTTP_PORT": str(port),
        "OCOP_BLOB_DIR": str(work / "blobs"),
        "OCOP_LOG_LEVEL": "WARNING",
        "OCOP_LOG_FILE": str(work / "serve.log"),
    }
    env.pop("OCOP_TELEGRAM_TOKEN", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", env=env, cwd=str(work)
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as probe:
            for _ in range(300):
                with contextlib.suppress(aiohttp.ClientError):
                    async with probe.get(f"{base}/healthz") as response:
                        if response.status in (200, 503):
                            break
                if process.returncode is not None:
                    raise RuntimeError(f"the server stopped: see {work / 'serve.log'}")
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError("the server did not start in 60 s")
        yield base
    finally:
        if process.returncode is None:
            process.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 20)
            if process.returncode is None:
                process.kill()
                await process.wait()


async def sign_in(client: aiohttp.ClientSession, base: str, username: str = USERNAME) -> None:
    """The sign-in form, as a browser sends it; fails unless the console's first page follows."""
    async with client.get(f"{base}/console/login") as response:
        found = _CSRF.search(await response.text())
    assert found, "no CSRF field on the sign-in page"
    form = {"csrf_token": found.group(1), "username": username, "password": PASSWORD}
    async with client.post(f"{base}/console/login", data=form, allow_redirects=False) as answer:
        if answer.status != 303:
            raise RuntimeError(f"sign-in answered {answer.status}")


async def measure(
    client: aiohttp.ClientSession, base: str, name: str, path: str, requests: int
) -> PageResult:
    """``requests`` timed GETs of one page, one at a time, after three untimed ones."""
    result = PageResult(name, path, 0)
    for n in range(3 + requests):
        started = time.perf_counter()
        async with client.get(base + path, allow_redirects=False) as response:
            await response.read()
            status = response.status
        elapsed = time.perf_counter() - started
        if status == 404 and n == 0:
            result.status = 404
            return result
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        result.status = status
        if n >= 3:
            result.latencies.append(elapsed)
    return result


async def run_backend(backend: str, args: argparse.Namespace) -> BackendResult:
    with tempfile.TemporaryDirectory(prefix="ocop-bench-console-") as folder:
        work = Path(folder)
        async with database(backend, work, args.pg_url) as url:
            log(f"{backend}: generating {args.producers:,} producers…")
            counts, seconds, dossier = await prepare(url, args)
            log(f"{backend}: generated in {seconds:.1f} s: {counts}")
            results = []
            async with server(url, work) as base:
                jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
                async with aiohttp.ClientSession(cookie_jar=jar) as client:
                    await sign_in(client, base)
                    for name, path in pages(counts["busy_producer"], dossier):
                        result = await measure(client, base, name, path, args.requests)
                        results.append(result)
                        shown = f"p95 {result.ms(0.95):.1f} ms" if result.built else "not built"
                        log(f"{backend}: {name}: {shown}")
                for username, office_pages in (
                    (COMMUNE_USERNAME, COMMUNE_PAGES),
                    (PROVINCE_USERNAME, PROVINCE_PAGES),
                ):
                    async with aiohttp.ClientSession(
                        cookie_jar=aiohttp.CookieJar(unsafe=True)
                    ) as office:
                        await sign_in(office, base, username)
                        for name, path in office_pages:
                            result = await measure(office, base, name, path, args.requests)
                            results.append(result)
                            log(f"{backend}: {name}: p95 {result.ms(0.95):.1f} ms")
            return BackendResult(backend, counts, seconds, results)


def table(results: list[BackendResult]) -> str:
    head = (
        f"{'backend':<9} {'page':<27} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  target"
    )
    lines = [head, "-" * len(head)]
    for backend in results:
        for page in backend.pages:
            if not page.built:
                lines.append(f"{backend.backend:<9} {page.name:<27} {'':>4} {'not built':>8}")
                continue
            verdict = "ok" if page.ms(0.95) < TARGET_MS else f"MISSES ({TARGET_MS:.0f} ms)"
            lines.append(
                f"{backend.backend:<9} {page.name:<27} {len(page.latencies):>4} "
                f"{page.ms(0.5):>8.1f} {page.ms(0.95):>8.1f} {page.ms(0.99):>8.1f}  {verdict}"
            )
    lines.append("")
    for backend in results:
        c = backend.counts
        lines.append(
            f"{backend.backend}: data set generated in {backend.generation_s:.1f} s "
            f"({c['producers']:,} producers, {c['documents']:,} documents, "
            f"{c['transcript']:,} transcript lines, {c['audit']:,} audit entries)"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 producers")
    parser.add_argument("--producers", type=int, default=None)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per page")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a database of the server to use")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lock-wait", type=float, default=3600)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.producers is None:
        args.producers = 10_000 if args.quick else 100_000
    return args


async def run(args: argparse.Namespace) -> int:
    results = []
    async with exclusive(RESULTS / ".lock", args.lock_wait):
        for backend in args.backends.split(","):
            results.append(await run_backend(backend.strip(), args))
    print(f"commit {git_revision(ROOT)} · {platform.platform()} · {os.cpu_count()} CPUs")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
