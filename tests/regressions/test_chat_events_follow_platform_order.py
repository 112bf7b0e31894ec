"""Regression: a chat's events were processed in arrival order, not in Telegram's order.

Ten updates of one chat posted to the webhook at once in shuffled order were processed as they
arrived (20 of 20 chats). Among a chat's pending events the platform's order (``update_id``)
now decides; an event that arrives after a later one was already processed is still processed.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import App, build_app
from bot.channels.telegram import SECRET_HEADER, TelegramChannel
from bot.engine import Engine
from bot.flow import FlowRegistry, StepContext
from bot.settings import Settings
from bot.vocabulary import Event, EventKind
from storage.db import Database
from storage.models import TranscriptEntry
from tests.engine.conftest import database
from tests.fakes.telegram_api import FakeTelegramAPI

__all__ = ["database"]

SECRET = "s3cret-for-order"
CHATS = [7_700_000_001, 7_700_000_002, 7_700_000_003]


async def inbound(db: Database, chat: int | str) -> list[str]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(TranscriptEntry.text)
            .where(TranscriptEntry.chat_id == str(chat), TranscriptEntry.direction == "in")
            .order_by(TranscriptEntry.id)
        )
        return list(rows.all())


@pytest.fixture
async def app(database: Database, tmp_path: Path) -> AsyncIterator[tuple[App, FakeTelegramAPI]]:
    async with FakeTelegramAPI() as api:
        settings = Settings(
            database_url=database.url,
            telegram_token=api.token,
            telegram_api_url=api.url,
            blob_dir=tmp_path / "blobs",
        )
        yield build_app(settings, db=database), api


async def test_shuffled_webhook_updates_run_in_update_id_order(
    app: tuple[App, FakeTelegramAPI],
) -> None:
    bot, api = app
    telegram = TelegramChannel(api.token, api.url, bot.engine)
    web_app = web.Application()
    telegram.webhook_routes(web_app, SECRET)
    updates = [api.make.text(chat, f"m{n} of {chat}") for n in range(10) for chat in CHATS]
    random.Random(6).shuffle(updates)
    try:
        async with TestClient(TestServer(web_app)) as client:
            for update in updates:  # all stored before the engine runs: pending together
                response = await client.post(
                    "/telegram/webhook", json=update, headers={SECRET_HEADER: SECRET}
                )
                assert response.status == 200
    finally:
        await telegram.shutdown()
    await bot.engine.process_pending()
    for chat in CHATS:
        assert await inbound(bot.db, chat) == [f"m{n} of {chat}" for n in range(10)]


async def echo(ctx: StepContext) -> None:
    ctx.say(ctx.event.text)


async def test_an_event_arriving_after_a_later_one_is_still_processed(
    database: Database,
) -> None:
    engine = Engine(database, FlowRegistry(), echo)

    def event(seq: int) -> Event:
        return Event("test", "1", "1", str(seq), EventKind.TEXT, text=f"m{seq}", seq=seq)

    await engine.store([event(5), event(3)])
    await engine.process_pending()
    await engine.store([event(4)])  # late: 5 is already processed
    await engine.process_pending()
    assert await inbound(database, "1") == ["m3", "m5", "m4"]
