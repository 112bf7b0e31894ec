"""Regression: one update the Telegram library cannot parse stopped polling for every chat.

A ``poll`` whose options lack ``voter_count`` made PTB fail inside ``getUpdates`` for the whole
batch, the offset never advanced, and PTB logged every update of the batch (users' messages) at
CRITICAL. Now updates are fetched raw, the unreadable one is parked (an inbox row with status
``parked``, a WARNING without contents, a count in ``/healthz``) and skipped by the offset; the
webhook parks it too and answers 200.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import http_app
from bot.channels.telegram import SECRET_HEADER
from bot.engine import Engine
from bot.flow import FlowRegistry, StepContext
from storage.db import Database
from storage.models import InboxEvent
from tests.engine.conftest import database  # noqa: F401
from tests.fakes.telegram_api import UpdateBuilder
from tests.handlers.conftest import bot  # noqa: F401
from tests.harness import RunningBot

SECRET_WORDS = "Bí mật của Lan"


def broken_poll(make: UpdateBuilder, chat_id: int) -> dict[str, Any]:
    poll = {"id": "p1", "question": SECRET_WORDS, "options": [{"text": "Có"}],  # no voter_count
            "total_voter_count": 0, "is_closed": False, "is_anonymous": True,
            "type": "regular", "allows_multiple_answers": False}  # fmt: skip
    return make.message(chat_id, poll=poll)


async def test_unparseable_update_is_parked_and_polling_goes_on(
    bot: RunningBot,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # DEBUG lines are the logging filter's job (item 14)
    broken = broken_poll(bot.api.make, 7_400_000_001)
    bot.api.push(broken)
    bot.pushed += 1
    other = bot.producer(7_400_000_002)
    replies = await other.say("/start")  # another chat, after the broken update
    assert replies and "ngôn ngữ" in replies[0].plain

    async with bot.db.sessions() as session:
        row = await session.scalar(select(InboxEvent).where(InboxEvent.status == "parked"))
    assert row is not None and row.event_id == str(broken["update_id"])
    assert row.payload == broken and SECRET_WORDS not in (row.error or "")
    assert not bot.api.updates  # confirmed: the offset went past it
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]
    assert SECRET_WORDS not in caplog.text
    assert any("parked" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)

    async with TestClient(TestServer(http_app(bot.app))) as client:
        response = await client.get("/healthz")
        assert (await response.json())["parked_updates"] == 1


async def test_unparseable_webhook_update_is_parked_and_answered_200(
    bot: RunningBot,  # noqa: F811
    tmp_path: Path,
) -> None:
    web_app = http_app(bot.app)
    bot.telegram.webhook_routes(web_app, "s3cret")
    broken = broken_poll(UpdateBuilder(900_000), 7_400_000_003)
    async with TestClient(TestServer(web_app)) as client:
        response = await client.post("/telegram/webhook", json=broken,
                                     headers={SECRET_HEADER: "s3cret"})  # fmt: skip
        assert response.status == 200
        health = await (await client.get("/healthz")).json()
    assert health["parked_updates"] == 1


async def test_parked_updates_are_kept_once_and_never_run(database: Database) -> None:  # noqa: F811
    engine = Engine(database, FlowRegistry(), nothing)
    raw = broken_poll(UpdateBuilder(500), 1)
    assert await engine.park("telegram", [("500", "message: cannot be read", raw)]) == 1
    assert await engine.park("telegram", [("500", "message: cannot be read", raw)]) == 0
    await engine.process_pending()
    async with database.sessions() as session:
        [row] = (await session.scalars(select(InboxEvent))).all()
    assert (row.status, row.payload) == ("parked", raw)


async def nothing(_ctx: StepContext) -> None:
    raise AssertionError("a parked update must not reach a step")
