"""The fake Bot API refuses what Telegram refuses: no test passes on a call that would fail."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientSession

from tests.fakes.telegram_api import FakeTelegramAPI


async def call(api: FakeTelegramAPI, method: str, **params: Any) -> dict[str, Any]:
    url = f"{api.url}/bot{api.token}/{method}"
    async with ClientSession() as http, http.post(url, json=params) as response:
        body: dict[str, Any] = await response.json()
        return body


async def test_the_fake_refuses_what_telegram_refuses() -> None:
    async with FakeTelegramAPI() as api:
        unknown = await call(api, "sendMessage", chat_id=42, text="hi")
        assert unknown["description"] == "Bad Request: chat not found"
        api.push(api.make.text(42, "xin chào"))  # the chat exists once it has written
        for markup in ({"keyboard": [[{"text": "📱", "request_contact": True}]]},
                       {"remove_keyboard": True}, {"force_reply": True}):  # fmt: skip
            sent = await call(api, "sendMessage", chat_id=42, text="?", reply_markup=markup)
            inline = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
            message_id = sent["result"]["message_id"]
            edit = await call(api, "editMessageReplyMarkup", chat_id=42, message_id=message_id,
                              reply_markup=inline)  # fmt: skip
            assert edit["description"] == "Bad Request: message can't be edited"
        too_long = await call(api, "sendMessage", chat_id=42, text="😀" * 2049)  # 4,098 units
        assert too_long["description"] == "Bad Request: message is too long"
        assert (await call(api, "sendMessage", chat_id=42, text="😀" * 2048))["ok"]
        data = {"inline_keyboard": [[{"text": "x", "callback_data": "é" * 33}]]}  # 66 bytes
        assert not (await call(api, "sendMessage", chat_id=42, text="?", reply_markup=data))["ok"]
        big = api.add_file(b"x", size=20 * 1024 * 1024 + 1)
        assert (await call(api, "getFile", file_id=big.file_id))["description"].endswith(
            "file is too big"
        )
        await call(api, "setWebhook", url="https://example.org/hook")
        conflict = await call(api, "getUpdates")
        assert conflict["error_code"] == 409
