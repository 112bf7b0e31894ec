"""The ``ocop-bot`` command as an operator runs it: migrate, import areas, serve, health."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app, http_app
from bot.settings import Settings
from tests.postgres import POSTGRES_URL, drop_database, fresh_database

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "communes-sample.csv"


def ephemeral_ports() -> range:
    """The ports the kernel hands out for ``bind(0)`` and outgoing connections."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    except (OSError, ValueError):
        low, high = "32768", "60999"
    return range(int(low), int(high) + 1)


def free_port() -> int:
    """A free port for a process started by the test. It is drawn at random from below the
    kernel's ephemeral range, so that the servers and connections other tests (or xdist
    workers) open on port 0 meanwhile cannot be given it before the process binds it."""
    ephemeral = ephemeral_ports()
    ports = range(10_000, ephemeral.start) if ephemeral.start > 11_000 else range(1024, 10_000)
    for _ in range(100):
        port = random.choice(ports)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found")


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {
        "OCOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ocop.sqlite3'}",
        "OCOP_BLOB_DIR": str(tmp_path / "blobs"),
    }


def test_migrate_then_import_areas(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    result = cli("migrate", env=env)
    assert result.returncode == 0 and "up to date" in result.stdout
    result = cli("areas", "import", str(SAMPLE), env=env)
    assert result.returncode == 0, result.stderr
    assert "holds 34 provinces and 8 communes" in result.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,level,parent_code\n99001,,commune,99\n", encoding="utf-8")
    result = cli("areas", "import", str(bad), env=env)
    assert result.returncode == 1
    assert "Nothing was imported" in result.stderr
    result = cli("areas", "import", str(tmp_path / "missing.csv"), env=env)
    assert result.returncode == 1


async def test_serve_answers_health_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, **sqlite_env(tmp_path), "OCOP_HTTP_PORT": str(port)}
    env.pop("OCOP_TELEGRAM_TOKEN", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        assert response.status == 200
                        health = await response.json()
                        assert health["status"] == "ok" and health["communes"] == 0
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            else:
                pytest.fail("serve did not answer /healthz")
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    assert b"OCOP_TELEGRAM_TOKEN is not set" in err
    assert b"WARNING ocop-bot: no commune list loaded" in err


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({}, b"OCOP_ZALO_APP_SECRET must be set"),
        ({"OCOP_ZALO_APP_SECRET": "app-s3cret", "OCOP_ZALO_SIGNATURE_SECRET": "oa"},
         b"the Zalo oa secret key must be set"),
    ],
)  # fmt: skip
def test_serve_refuses_a_zalo_oa_without_its_secrets(
    tmp_path: Path, settings: dict[str, str], said: bytes
) -> None:
    env = {**os.environ, **sqlite_env(tmp_path), "OCOP_ZALO_APP_ID": "4315769212930651825",
           **settings}  # fmt: skip
    env.pop("OCOP_TELEGRAM_TOKEN", None)
    result = subprocess.run([sys.executable, "-m", "bot.cli", "serve"], cwd=ROOT, env=env,
                            capture_output=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 1 and said in result.stderr, result.stderr.decode()
    assert b"app-s3cret" not in result.stderr


async def test_serve_runs_the_zalo_oa_webhook(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        **sqlite_env(tmp_path),
        "OCOP_HTTP_PORT": str(port),
        "OCOP_ZALO_APP_ID": "4315769212930651825",
        "OCOP_ZALO_APP_SECRET": "app-s3cret",
        "OCOP_ZALO_OA_SECRET": "oa-s3cret",
        "OCOP_ZALO_REFRESH_TOKEN": "rt-s3cret",
        "OCOP_ZALO_API_URL": "http://127.0.0.1:9",
        "OCOP_ZALO_OAUTH_URL": "http://127.0.0.1:9",
    }
    env.pop("OCOP_TELEGRAM_TOKEN", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.post(
                        f"http://127.0.0.1:{port}/zalo/webhook",
                        json={"event_name": "user_send_text"},
                    ) as response:
                        assert response.status == 401  # not signed: refused
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            else:
                pytest.fail("serve did not answer /zalo/webhook")
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    assert b"Zalo OA: webhook at /zalo/webhook" in err
    assert b"tried: oa secret key, app secret" in err
    assert b"no chat channel" not in err and b"s3cret" not in err


Client = TestClient[aiohttp.web.Request, aiohttp.web.Application]


@pytest.fixture
async def unreachable_client() -> AsyncIterator[Client]:
    settings = Settings(database_url=f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none")
    app = build_app(settings)
    async with TestClient(TestServer(http_app(app))) as client:
        yield client
    await app.db.dispose()


async def test_health_is_503_without_the_database(
    unreachable_client: Client,
) -> None:
    response = await unreachable_client.get("/healthz")
    assert response.status == 503


@pytest.mark.postgres
def test_serve_refuses_an_unmigrated_postgres_schema() -> None:
    if not POSTGRES_URL:
        pytest.skip("OCOP_TEST_POSTGRES_URL is not set")
    url = asyncio.run(fresh_database(POSTGRES_URL, "ocop_test_cli_empty"))
    try:
        result = cli("serve", env={"OCOP_DATABASE_URL": url, "OCOP_HTTP_PORT": str(free_port())})
        assert result.returncode == 1
        assert "not up to date" in result.stderr and "ocop-bot migrate" in result.stderr
        assert cli("migrate", env={"OCOP_DATABASE_URL": url}).returncode == 0
    finally:
        asyncio.run(drop_database(POSTGRES_URL, url))


async def test_serve_polls_telegram_and_answers(tmp_path: Path) -> None:
    """The production wiring: `ocop-bot serve` polling a Bot API server and replying."""
    from tests.fakes.telegram_api import FakeTelegramAPI

    async with FakeTelegramAPI() as api:
        env = {
            **os.environ,
            **sqlite_env(tmp_path),
            "OCOP_HTTP_PORT": str(free_port()),
            "OCOP_TELEGRAM_TOKEN": api.token,
            "OCOP_TELEGRAM_API_URL": api.url,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            api.push(api.make.command(42, "start"))
            sent = await api.wait_sent(42, n=1, timeout=30)
            assert "Anh/chị muốn dùng ngôn ngữ nào?" in sent[0].plain
            assert "Which language would you like?" in sent[0].plain
        finally:
            process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err.decode()


def test_free_ports_are_not_ones_the_kernel_hands_out() -> None:
    """Regression: free_port bound port 0 and closed it, so under xdist another test's server on
    port 0 could be given the same port before the `serve` process bound it (it then died)."""
    for _ in range(20):
        port = free_port()
        assert port not in ephemeral_ports()
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
