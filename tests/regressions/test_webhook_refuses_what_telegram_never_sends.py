"""Regression: the webhook accepted updates Telegram would never send.

With the right secret, an ``update_id`` of "abc", -5 or 2**80 and a 1.9 MB text were all
answered 200 (and stored). Now they are refused with 400; text is capped at Telegram's limit
(4,096 UTF-16 units; captions 4,096, Telegram Premium's limit) and a body over 256 KiB gets 413.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.channels.telegram import SECRET_HEADER, TelegramChannel
from bot.engine import Engine
from bot.flow import FlowRegistry, StepContext
from storage.db import Database
from storage.models import InboxEvent
from tests.fakes.telegram_api import FakeTelegramAPI, UpdateBuilder

SECRET = "s3cret"


async def nothing(_ctx: StepContext) -> None:
    return None


@pytest.fixture
async def client(db: Database) -> AsyncIterator[TestClient[Any, Any]]:
    async with FakeTelegramAPI() as api:
        channel = TelegramChannel(api.token, api.url, Engine(db, FlowRegistry(), nothing))
        app = web.Application(client_max_size=8 * 1024 * 1024)
        channel.webhook_routes(app, SECRET)
        async with TestClient(TestServer(app)) as test_client:
            yield test_client
        await channel.shutdown()


async def post(client: TestClient[Any, Any], body: Any) -> int:
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    data = io.BytesIO(json.dumps(body).encode())  # a large body must be a stream
    response = await client.post("/telegram/webhook", data=data, headers=headers)
    return response.status


@pytest.mark.parametrize("update_id", ["abc", -5, 0, 2**80, 1.5, True, None])
async def test_impossible_update_ids_are_refused(
    client: TestClient[Any, Any], db: Database, update_id: Any
) -> None:
    update = UpdateBuilder().text(42, "xin chào") | {"update_id": update_id}
    assert await post(client, update) == 400
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboxEvent)) == 0


async def test_text_over_telegrams_limit_is_refused(client: TestClient[Any, Any]) -> None:
    make = UpdateBuilder()
    assert await post(client, make.text(42, "a" * 1_900_000)) == 413  # over the body cap
    assert await post(client, make.text(42, "😀" * 2049)) == 400  # 4,098 UTF-16 units
    assert await post(client, make.document(42, caption="a" * 4097)) == 400
    assert await post(client, make.callback(42, "x" * 65)) == 400
    assert await post(client, [make.text(42, "hi")]) == 400
    assert await post(client, make.text(42, "😀" * 2048)) == 200  # exactly 4,096 units


async def test_body_without_length_over_the_cap_is_refused(client: TestClient[Any, Any]) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b" " * 10_000

    response = await client.post("/telegram/webhook", data=chunks(),
                                 headers={SECRET_HEADER: SECRET})  # fmt: skip
    assert response.status == 413
