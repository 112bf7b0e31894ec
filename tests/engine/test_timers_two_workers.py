"""Two ``ocop-bot serve`` processes on one PostgreSQL database fire the same due reminders:
each reminder reaches each chat exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import select

from storage.areas import import_areas
from storage.clock import LOCAL_TIMEZONE
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    Area,
    ChannelIdentity,
    OutboxMessage,
    Producer,
    ProducerMember,
    Timer,
    User,
)
from storage.states import TimerKind, TimerStatus
from storage.timers import schedule
from tests.engine.test_two_workers import SAMPLE, start_worker, wait_done, wait_healthy
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.postgres import POSTGRES_URL, temporary_database
from tests.test_cli import free_port

pytestmark = pytest.mark.postgres

PRODUCERS = 60  # one person each, with a Telegram chat
FIRST_CHAT = 7_600_000_000
KINDS = (TimerKind.RERATING_OPENS, TimerKind.RERATING_CLOSING)  # two reminders per producer
EXTRA_ENV = {
    "OCOP_QUIET_HOURS": "0-0",  # whenever the test runs
    "OCOP_SCHEDULER_INTERVAL": "0.02",
    "OCOP_SEND_RATE_GLOBAL": "1000",
}


async def people(db: Database) -> list[int]:
    """The producers, each with one member who has a Telegram chat; their ids."""
    async with db.transaction() as session:
        await import_areas(session, SAMPLE)
        province = await session.scalar(select(Area.id).where(Area.level == "province"))
        assert province is not None
        ids = []
        for n in range(PRODUCERS):
            producer = Producer(
                org_type="cooperative", name=f"HTX {n}", tax_code=f"01001091{n:02d}",
                rep_name="Lan", rep_position="Giám đốc", rep_gender="female",
                rep_ethnicity="Kinh", phone="0912345678", province_id=province,
            )  # fmt: skip
            user = User(display_name=f"Lan {n}", locale="vi")
            session.add_all([producer, user])
            await session.flush()
            session.add(ProducerMember(producer_id=producer.id, user_id=user.id))
            session.add(
                ChannelIdentity(user_id=user.id, channel="telegram", chat_id=str(FIRST_CHAT + n))
            )
            ids.append(producer.id)
        return ids


async def schedule_reminders(db: Database, producers: list[int]) -> None:
    today = datetime.now(UTC).astimezone(LOCAL_TIMEZONE).date()
    due = datetime.now(UTC) - timedelta(minutes=1)
    async with db.transaction() as session:
        for producer in producers:
            payload = {
                "producer_id": producer,
                "product_id": None,
                "certificate_number": f"{producer}/QĐ-UBND",
                "opens_on": today.isoformat(),
                "closes_on": (today + timedelta(days=60)).isoformat(),
                "expires_on": (today + timedelta(days=180)).isoformat(),
            }
            for kind in KINDS:
                await schedule(session, kind, f"certificate:{producer}:{kind}", due, payload)


async def test_two_workers_send_each_reminder_once() -> None:
    if not POSTGRES_URL:
        pytest.skip("OCOP_TEST_POSTGRES_URL is not set")
    async with temporary_database(POSTGRES_URL, "ocop_test_timers") as url:
        await upgrade(url)
        db = Database(url)
        try:
            await two_workers_fire_reminders(db, url)
        finally:
            await db.dispose()


async def two_workers_fire_reminders(db: Database, url: str) -> None:
    producers = await people(db)
    expected = len(producers) * len(KINDS)
    ports = [free_port(), free_port()]
    async with FakeTelegramAPI() as api, aiohttp.ClientSession() as http:
        for n in range(PRODUCERS):
            api.add_chat(FIRST_CHAT + n)
        workers = [await start_worker(url, api, port, EXTRA_ENV) for port in ports]
        try:
            for port in ports:
                await wait_healthy(http, port)
            await schedule_reminders(db, producers)  # both are looking for due timers now
            await wait_done(db, expected)  # every timer event handled, every reminder sent
            await asyncio.sleep(0.5)  # time for a duplicate, were there one, to show
        finally:
            for worker in workers:
                worker.terminate()
            errors = [(await w.communicate())[1].decode() for w in workers]
        assert all(w.returncode == 0 for w in workers), errors

        sent = Counter(str(m.chat_id) for m in api.sent_to())
        assert sent == {str(FIRST_CHAT + n): len(KINDS) for n in range(PRODUCERS)}
        for n in range(PRODUCERS):
            texts = [m.plain for m in api.sent_to(FIRST_CHAT + n)]
            assert sum("Đã mở thời hạn đánh giá, phân hạng lại" in t for t in texts) == 1
            assert sum("Sắp hết thời hạn đánh giá, phân hạng lại" in t for t in texts) == 1
        async with db.sessions() as session:
            owners = Counter((await session.scalars(select(Timer.claimed_by))).all())
            kinds = set((await session.scalars(select(OutboxMessage.kind))).all())
            done = Counter((await session.scalars(select(Timer.status))).all())
        assert sum(owners.values()) == expected and done == {TimerStatus.DONE: expected}
        assert kinds == {"notification"}
