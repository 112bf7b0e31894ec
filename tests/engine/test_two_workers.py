"""Two ``ocop-bot serve`` processes on one PostgreSQL database, fed through their webhooks:
every update is processed once, each chat in order, and replies go out in order."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from storage.areas import import_areas
from storage.db import Database
from storage.migrate import upgrade
from storage.models import InboxEvent, OutboxMessage, Producer, TranscriptEntry
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.postgres import POSTGRES_URL, temporary_database
from tests.test_cli import free_port

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "communes-sample.csv"
SECRET = "two-workers-secret"
CHATS = 10


def answers(n: int) -> list[str]:
    """A registration typed in one go, as a producer on a slow network might send it."""
    return [
        "/start", "English", "enterprise", f"Cong ty Mat ong {n}", "0100109106", "skip",
        "Tran Van Binh", "Director", "Male", "Kinh", "0912345678", "bac ninh", "tan son",
        "skip", "confirm",
    ]  # fmt: skip


async def start_worker(
    url: str, api: FakeTelegramAPI, port: int, extra: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """A ``serve`` process on ``url`` with its webhook on ``port`` (``extra``: more settings)."""
    env = {
        **os.environ,
        "OCOP_DATABASE_URL": url,
        "OCOP_TELEGRAM_TOKEN": api.token,
        "OCOP_TELEGRAM_API_URL": api.url,
        "OCOP_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
        "OCOP_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "OCOP_HTTP_PORT": str(port),
        "OCOP_SEND_RATE_PER_CHAT": "1000",
        "OCOP_POLL_INTERVAL": "0.05",
        "OCOP_LOG_LEVEL": "WARNING",
        **(extra or {}),
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def wait_healthy(http: aiohttp.ClientSession, port: int) -> None:
    for _ in range(300):
        try:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.05)
    raise TimeoutError(f"worker on port {port} did not start")


async def wait_done(db: Database, expected: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with db.sessions() as session:
            done = await session.scalar(
                select(func.count()).select_from(InboxEvent).where(InboxEvent.status == "done")
            )
            unsent = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status != "sent")
            )
        if done == expected and unsent == 0:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"only {done} of {expected} events done, {unsent} replies unsent")


async def test_two_workers_one_database() -> None:
    if not POSTGRES_URL:
        pytest.skip("OCOP_TEST_POSTGRES_URL is not set")
    async with temporary_database(POSTGRES_URL, "ocop_test_two_workers") as url:
        await two_workers_one_database(url)


async def two_workers_one_database(url: str) -> None:
    """Two `serve` processes on one database, fed through their webhooks."""
    await upgrade(url)
    db = Database(url)
    async with db.transaction() as session:
        await import_areas(session, SAMPLE)
    ports = [free_port(), free_port()]
    async with FakeTelegramAPI() as api, aiohttp.ClientSession() as http:
        workers = [await start_worker(url, api, port) for port in ports]
        try:
            for port in ports:
                await wait_healthy(http, port)
            updates = {
                7_500_000_000 + n: [
                    api.make.command(7_500_000_000 + n, text[1:])
                    if text.startswith("/")
                    else api.make.text(7_500_000_000 + n, text)
                    for text in answers(n)
                ]
                for n in range(CHATS)
            }
            for chat in updates:  # posted to the workers directly: the fake must know them
                api.add_chat(chat)

            async def post(update: dict[str, object], port: int) -> None:
                async with http.post(
                    f"http://127.0.0.1:{port}/telegram/webhook",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                ) as response:
                    assert response.status == 200

            # Each chat's updates in order, alternating between the workers; chats at once.
            async def feed(chat_updates: list[dict[str, object]]) -> None:
                for i, update in enumerate(chat_updates):
                    await post(update, ports[i % 2])

            await asyncio.gather(*(feed(u) for u in updates.values()))
            total = sum(len(u) for u in updates.values())
            await wait_done(db, total)
        finally:
            for worker in workers:
                if worker.returncode is None:  # one that died says why below
                    worker.terminate()
            errors = [(await w.communicate())[1].decode() for w in workers]
        assert all(w.returncode == 0 for w in workers), errors

        async with db.sessions() as session:
            names = set((await session.scalars(select(Producer.name))).all())
            for chat in updates:
                seen = (
                    await session.scalars(
                        select(TranscriptEntry.text)
                        .where(
                            TranscriptEntry.chat_id == str(chat),
                            TranscriptEntry.direction == "in",
                        )
                        .order_by(TranscriptEntry.id)
                    )
                ).all()
                n = chat - 7_500_000_000
                assert list(seen) == answers(n)  # each processed exactly once, in order
                queued = (
                    await session.scalars(
                        select(OutboxMessage.platform_message_id)
                        .where(OutboxMessage.chat_id == str(chat))
                        .order_by(OutboxMessage.id)
                    )
                ).all()
                # A reply may take two messages (keyboard change, then buttons): the outbox keeps
                # the id of its last one.
                delivered = [str(m.message_id) for m in api.sent_to(chat)]
                delivered = [d for d in delivered if d in set(queued)]
                assert delivered == list(queued)  # replies reached the chat in queue order
    await db.dispose()
    # Had any chat run out of order, its registration would not have completed.
    assert names == {f"Cong ty Mat ong {n}" for n in range(CHATS)}
