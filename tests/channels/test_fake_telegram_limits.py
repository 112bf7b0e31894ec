"""The fake Bot API's flood limits and blocked chats, like Telegram's: over the bot's or a
chat's limit a send is answered 429 with the whole seconds to wait and is not recorded; the
limits can be set at construction, at runtime and over the control API. Time is injected, so
nothing sleeps."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import ClientSession

from tests.fakes.telegram_api import FakeTelegramAPI, RateLimit


class Ticks:
    """A monotonic time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def call(api: FakeTelegramAPI, method: str, **params: Any) -> dict[str, Any]:
    url = f"{api.url}/bot{api.token}/{method}"
    async with ClientSession() as http, http.post(url, json=params) as response:
        body: dict[str, Any] = await response.json()
        assert response.status == body.get("error_code", 200)
        return body


async def control(api: FakeTelegramAPI, action: str, body: Any) -> Any:
    async with ClientSession() as http:
        if body is None:
            request = http.post(f"{api.url}/_control/{action}", data="null",
                                headers={"Content-Type": "application/json"})  # fmt: skip
        else:
            request = http.post(f"{api.url}/_control/{action}", json=body)
        async with request as response:
            assert response.status == 200
            return await response.json()


async def stats(api: FakeTelegramAPI) -> dict[str, Any]:
    async with ClientSession() as http, http.get(f"{api.url}/_control/stats") as response:
        body: dict[str, Any] = await response.json()
        return body


def too_many(after: int) -> dict[str, Any]:
    return {"ok": False, "error_code": 429,
            "description": f"Too Many Requests: retry after {after}",
            "parameters": {"retry_after": after}}  # fmt: skip


async def test_over_the_bots_limit_a_send_is_refused_with_the_seconds_to_wait() -> None:
    ticks = Ticks()
    limit = RateLimit(global_per_second=0.5, per_chat_per_second=None, window=10)  # 5 in 10 s
    async with FakeTelegramAPI(rate_limit=limit, clock=ticks) as api:
        for chat in range(1, 8):
            api.add_chat(chat)
        for chat in range(1, 6):
            assert (await call(api, "sendMessage", chat_id=chat, text=f"tin {chat}"))["ok"]
            ticks.now += 0.5
        ticks.now = 1002.0
        assert await call(api, "sendMessage", chat_id=6, text="tin 6") == too_many(8)
        ticks.now = 1009.2  # the first send leaves the window at 1010: 0.8 s, told as 1
        assert await call(api, "sendMessage", chat_id=6, text="tin 6") == too_many(1)
        assert [m.plain for m in api.sent] == [f"tin {c}" for c in range(1, 6)]
        assert api.too_many == 2 and len(api.accepted) == 5
        assert [status for _, _, status in api.send_attempts][-2:] == [429, 429]
        ticks.now = 1010.0
        assert (await call(api, "sendMessage", chat_id=6, text="tin 6"))["ok"]
        assert await call(api, "sendMessage", chat_id=7, text="tin 7") == too_many(1)
        ticks.now = 1010.5
        assert (await call(api, "sendMessage", chat_id=7, text="tin 7"))["ok"]
        assert [m.plain for m in api.sent_to(6)] == ["tin 6"]
        assert [m.at for m in api.sent][-2:] == [1010.0, 1010.5]
        assert api.busiest(10) == 5 and api.busiest(10, chat_id=7) == 1


async def test_each_chat_has_its_own_limit_and_a_window_allows_a_burst() -> None:
    ticks = Ticks()
    async with FakeTelegramAPI(rate_limit=RateLimit(), clock=ticks) as api:  # 30/s, 1/s a chat
        api.add_chat(1)
        api.add_chat(2)
        assert (await call(api, "sendMessage", chat_id=1, text="một"))["ok"]
        ticks.now += 0.4
        assert await call(api, "sendMessage", chat_id=1, text="hai") == too_many(1)
        assert (await call(api, "sendMessage", chat_id=2, text="một"))["ok"]  # another chat
        ticks.now += 0.6  # a second after the first
        assert (await call(api, "sendMessage", chat_id=1, text="hai"))["ok"]
        assert [m.plain for m in api.sent_to(1)] == ["một", "hai"] and api.too_many == 1

        api.limit(per_chat_per_second=1, window=3)  # at runtime: three at once, then wait
        ticks.now += 10
        for text in ("a", "b", "c"):
            assert (await call(api, "sendMessage", chat_id=1, text=text))["ok"]
        ticks.now += 0.5
        assert await call(api, "sendMessage", chat_id=1, text="d") == too_many(3)
        api.limit(None)
        assert (await call(api, "sendMessage", chat_id=1, text="d"))["ok"]
        assert [m.plain for m in api.sent_to(1)][2:] == ["a", "b", "c", "d"]


async def test_edits_count_and_a_refused_send_takes_no_slot() -> None:
    ticks = Ticks()
    limit = RateLimit(global_per_second=None, per_chat_per_second=2)
    async with FakeTelegramAPI(rate_limit=limit, clock=ticks) as api:
        api.add_chat(1)
        bad = await call(api, "sendMessage", chat_id=1, text="<b>x", parse_mode="HTML")  # 400
        assert bad["error_code"] == 400 and api.accepted == []
        sent = await call(api, "sendMessage", chat_id=1, text="?")
        inline = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
        edit = {"chat_id": 1, "message_id": sent["result"]["message_id"], "reply_markup": inline}
        assert (await call(api, "editMessageReplyMarkup", **edit))["ok"]
        assert await call(api, "sendMessage", chat_id=1, text="!") == too_many(1)
        assert [m for _, _, m in api.accepted] == ["sendMessage", "editMessageReplyMarkup"]
        assert (await call(api, "sendChatAction", chat_id=1, action="typing"))["ok"]  # no send


async def test_documents_and_photos_count_against_the_limits_and_blocks() -> None:
    ticks = Ticks()
    limit = RateLimit(global_per_second=None, per_chat_per_second=1)
    async with FakeTelegramAPI(rate_limit=limit, clock=ticks) as api:
        api.add_chat(1)
        file = api.add_file(b"%PDF-1.7")
        assert (await call(api, "sendDocument", chat_id=1, document=file.file_id))["ok"]
        assert await call(api, "sendPhoto", chat_id=1, photo=file.file_id) == too_many(1)
        assert await call(api, "sendMessage", chat_id=1, text="x") == too_many(1)
        ticks.now += 1
        assert (await call(api, "sendPhoto", chat_id=1, photo=file.file_id))["ok"]
        assert [m for _, _, m in api.accepted] == ["sendDocument", "sendPhoto"]
        assert [status for _, _, status in api.send_attempts] == [200, 429, 429, 200]
        api.block(1)
        ticks.now += 1
        blocked = await call(api, "sendDocument", chat_id=1, document=file.file_id)
        assert blocked["error_code"] == 403 and len(api.sent) == 2


async def test_chosen_chats_are_answered_403() -> None:
    async with FakeTelegramAPI() as api:
        for chat in (1, 2, 3):
            api.add_chat(chat)
        sent = await call(api, "sendMessage", chat_id=2, text="trước")
        api.block_chats([1, 2])
        blocked = await call(api, "sendMessage", chat_id=1, text="x")
        assert blocked == {"ok": False, "error_code": 403,
                           "description": "Forbidden: bot was blocked by the user"}  # fmt: skip
        inline = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
        edit = await call(api, "editMessageReplyMarkup", chat_id=2, reply_markup=inline,
                          message_id=sent["result"]["message_id"])  # fmt: skip
        assert edit["error_code"] == 403
        assert (await call(api, "sendMessage", chat_id=3, text="y"))["ok"]
        api.unblock(1)
        assert (await call(api, "sendMessage", chat_id=1, text="z"))["ok"]
        assert [m.plain for m in api.sent] == ["trước", "y", "z"]


async def test_another_process_sets_the_limits_and_blocks_over_the_control_api() -> None:
    ticks = Ticks()
    async with FakeTelegramAPI(clock=ticks) as api:
        for chat in (1, 2, 3):
            api.add_chat(chat)
        limit = {"global_per_second": 2, "per_chat_per_second": None, "window": 1}
        await control(api, "limit", limit)
        assert api.rate_limit == RateLimit(2, None, 1)
        assert (await call(api, "sendMessage", chat_id=1, text="1"))["ok"]
        assert (await call(api, "sendMessage", chat_id=2, text="2"))["ok"]
        assert await call(api, "sendMessage", chat_id=3, text="3") == too_many(1)
        await control(api, "block", {"chat_ids": [2, 3]})
        assert (await call(api, "sendMessage", chat_id=3, text="3"))["error_code"] == 403
        got = await stats(api)
        assert (got["sent"], got["too_many"], got["accepted"]) == (2, 1, 2)
        assert got["busiest_second"] == 2 and got["blocked"] == [2, 3]
        assert got["rate_limit"] == limit | {"chat_window": None}
        await control(api, "limit", None)
        assert api.rate_limit is None
        assert (await call(api, "sendMessage", chat_id=1, text="4"))["ok"]
        await control(api, "reset", {})
        assert api.accepted == [] and api.too_many == 0 and api.blocked == set()


def test_a_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RateLimit(window=0)
    with pytest.raises(ValueError):
        RateLimit(per_chat_per_second=0)
    assert RateLimit(global_per_second=30).allowed(30) == 30
    assert RateLimit(window=0.1).allowed(1) == 1  # never less than one


async def test_the_per_chat_limit_may_have_its_own_window() -> None:
    """A burst of three to one chat (Telegram tolerates it) while the bot's limit is counted
    over one second."""
    async with FakeTelegramAPI() as api:
        api.limit(global_per_second=4, per_chat_per_second=1, window=1, chat_window=3)
        assert await control(api, "chats", {"chat_ids": [1, 2, 3]}) == {"ok": True, "chats": 3}
        for n in range(3):
            assert (await call(api, "sendMessage", chat_id=1, text=str(n)))["ok"]
        assert (await call(api, "sendMessage", chat_id=1, text="3"))["error_code"] == 429
        assert (await call(api, "sendMessage", chat_id=2, text="a"))["ok"]
        assert (await call(api, "sendMessage", chat_id=3, text="b"))["error_code"] == 429
