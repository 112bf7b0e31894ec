"""Bot API errors over real HTTP: a reply sent as plain JSON fails with the send error, the
message and the wait that the same answer gave through python-telegram-bot, and never with the
token in it.

The reference is PTB's own call on the same channel (``bot.send_message`` through ``_call``, as
replies went before); the fake Bot API answers 429, 403, 400, 409, 401 and 5xx, and a small
server answers what the fake never does (no JSON, a migrated group, a 200 that is no answer).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import BaseTestServer, TestServer
from telegram.error import NetworkError, TimedOut

from bot.channels.aiohttp_request import AiohttpRequest
from bot.channels.base import Rejected, RetryLater, SendError, TransientError, Unreachable
from bot.channels.telegram import TelegramChannel
from bot.vocabulary import Reply
from tests.fakes.telegram_api import BOT_USER, FakeTelegramAPI

CHAT = 5_300_000_001


class NoStore:
    async def store(self, events: object) -> int:
        return 0

    async def park(self, channel: str, updates: object) -> int:
        return 0


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as server:
        server.add_chat(CHAT)
        yield server


async def failures(channel: TelegramChannel, arrange: Any) -> tuple[SendError, SendError]:
    """The error of a reply sent as plain JSON, and of the same message sent through PTB, each
    after ``arrange()`` set up the answer."""
    arrange()
    with pytest.raises(SendError) as plain:
        await channel.send(str(CHAT), Reply("Kết quả"))
    arrange()
    with pytest.raises(SendError) as ptb:
        await channel._call(channel.bot.send_message(str(CHAT), "Kết quả", parse_mode="HTML"))
    return plain.value, ptb.value


def assert_same(plain: SendError, ptb: SendError, token: str) -> None:
    assert type(plain) is type(ptb)
    assert str(plain) == str(ptb)
    assert getattr(plain, "retry_after", None) == getattr(ptb, "retry_after", None)
    assert getattr(plain, "deleted", None) == getattr(ptb, "deleted", None)
    assert token not in str(plain) and token.split(":")[1] not in str(plain)


@pytest.mark.parametrize(
    ("status", "fault", "expected", "text"),
    [
        (429, {"retry_after": 3}, RetryLater,
         "RetryAfter: Flood control exceeded. Retry in 0:00:03"),
        (403, {}, Unreachable, "Forbidden: Forbidden: bot was blocked by the user"),
        (403, {"description": "Forbidden: user is deactivated"}, Unreachable,
         "Forbidden: Forbidden: user is deactivated"),
        (400, {"description": "Bad Request: chat not found"}, Rejected,
         "BadRequest: Chat not found"),
        (409, {}, TransientError, "Conflict: Conflict: terminated by other getUpdates request"),
        (401, {"description": "Unauthorized"}, TransientError, "InvalidToken: Unauthorized"),
        (500, {"description": "Internal Server Error"}, TransientError,
         "NetworkError: Internal Server Error"),
        (502, {"description": "Bad Gateway"}, TransientError, "NetworkError: Bad Gateway"),
    ],
)  # fmt: skip
async def test_error_answers_map_as_through_ptb(
    api: FakeTelegramAPI, status: int, fault: dict[str, Any], expected: type[SendError], text: str
) -> None:
    async with TelegramChannel(api.token, api.url, NoStore()) as channel:
        plain, ptb = await failures(channel, lambda: api.fail("sendMessage", status, **fault))
    assert type(plain) is expected and str(plain).startswith(text)
    assert_same(plain, ptb, api.token)
    if isinstance(plain, RetryLater):
        assert plain.retry_after == 3.0
    if isinstance(plain, Unreachable):
        assert plain.deleted == ("deactivated" in text)
    assert api.sent_to(CHAT) == []


async def test_the_flood_limit_and_a_blocked_chat_as_through_ptb(api: FakeTelegramAPI) -> None:
    async with TelegramChannel(api.token, api.url, NoStore()) as channel:
        api.limit(global_per_second=30, per_chat_per_second=1)
        await channel.send(str(CHAT), Reply("một"))
        plain, ptb = await failures(channel, lambda: None)  # the chat's second within 1 s
        assert isinstance(plain, RetryLater) and plain.retry_after >= 1
        assert_same(plain, ptb, api.token)
        api.limit(None)
        plain, ptb = await failures(channel, lambda: api.block(CHAT, deleted=True))
        assert isinstance(plain, Unreachable) and plain.deleted
        assert_same(plain, ptb, api.token)


# -- answers the fake never gives ------------------------------------------------------------
class Answers:
    """A Bot API that answers getMe, then whatever ``status`` and ``body`` are set to."""

    def __init__(self) -> None:
        self.status, self.body = 200, b""
        self.app = web.Application()
        self.app.router.add_post("/bot{token}/{method}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "getMe":
            return web.json_response({"ok": True, "result": BOT_USER})
        if request.match_info["method"] == "slow":
            await asyncio.sleep(2)
        return web.Response(status=self.status, body=self.body)

    def answer(self, status: int, body: bytes | dict[str, Any]) -> Any:
        def arrange() -> None:
            self.status = status
            self.body = body if isinstance(body, bytes) else json.dumps(body).encode()

        return arrange


Served = tuple[Answers, BaseTestServer]


@pytest.fixture
async def answers() -> AsyncIterator[Served]:
    answers = Answers()
    async with TestServer(answers.app) as server:
        yield answers, server


TOKEN = "987654321:AAE-another_secret-token"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (502, b"<html><body>502 Bad Gateway</body></html>", TransientError),
        (200, b"<html>not json</html>", TransientError),
        (400, {"ok": False, "error_code": 400, "description": "Bad Request: group chat was "
               "upgraded to a supergroup chat", "parameters": {"migrate_to_chat_id": -1001}},
         Rejected),
        (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
               "parameters": {"retry_after": 1.5}}, RetryLater),
        (429, {"ok": False, "error_code": 429, "description": "Too Many Requests"},
         TransientError),
        (503, {"ok": False, "error_code": 503, "description": "Service Unavailable",
               "parameters": {"something": 1}}, TransientError),
        (418, b"", TransientError),
        (599, b"", TransientError),
    ],
)  # fmt: skip
async def test_answers_the_fake_never_gives_map_as_through_ptb(
    answers: Served, status: int, body: bytes | dict[str, Any],
    expected: type[SendError],
) -> None:  # fmt: skip
    server, test_server = answers
    url = str(test_server.make_url("/"))
    async with TelegramChannel(TOKEN, url, NoStore()) as channel:
        plain, ptb = await failures(channel, server.answer(status, body))
    assert type(plain) is expected
    assert_same(plain, ptb, TOKEN)
    if isinstance(plain, RetryLater):
        assert plain.retry_after == 1.5


async def test_a_200_that_is_no_answer_is_transient(answers: Served) -> None:
    """Telegram never answers so; PTB failed with a KeyError, the plain call says why."""
    server, test_server = answers
    async with TelegramChannel(TOKEN, str(test_server.make_url("/")), NoStore()) as channel:
        server.answer(200, {"ok": True})()
        with pytest.raises(TransientError, match="Invalid server response"):
            await channel.send(str(CHAT), Reply("x"))
        blocked = {"ok": False, "error_code": 403,
                   "description": "Forbidden: bot was blocked by the user"}  # fmt: skip
        server.answer(200, blocked)()
        with pytest.raises(Unreachable):
            await channel.send(str(CHAT), Reply("x"))


async def test_a_refused_connection_is_transient(answers: Served) -> None:
    """aiohttp's words depend on the connection's state (a kept-alive one, a new one): the
    error's kind is what must agree, and the token be out of it (aiohttp quotes the URL)."""
    _server, test_server = answers
    async with TelegramChannel(TOKEN, str(test_server.make_url("/")), NoStore()) as channel:
        await test_server.close()  # nothing listens any more
        plain, ptb = await failures(channel, lambda: None)
        again, _ = await failures(channel, lambda: None)
    for error in (plain, ptb, again):
        assert isinstance(error, TransientError)
        assert str(error).startswith("NetworkError: aiohttp.")
        assert TOKEN not in str(error) and TOKEN.split(":")[1] not in str(error)


async def test_a_call_without_an_answer_times_out(answers: Served) -> None:
    _server, test_server = answers
    url = str(test_server.make_url(f"/bot{TOKEN}/slow"))
    short, default = AiohttpRequest(read_timeout=0.2), AiohttpRequest()
    await short.initialize()
    await default.initialize()
    try:
        with pytest.raises(TimedOut):
            await short.post_json(url, {"chat_id": 1})
        with pytest.raises(TimedOut):  # a call's own read timeout (getUpdates' long poll)
            await default.post_json(url, {"chat_id": 1}, read_timeout=0.2)
    finally:
        await short.shutdown()
        await default.shutdown()
    with pytest.raises(NetworkError, match="not initialized"):  # as PTB says it
        await short.post_json(url, {})


# -- the other plain calls -------------------------------------------------------------------
async def test_polling_waits_as_long_as_telegram_asks(api: FakeTelegramAPI) -> None:
    api.fail("getUpdates", 429, retry_after=1)
    api.push(api.make.text(CHAT, "chào"))
    stored: list[Any] = []

    class Store(NoStore):
        async def store(self, events: Any) -> int:
            stored.extend(events)
            return len(events)

    async with TelegramChannel(api.token, api.url, Store(), poll_timeout=1,
                               backoff=(0.05, 0.2)) as channel:  # fmt: skip
        stop = asyncio.Event()
        task = asyncio.create_task(channel.run_polling(stop))
        loop = asyncio.get_running_loop()
        started = loop.time()
        await api.wait_until(lambda: not api.updates, timeout=5)
        waited = loop.time() - started
        stop.set()
        await asyncio.wait_for(task, 5)
    assert [e.text for e in stored] == ["chào"]
    assert waited >= 0.95  # retry_after, not the 0.05 s back-off


async def test_a_failed_button_answer_is_logged_without_the_token(
    api: FakeTelegramAPI, caplog: pytest.LogCaptureFixture
) -> None:
    api.fail("answerCallbackQuery", 400, description="Bad Request: query is too old")
    async with TelegramChannel(api.token, api.url, NoStore()) as channel:
        with caplog.at_level(logging.WARNING, "bot.channels.telegram"):
            await channel._receive([api.make.callback(CHAT, "ab|1")])
            await asyncio.gather(*channel._tasks)  # the answer, sent after the store
    assert "answerCallbackQuery failed: BadRequest: Query is too old" in caplog.text
    assert api.token not in caplog.text
