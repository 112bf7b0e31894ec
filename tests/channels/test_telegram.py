"""The Telegram adapter against the fake Bot API, over real HTTP, with a real SQLite inbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.channels.base import DownloadError, FileTooLarge, Rejected
from bot.channels.telegram import SECRET_HEADER, TelegramChannel, split_text
from bot.engine import Engine
from bot.flow import FlowRegistry, StepContext
from bot.sender import Sender
from bot.vocabulary import Button, Event, EventKind, FileRef, Reply
from storage.clock import utcnow
from storage.db import Database
from storage.models import ChannelIdentity, InboxEvent, OutboxMessage
from tests.fakes.telegram_api import FakeTelegramAPI

CHAT = 5_123_456_789  # beyond 32 bits, as real Telegram ids can be
SECRET = "s3cret-token_value"


async def echo(ctx: StepContext) -> None:
    """A stand-in flow: answers every event with what it understood."""
    e = ctx.event
    if e.kind is EventKind.TEXT:
        ctx.say(e.text)
    elif e.kind is EventKind.BUTTON:
        ctx.say(f"button {e.payload}")
    else:
        ctx.say(f"got {e.kind}")


class Recording:
    """An engine wrapper that can fail ``store`` before or after the real insert."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.fail_before = 0
        self.fail_after = 0
        self.calls: list[list[str]] = []

    async def store(self, events: Sequence[Event]) -> int:
        self.calls.append([e.event_id for e in events])
        if self.fail_before:
            self.fail_before -= 1
            raise RuntimeError("database unavailable")
        new = await self.engine.store(events)
        if self.fail_after:
            self.fail_after -= 1
            raise RuntimeError("crashed after the insert")
        return new

    async def park(self, channel: str, updates: Sequence[tuple[str, str, dict[str, Any]]]) -> int:
        return await self.engine.park(channel, updates)


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as server:
        server.add_chat(CHAT)
        yield server


@pytest.fixture
def engine(db: Database) -> Engine:
    return Engine(db, FlowRegistry(), echo)


@pytest.fixture
def store(engine: Engine) -> Recording:
    return Recording(engine)


@pytest.fixture
async def channel(api: FakeTelegramAPI, store: Recording) -> AsyncIterator[TelegramChannel]:
    async with TelegramChannel(api.token, api.url, store, poll_timeout=1,
                               backoff=(0.05, 0.2)) as tg:  # fmt: skip
        yield tg


@contextlib.asynccontextmanager
async def polling(channel: TelegramChannel) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(channel.run_polling(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


@contextlib.asynccontextmanager
async def webhook(channel: TelegramChannel) -> AsyncIterator[TestClient[Any, Any]]:
    app = web.Application()
    channel.webhook_routes(app, SECRET)
    async with TestClient(TestServer(app)) as client:
        yield client


async def inbox(db: Database) -> list[InboxEvent]:
    async with db.sessions() as session:
        return list((await session.scalars(select(InboxEvent).order_by(InboxEvent.id))).all())


async def queue(db: Database, reply: Reply, chat: int = CHAT) -> None:
    async with db.transaction() as session:
        session.add(OutboxMessage(channel="telegram", chat_id=str(chat), payload=reply.to_json(),
                                  next_attempt_at=utcnow()))  # fmt: skip


def sender(db: Database, channel: TelegramChannel) -> Sender:
    return Sender(db, {"telegram": channel}, poll_interval=0.05, per_chat_burst=10)


# -- updates → events -----------------------------------------------------------------------
def convert(channel: TelegramChannel, update: dict[str, Any]) -> list[Event]:
    return channel.to_events(update)


async def test_text_and_command(channel: TelegramChannel, api: FakeTelegramAPI) -> None:
    [text] = convert(channel, api.make.text(CHAT, "Xin chào /start"))
    assert (text.kind, text.text, text.chat_id, text.user_id) == (
        EventKind.TEXT, "Xin chào /start", str(CHAT), str(CHAT))  # fmt: skip
    assert text.channel == "telegram" and text.locale_hint == "vi"
    assert text.display_name == "Lan Nguyễn Thị"
    update = api.make.command(CHAT, "Start", "ref_42 more", mention="ocop_test_bot")
    [command] = convert(channel, update)
    assert (command.kind, command.command, command.text) == (
        EventKind.COMMAND, "start", "ref_42 more")  # fmt: skip
    assert command.event_id == str(update["update_id"])
    [bare] = convert(channel, api.make.command(CHAT, "help"))
    assert (bare.command, bare.text) == ("help", "")


async def test_button_contact_and_membership(
    channel: TelegramChannel, api: FakeTelegramAPI
) -> None:
    [button] = convert(channel, api.make.callback(CHAT, "a1b2c3|group:food"))
    assert (button.kind, button.signature, button.payload) == (
        EventKind.BUTTON, "a1b2c3", "group:food")  # fmt: skip
    assert button.chat_id == str(CHAT)
    [own] = convert(channel, api.make.contact(CHAT, "+84912345678"))
    assert (own.kind, own.phone, own.phone_is_own) == (EventKind.CONTACT, "+84912345678", True)
    [other] = convert(channel, api.make.contact(CHAT, own=False))
    assert other.phone_is_own is False
    [leave] = convert(channel, api.make.chat_member(CHAT, "kicked"))
    [join] = convert(channel, api.make.chat_member(CHAT, "member"))
    assert (leave.kind, join.kind) == (EventKind.LEAVE, EventKind.JOIN)
    group = api.make.chat_member(-100123, "kicked")
    group["my_chat_member"]["chat"] = {"id": -100123, "type": "supergroup", "title": "HTX"}
    assert convert(channel, group) == []
    edited = api.make.update(edited_message=api.make.text(CHAT, "x")["message"])
    assert convert(channel, edited) == []


async def test_files_and_other(channel: TelegramChannel, api: FakeTelegramAPI) -> None:
    update = api.make.document(CHAT, "doc-9", file_name="giay-phep.pdf", file_size=2048,
                               caption="Giấy phép", media_group_id="album-1")  # fmt: skip
    [doc] = convert(channel, update)
    assert doc.kind is EventKind.FILE and doc.text == "Giấy phép"
    assert doc.file == FileRef("doc-9", "u-doc-9", "giay-phep.pdf", "application/pdf", 2048,
                               is_photo=False, album_id="album-1")  # fmt: skip
    update = api.make.photo(CHAT, "ph-7", sizes=((800, 600), (1280, 960), (90, 67)))
    [photo] = convert(channel, update)
    assert photo.file is not None and photo.file.is_photo
    assert (photo.file.file_id, photo.file.size) == ("ph-7", 150_000)
    for make, name in ((api.make.sticker, "sticker"), (api.make.voice, "voice"),
                       (api.make.location, "location")):  # fmt: skip
        [event] = convert(channel, make(CHAT))
        assert (event.kind, event.other) == (EventKind.OTHER, name)


# -- polling --------------------------------------------------------------------------------
async def test_polling_stores_before_the_offset_advances(
    channel: TelegramChannel, api: FakeTelegramAPI, store: Recording, db: Database
) -> None:
    store.fail_before = 1
    ids = api.push(api.make.text(CHAT, "một"), api.make.callback(CHAT, "ab|x"),
                   api.make.text(CHAT, "ba"))  # fmt: skip
    async with polling(channel):
        await api.wait_until(lambda: not api.updates and len(api.answered) == 1)
    assert store.calls[0] == store.calls[1] == [str(i) for i in ids]  # delivered again
    offsets = [c.get("offset") for c in api.get_updates_calls]
    assert offsets[:2] == [None, None]  # not advanced after the failed store
    assert ids[-1] + 1 in offsets
    assert [row.event_id for row in await inbox(db)] == [str(i) for i in ids]


async def test_redelivered_update_is_processed_once(
    channel: TelegramChannel, api: FakeTelegramAPI, store: Recording, engine: Engine,
    db: Database,
) -> None:  # fmt: skip
    store.fail_after = 1  # stored, then "crashed" before the offset moved on
    api.push(api.make.text(CHAT, "chỉ một lần"))
    async with polling(channel):
        await api.wait_until(lambda: not api.updates and len(store.calls) == 2)
    await engine.process_pending()
    assert len(await inbox(db)) == 1
    await sender(db, channel).send_due()
    assert [m.plain for m in api.sent_to(CHAT)] == ["chỉ một lần"]


async def test_conflict_is_logged_and_polling_goes_on(
    channel: TelegramChannel, api: FakeTelegramAPI, db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    api.fail("getUpdates", 409, count=1)
    api.push(api.make.text(CHAT, "hi"))
    with caplog.at_level(logging.ERROR, "bot.channels.telegram"):
        async with polling(channel):
            await api.wait_until(lambda: not api.updates)
    assert "409 Conflict" in caplog.text
    assert len(await inbox(db)) == 1
    assert api.calls["deleteWebhook"] == 1


# -- webhook --------------------------------------------------------------------------------
async def test_webhook_checks_the_secret(
    channel: TelegramChannel, api: FakeTelegramAPI, db: Database
) -> None:
    update = api.make.callback(CHAT, "ab|yes")
    async with webhook(channel) as client:
        missing = await client.post("/telegram/webhook", json=update)
        wrong = await client.post("/telegram/webhook", json=update,
                                  headers={SECRET_HEADER: SECRET[:-1] + "X"})  # fmt: skip
        assert (missing.status, wrong.status) == (401, 401)
        assert await inbox(db) == [] and api.answered == []
        bad = await client.post("/telegram/webhook", data=b"{not json",
                                headers={SECRET_HEADER: SECRET})  # fmt: skip
        assert bad.status == 400
        for _ in range(2):  # Telegram retries: the second copy is a duplicate
            ok = await client.post("/telegram/webhook", json=update,
                                   headers={SECRET_HEADER: SECRET})  # fmt: skip
            assert ok.status == 200
    rows = await inbox(db)
    assert [(r.event_id, r.payload["kind"]) for r in rows] == [
        (str(update["update_id"]), "button")]  # fmt: skip
    await api.wait_until(lambda: len(api.answered) >= 1)
    assert api.answered[0]["callback_query_id"] == update["callback_query"]["id"]


async def test_webhook_delivery_end_to_end(
    channel: TelegramChannel, api: FakeTelegramAPI, db: Database
) -> None:
    app = web.Application()
    channel.webhook_routes(app, SECRET)
    async with TestServer(app) as server:
        await channel.set_webhook(str(server.make_url("/telegram/webhook")), SECRET)
        api.push(api.make.text(CHAT, "qua webhook"), api.make.callback(CHAT, "ab|1"))
        await api.wait_until(lambda: not api.updates and len(api.answered) == 1)
    assert [r.payload["kind"] for r in await inbox(db)] == ["text", "button"]


async def test_set_webhook(channel: TelegramChannel, api: FakeTelegramAPI) -> None:
    await channel.set_webhook("https://bot.example.vn/telegram/webhook", SECRET)
    assert api.webhook is not None
    assert api.webhook["secret_token"] == SECRET
    assert api.webhook["allowed_updates"] == ["message", "callback_query", "my_chat_member"]


# -- sending --------------------------------------------------------------------------------
async def test_user_text_is_escaped(
    channel: TelegramChannel, api: FakeTelegramAPI, engine: Engine, db: Database
) -> None:
    api.push(api.make.text(CHAT, "<b>& 1 < 2 > 0"))
    async with polling(channel):
        await api.wait_until(lambda: not api.updates)
    await engine.process_pending()
    await sender(db, channel).send_due()
    [message] = api.sent_to(CHAT)
    assert message.parse_mode == "HTML" and message.plain == "<b>& 1 < 2 > 0"
    assert message.text == "&lt;b&gt;&amp; 1 &lt; 2 &gt; 0"


async def test_title_and_contact_keyboard(channel: TelegramChannel, api: FakeTelegramAPI) -> None:
    await channel.send(str(CHAT), Reply("Số điện thoại?", title="Bước 2 <của> 5",
                                        contact_button="Gửi số của tôi"))  # fmt: skip
    [message] = api.sent_to(CHAT)
    assert message.text == "<b>Bước 2 &lt;của&gt; 5</b>\nSố điện thoại?"
    assert message.reply_markup == {
        "keyboard": [[{"text": "Gửi số của tôi", "request_contact": True}]],
        "one_time_keyboard": True, "resize_keyboard": True}  # fmt: skip


async def test_keyboard_removal_with_buttons(
    channel: TelegramChannel, api: FakeTelegramAPI
) -> None:
    reply = Reply("Cảm ơn. Nhóm sản phẩm?", buttons=[[Button("Thực phẩm", "ab|food")]],
                  contact_request_over=True)  # fmt: skip
    message_id = await channel.send(str(CHAT), reply)
    [first, second] = api.sent_to(CHAT)  # one reply_markup per message
    assert str(second.message_id) == message_id
    assert first.plain == "Cảm ơn. Nhóm sản phẩm?"
    assert first.reply_markup == {"remove_keyboard": True}
    assert second.inline_keyboard == [[{"text": "Thực phẩm", "callback_data": "ab|food"}]]


async def test_long_text_is_split(
    channel: TelegramChannel, api: FakeTelegramAPI, db: Database
) -> None:
    sentence = "Hợp tác xã trà Shan tuyết. " * 30
    paragraphs = [f"Đoạn {i}: {sentence.strip()}" for i in range(14)]
    text = "\n\n".join(paragraphs)
    await queue(db, Reply(text, title="Hồ sơ", buttons=[[Button("OK", "ab|ok")]]))
    await sender(db, channel).send_due()
    messages = api.sent_to(CHAT)
    assert len(messages) >= 3
    assert all(len(m.plain) <= 4096 for m in messages)
    assert [m.inline_keyboard is not None for m in messages] == [False] * (len(messages) - 1) + [
        True]  # fmt: skip
    assert messages[0].plain.startswith("Hồ sơ\nĐoạn 0")
    joined = "\n\n".join(m.plain for m in messages).removeprefix("Hồ sơ\n")
    assert joined == text


def test_split_counts_utf16_units_and_cuts_words() -> None:
    emoji = split_text("😀" * 3000)  # 6000 UTF-16 units
    assert [len(p) for p in emoji] == [2048, 952]
    words = split_text(" ".join(["chè"] * 2000))
    assert all(len(p) <= 4096 and not p.endswith(" ") for p in words)
    assert " ".join(words).split() == ["chè"] * 2000


async def test_bad_button_data_is_rejected(channel: TelegramChannel) -> None:
    with pytest.raises(Rejected, match=r"(?i)button_data_invalid"):
        await channel.send(str(CHAT), Reply("x", buttons=[[Button("Dài", "ab|" + "đ" * 40)]]))


async def test_429_is_honoured(
    channel: TelegramChannel, api: FakeTelegramAPI, db: Database
) -> None:
    api.fail_sends(429, retry_after=1, chat_id=CHAT)
    await queue(db, Reply("Kết quả đánh giá"))
    stop = asyncio.Event()
    task = asyncio.create_task(sender(db, channel).run(stop))
    try:
        await api.wait_sent(CHAT, 1, timeout=5)
    finally:
        stop.set()
        await task
    (first, _, status), (second, _, ok) = api.send_attempts
    assert (status, ok) == (429, 200)
    assert second - first >= 0.95


async def test_the_flood_limit_is_honoured_each_message_once_in_order(
    channel: TelegramChannel, api: FakeTelegramAPI, db: Database
) -> None:
    api.limit(global_per_second=30, per_chat_per_second=1)  # Telegram's, with no burst
    for text in ("một", "hai", "ba"):
        await queue(db, Reply(text))
    stop = asyncio.Event()
    task = asyncio.create_task(sender(db, channel).run(stop))  # tries three at once
    try:
        await api.wait_sent(CHAT, 3, timeout=8)
        await asyncio.sleep(0.3)  # nothing more comes
    finally:
        stop.set()
        await task
    assert [m.plain for m in api.sent_to(CHAT)] == ["một", "hai", "ba"]
    assert api.too_many >= 1  # the fake did refuse, and the sender waited its retry_after
    assert api.busiest(1.0, CHAT) == 1
    async with db.sessions() as session:
        rows = (await session.execute(select(OutboxMessage.status, OutboxMessage.attempts))).all()
    assert [tuple(r) for r in rows] == [("sent", 1)] * 3  # a 429 spends no attempt


async def test_403_marks_the_user_blocked(
    channel: TelegramChannel, api: FakeTelegramAPI, engine: Engine, db: Database
) -> None:
    api.push(api.make.text(CHAT, "một"), api.make.text(CHAT, "hai"))
    async with polling(channel):
        await api.wait_until(lambda: not api.updates)
    await engine.process_pending()
    api.block(CHAT)
    send = sender(db, channel)
    assert await send.send_due() == 1
    assert await send.send_due() == 0
    assert [status for _, _, status in api.send_attempts] == [403]
    async with db.sessions() as session:
        identity = await session.scalar(select(ChannelIdentity))
        assert identity is not None and identity.blocked_at is not None
        statuses = (await session.scalars(select(OutboxMessage.status))).all()
        assert statuses == ["failed", "failed"]
        assert await session.scalar(select(func.count()).select_from(InboxEvent)) == 2


# -- files ----------------------------------------------------------------------------------
async def test_download(channel: TelegramChannel, api: FakeTelegramAPI) -> None:
    content = bytes(range(256)) * 400
    file = api.add_file(content)
    assert await channel.download(FileRef(file.file_id, size=len(content)), 200_000) == content


async def test_download_over_the_limit_is_refused_before_download(
    channel: TelegramChannel, api: FakeTelegramAPI
) -> None:
    file = api.add_file(b"x" * 5000)
    with pytest.raises(FileTooLarge):
        await channel.download(FileRef(file.file_id, size=5000), 1000)
    assert api.calls["getFile"] == 0
    with pytest.raises(FileTooLarge):  # size unknown in the update: getFile tells
        await channel.download(FileRef(file.file_id), 1000)
    liar = api.add_file(b"y" * 5000, size=10)  # getFile under-reports: stopped while streaming
    with pytest.raises(FileTooLarge):
        await channel.download(FileRef(liar.file_id), 1000)


async def test_download_failing_half_way(channel: TelegramChannel, api: FakeTelegramAPI) -> None:
    file = api.add_file(b"z" * 300_000, fail_after=100_000)
    with pytest.raises(DownloadError) as info:
        await channel.download(FileRef(file.file_id), 1_000_000)
    assert not isinstance(info.value, FileTooLarge)
    assert api.token not in str(info.value)
    with pytest.raises(DownloadError):
        await channel.download(FileRef("no-such-file"), 1_000_000)
