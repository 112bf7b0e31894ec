"""PTB's requests carried by aiohttp: JSON calls, multipart calls with files, timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.channels.aiohttp_request import AiohttpRequest


@pytest.fixture
async def server() -> AsyncIterator[tuple[TestServer, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        if request.path == "/slow":
            await asyncio.sleep(2)
        if request.content_type == "application/json":
            seen.append({"json": await request.json()})
        else:
            form = await request.post()
            seen.append({k: getattr(v, "file", v) for k, v in form.items()})
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    async with TestServer(app) as test_server:
        yield test_server, seen


async def test_json_and_multipart(server: tuple[TestServer, list[dict[str, Any]]]) -> None:
    test_server, seen = server
    request = AiohttpRequest()
    await request.initialize()
    try:
        data = RequestData(
            [
                RequestParameter.from_input("chat_id", 5),
                RequestParameter.from_input("text", "xin chào"),
            ]
        )
        status, body = await request.do_request(str(test_server.make_url("/send")), "POST", data)
        assert status == 200 and b'"ok": true' in body
        document = InputFile(b"%PDF-1.4 ho so", filename="ho-so.pdf")
        files = RequestData(
            [
                RequestParameter.from_input("chat_id", 5),
                RequestParameter.from_input("document", document),
            ]
        )
        status, _ = await request.do_request(str(test_server.make_url("/doc")), "POST", files)
        assert status == 200
    finally:
        await request.shutdown()
    assert seen[0] == {"json": {"chat_id": 5, "text": "xin chào"}}
    assert seen[1]["chat_id"] == "5"
    assert any(hasattr(v, "read") for v in seen[1].values())


async def test_timeouts_and_network_errors(
    server: tuple[TestServer, list[dict[str, Any]]],
) -> None:
    test_server, _seen = server
    request = AiohttpRequest(read_timeout=0.2)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.do_request(str(test_server.make_url("/slow")), "POST")
        with pytest.raises(NetworkError):
            await request.do_request("http://127.0.0.1:9/none", "POST")
    finally:
        await request.shutdown()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(str(test_server.make_url("/x")), "POST")
