"""The fake Bot API refuses what Telegram refuses: no test passes on a call that would fail."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import ClientSession, FormData

from tests.fakes.telegram_api import FakeTelegramAPI, SentFile


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


async def upload(api: FakeTelegramAPI, method: str, field: str, content: bytes, name: str,
                 **params: Any) -> dict[str, Any]:  # fmt: skip
    """A multipart ``sendDocument`` / ``sendPhoto`` with the file's bytes."""
    form = FormData()
    for key, value in params.items():
        form.add_field(key, value if isinstance(value, str) else json.dumps(value))
    form.add_field(field, content, filename=name, content_type="application/pdf")
    url = f"{api.url}/bot{api.token}/{method}"
    async with ClientSession() as http, http.post(url, data=form) as response:
        body: dict[str, Any] = await response.json()
        return body


async def test_files_go_by_upload_or_by_a_file_id_the_fake_issued() -> None:
    async with FakeTelegramAPI() as api:
        api.add_chat(42)
        inline = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
        sent = await upload(api, "sendDocument", "document", b"%PDF-1.7 x", "hd.pdf",
                            chat_id="42", caption="<b>Hướng dẫn</b>", parse_mode="HTML",
                            reply_markup=inline)  # fmt: skip
        document = sent["result"]["document"]
        assert (document["file_name"], sent["result"]["caption"]) == ("hd.pdf", "Hướng dẫn")
        [message] = api.sent_to(42)
        assert message.file is not None and message.file.content == b"%PDF-1.7 x"
        assert (message.kind, message.reply_markup, message.file.uploaded) == (
            "document", inline, True)  # fmt: skip
        again = await call(api, "sendDocument", chat_id=42, document=document["file_id"])
        assert again["ok"] and again["result"]["document"]["file_unique_id"] == (
            document["file_unique_id"])  # fmt: skip
        assert api.sent_to(42)[-1].file == SentFile(
            document["file_id"], document["file_unique_id"], "hd.pdf", "application/pdf",
            b"%PDF-1.7 x", uploaded=False)  # fmt: skip
        assert len(api.uploads) == 1
        wrong = "Bad Request: wrong file identifier/HTTP URL specified"
        for file_id in ("BQACAgIAAxkBAAI-made-up", "https://example.org/a.pdf"):
            refused = await call(api, "sendDocument", chat_id=42, document=file_id)
            assert (refused["error_code"], refused["description"]) == (400, wrong)
        mismatch = await call(api, "sendPhoto", chat_id=42, photo=document["file_id"])
        assert mismatch["description"] == "Bad Request: type of file mismatch"
        long = await call(api, "sendDocument", chat_id=42, document=document["file_id"],
                          caption="😀" * 513)  # 1,026 UTF-16 units  # fmt: skip
        assert long["description"] == "Bad Request: message caption is too long"
        empty = await upload(api, "sendPhoto", "photo", b"", "p.jpg", chat_id="42")
        assert empty["description"] == "Bad Request: file must be non-empty"
        api.forget_file(document["file_id"])
        gone = await call(api, "sendDocument", chat_id=42, document=document["file_id"])
        assert gone["description"] == wrong
        assert len(api.sent_to(42)) == 2
