"""The Zalo bot adapter against the fake Zalo Bot Platform, over real HTTP, with a real SQLite
inbox: updates in (polling, webhook), replies out, pictures both ways."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.channels.base import (
    DownloadError,
    FileTooLarge,
    Rejected,
    RetryLater,
    TransientError,
    Unreachable,
)
from bot.channels.zalo_bot import FILES_PATH, SECRET_HEADER, WEBHOOK_PATH, ZaloBotChannel
from bot.engine import Engine
from bot.flow import FlowRegistry, StepContext
from bot.vocabulary import Attachment, Button, Event, EventKind, FileRef, Reply
from storage.blobs import LocalBlobStore
from storage.clock import ManualClock
from storage.db import Database
from storage.models import InboxEvent
from tests.fakes.zalo_bot_api import FakeZaloBotAPI, RateLimit
from tests.files import make_jpeg, make_pdf, make_png
from tests.rigs.listener import Listener

CHAT = "6ede9afa66b88fe6d6a9"  # the platform's ids are strings
SECRET = "zalo-webhook-s3cret"
ONE_A_MINUTE = RateLimit(global_per_second=None, per_chat_per_second=1 / 60, window=60)


async def echo(ctx: StepContext) -> None:
    ctx.say(ctx.event.text or str(ctx.event.kind))


class Recording:
    """An engine wrapper that can fail ``store``; notes the getUpdates calls made by then."""

    def __init__(self, engine: Engine, api: FakeZaloBotAPI) -> None:
        self.engine = engine
        self.api = api
        self.fail = 0
        self.calls: list[tuple[list[str], int]] = []  # (event ids, getUpdates calls so far)

    async def store(self, events: Sequence[Event]) -> int:
        self.calls.append(([e.event_id for e in events], self.api.calls["getUpdates"]))
        if self.fail:
            self.fail -= 1
            raise RuntimeError("database unavailable")
        return await self.engine.store(events)

    async def park(self, channel: str, updates: Sequence[tuple[str, str, dict[str, Any]]]) -> int:
        return await self.engine.park(channel, updates)


@pytest.fixture
async def api() -> AsyncIterator[FakeZaloBotAPI]:
    async with FakeZaloBotAPI() as server:
        server.add_chat(CHAT)
        yield server


@pytest.fixture
def store(db: Database, api: FakeZaloBotAPI) -> Recording:
    return Recording(Engine(db, FlowRegistry(), echo), api)


@pytest.fixture
async def channel(api: FakeZaloBotAPI, store: Recording) -> AsyncIterator[ZaloBotChannel]:
    async with ZaloBotChannel(api.token, api.url, store, poll_timeout=1,
                              backoff=(0.05, 0.2)) as zalo:  # fmt: skip
        yield zalo


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port held (bound, never listening) for the test: connecting to it is refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@contextlib.asynccontextmanager
async def polling(channel: ZaloBotChannel) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(channel.run_polling(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


@contextlib.asynccontextmanager
async def webhook(channel: ZaloBotChannel) -> AsyncIterator[TestClient[Any, Any]]:
    app = web.Application()
    channel.webhook_routes(app, SECRET)
    async with TestClient(TestServer(app)) as client:
        yield client


async def inbox(db: Database) -> list[InboxEvent]:
    async with db.sessions() as session:
        return list((await session.scalars(select(InboxEvent).order_by(InboxEvent.id))).all())


async def wait_for_rows(db: Database, n: int) -> list[InboxEvent]:
    async with asyncio.timeout(5):
        while len(rows := await inbox(db)) < n:
            await asyncio.sleep(0.02)
    return rows


# -- updates → events -----------------------------------------------------------------------
def test_updates_become_events(channel: ZaloBotChannel, api: FakeZaloBotAPI) -> None:
    update = api.make.text(CHAT, "Xin chào", user_id="u-42", name="Lan")
    text = channel.to_event(update)
    assert text is not None
    assert (text.kind, text.text, text.chat_id, text.user_id, text.display_name) == (
        EventKind.TEXT, "Xin chào", CHAT, "u-42", "Lan")  # fmt: skip
    assert text.event_id == f"message.text.received:{update['message']['message_id']}"
    assert text.seq == update["message"]["date"] and text.seq > 10**12  # milliseconds
    command = channel.to_event(api.make.text(CHAT, "/Start ref_42 more"))
    assert command is not None
    assert (command.kind, command.command, command.text) == (
        EventKind.COMMAND, "start", "ref_42 more")  # fmt: skip
    image = channel.to_event(api.make.image(CHAT, "https://cdn.example/p.jpg", "Trang 1"))
    assert image is not None and image.kind is EventKind.FILE and image.text == "Trang 1"
    assert image.file == FileRef("https://cdn.example/p.jpg", is_photo=True)
    for update, other in (
        (api.make.sticker(CHAT), "sticker"),
        (api.make.unsupported(CHAT), "unsupported"),
        (api.make.text(CHAT, "xin chào cả nhóm", group=True), "group"),
        (api.make.image(CHAT, "https://cdn.example/p.jpg", group=True), "group"),
    ):
        event = channel.to_event(update)
        assert event is not None and (event.kind, event.other) == (EventKind.OTHER, other)
    in_seconds = channel.to_event(api.make.text(CHAT, "cũ", date=1_750_316_131))
    assert in_seconds is not None and in_seconds.seq == 1_750_316_131_000
    display = api.make.text(CHAT, "hi")
    display["message"]["from"] = {"id": CHAT, "display_name": "Nguyen Van A"}
    assert (event := channel.to_event(display)) is not None
    assert event.display_name == "Nguyen Van A"
    assert channel.to_event({"event_name": "message.unsupported.received"}) is None


async def test_a_sticker_and_an_unsupported_message_are_answered_politely(
    db: Database, channel: ZaloBotChannel, api: FakeZaloBotAPI
) -> None:
    """What the flows say to events they cannot read (bot/dispatch.py), for this channel's."""
    from bot.app import build_app
    from bot.settings import Settings

    app = build_app(Settings(database_url=db.url), {"zalo_bot": channel}, db=db)
    await app.engine.store([e for u in (api.make.text(CHAT, "Xin chào"),
                                         api.make.sticker(CHAT), api.make.unsupported(CHAT))
                            if (e := channel.to_event(u)) is not None])  # fmt: skip
    stop = asyncio.Event()
    tasks = [asyncio.create_task(app.engine.run(stop)), asyncio.create_task(app.sender.run(stop))]
    try:
        await api.wait_until(
            lambda: sum("không đọc được" in m.plain for m in api.sent) >= 2, timeout=10
        )
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    texts = [m.plain for m in api.sent_to(CHAT)]
    assert any("nhãn dán" in t for t in texts), texts  # "a sticker", in Vietnamese
    sorry = [t for t in texts if "không đọc được" in t]
    assert len(sorry) == 2 and all("số thứ tự" in t and "bấm nút" not in t for t in sorry)


# -- polling --------------------------------------------------------------------------------
async def test_polling_stores_each_update_once_in_the_order_written(
    db: Database, channel: ZaloBotChannel, api: FakeZaloBotAPI
) -> None:
    first = api.make.text(CHAT, "một")
    second = api.make.text(CHAT, "hai")
    api.push(second, first, first)  # redelivered, and arriving out of order
    async with polling(channel):
        await api.wait_until(lambda: not api.updates)
        rows = await wait_for_rows(db, 2)
    assert len(await inbox(db)) == 2
    by_seq = sorted(rows, key=lambda r: r.seq)
    assert [r.payload["text"] for r in by_seq] == ["một", "hai"]
    assert api.calls["deleteWebhook"] >= 1


async def test_polling_takes_a_list_of_updates(
    db: Database, channel: ZaloBotChannel, api: FakeZaloBotAPI
) -> None:
    api.batch = True
    api.push(*(api.make.text(CHAT, str(n)) for n in range(3)))
    async with polling(channel):
        rows = await wait_for_rows(db, 3)
    assert sorted(r.payload["text"] for r in rows) == ["0", "1", "2"]


async def test_polling_asks_for_more_only_once_an_update_is_stored(
    db: Database, channel: ZaloBotChannel, api: FakeZaloBotAPI, store: Recording
) -> None:
    store.fail = 2
    update = api.make.text(CHAT, "đừng mất")
    api.push(update)
    async with polling(channel):
        await wait_for_rows(db, 1)
    assert len(store.calls) >= 3
    tries = [(ids, polls) for ids, polls in store.calls if ids == store.calls[0][0]]
    assert len(tries) == 3
    assert len({polls for _, polls in tries}) == 1  # no getUpdates between the tries


async def test_an_unreadable_update_is_parked_and_the_rest_stored(
    db: Database, channel: ZaloBotChannel, api: FakeZaloBotAPI
) -> None:
    api.push({"event_name": "message.text.received", "message": {"text": "no chat"}})
    api.push(api.make.text(CHAT, "ổn"))
    async with polling(channel):
        rows = await wait_for_rows(db, 2)
    parked = [r for r in rows if r.status == "parked"]
    assert len(parked) == 1 and "no chat id" in (parked[0].error or "")
    assert "no chat" not in (parked[0].error or "").replace("no chat id", "")
    assert [r.payload["text"] for r in rows if r.status == "pending"] == ["ổn"]


# -- webhook --------------------------------------------------------------------------------
async def test_the_webhook_refuses_a_missing_or_forged_secret(
    db: Database, channel: ZaloBotChannel, api: FakeZaloBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    body = api.make.wrapped(api.make.text(CHAT, "giả mạo"))
    async with webhook(channel) as client:
        with caplog.at_level(logging.WARNING):
            missing = await client.post(WEBHOOK_PATH, json=body)
            forged = await client.post(WEBHOOK_PATH, json=body,
                                       headers={SECRET_HEADER: SECRET + "x"})  # fmt: skip
    assert (missing.status, forged.status) == (401, 401)
    assert "missing secret" in caplog.text and "wrong secret" in caplog.text
    assert SECRET not in caplog.text
    assert await inbox(db) == []


async def test_the_webhook_stores_an_update_once(
    db: Database, channel: ZaloBotChannel, api: FakeZaloBotAPI, store: Recording
) -> None:
    update = api.make.text(CHAT, "một lần thôi")
    headers = {SECRET_HEADER: SECRET}
    async with webhook(channel) as client:
        wrapped = await client.post(WEBHOOK_PATH, json=api.make.wrapped(update), headers=headers)
        again = await client.post(WEBHOOK_PATH, json=update, headers=headers)  # flat, again
        store.fail = 1
        failed = await client.post(WEBHOOK_PATH, json=api.make.text(CHAT, "sau"), headers=headers)
        not_json = await client.post(WEBHOOK_PATH, data=b"{not json", headers=headers)
        a_list = await client.post(WEBHOOK_PATH, json=[update], headers=headers)
        huge = await client.post(WEBHOOK_PATH, data=b" " * 300_000, headers=headers)
        odd = await client.post(WEBHOOK_PATH, json={"event_name": 42}, headers=headers)
    assert [r.status for r in (wrapped, again, failed, not_json, a_list, huge, odd)] == [
        200, 200, 500, 400, 400, 413, 200]  # fmt: skip
    rows = await inbox(db)
    assert [(r.status, r.payload.get("text")) for r in rows] == [
        ("pending", "một lần thôi"), ("parked", None)]  # fmt: skip
    assert "no event name" in (rows[1].error or "")


async def test_run_sets_the_webhook_and_the_platform_posts_to_it(
    db: Database, api: FakeZaloBotAPI, store: Recording
) -> None:
    listener = Listener()
    url = listener.url + WEBHOOK_PATH
    zalo = ZaloBotChannel(api.token, api.url, store, webhook=(url, SECRET))
    zalo.routes(listener.app)
    async with listener:
        try:
            await zalo.run(asyncio.Event())
            assert api.webhook is not None and api.webhook["url"] == url
            api.push(api.make.text(CHAT, "qua webhook"))
            rows = await wait_for_rows(db, 1)
            assert rows[0].payload["text"] == "qua webhook" and api.webhook_posts == [200]
            with pytest.raises(Rejected):
                await zalo.set_webhook(url, "short")  # the platform wants 8 to 256 characters
        finally:
            await zalo.shutdown()


# -- replies --------------------------------------------------------------------------------
async def test_long_text_is_split_with_the_title_first(
    channel: ZaloBotChannel, api: FakeZaloBotAPI
) -> None:
    paragraphs = [f"Đoạn {n}: " + "chữ " * 150 for n in range(8)]  # about 4,800 characters
    text = "\n\n".join(paragraphs)
    await channel.send(CHAT, Reply(text, title="Hồ sơ <b>&"))
    sent = api.sent_to(CHAT)
    assert len(sent) == 3 and all(len(m.text) <= 2000 for m in sent)
    assert sent[0].text.startswith("Hồ sơ <b>&\nĐoạn 0:")  # plain text: nothing escaped
    assert "".join(m.text for m in sent).replace("\n", "").replace(" ", "") == (
        f"Hồ sơ <b>&{text}".replace("\n", "").replace(" ", "")
    )


async def test_buttons_become_a_numbered_list(
    channel: ZaloBotChannel, api: FakeZaloBotAPI
) -> None:
    buttons = [[Button("Có", "s|yes"), Button("Không", "s|no")]]
    await channel.send(CHAT, Reply("Tiếp tục?", buttons=buttons, locale="en"))
    assert api.sent_to(CHAT)[-1].text == (
        "Tiếp tục?\n\n1. Có\n2. Không\nReply with the number of your choice."
    )


async def test_errors_are_mapped(channel: ZaloBotChannel, api: FakeZaloBotAPI) -> None:
    hello = Reply("Xin chào")
    api.fail("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryLater) as told:
        await channel.send(CHAT, hello)
    assert told.value.retry_after == 7
    api.fail("sendMessage", 429)
    with pytest.raises(RetryLater) as untold:
        await channel.send(CHAT, hello)
    assert untold.value.retry_after == 5.0
    api.block(CHAT)
    with pytest.raises(Unreachable):
        await channel.send(CHAT, hello)
    api.blocked.clear()
    with pytest.raises(Rejected):
        await channel.send("unknown-chat", hello)
    api.fail("sendMessage", 500)
    with pytest.raises(TransientError):
        await channel.send(CHAT, hello)
    api.limit(ONE_A_MINUTE)
    await channel.send(CHAT, hello)
    with pytest.raises(RetryLater):
        await channel.send(CHAT, hello)  # the fake's flood limit


async def test_a_network_failure_is_transient(store: Recording, closed_port: int) -> None:
    closed = ZaloBotChannel("123:abc", f"http://127.0.0.1:{closed_port}", store)
    try:
        with pytest.raises(TransientError):
            await closed.deliver(CHAT, Reply("Xin chào"))
    finally:
        await closed.shutdown()


async def test_a_reply_sent_in_part_goes_on_where_it_stopped(
    channel: ZaloBotChannel, api: FakeZaloBotAPI
) -> None:
    reply = Reply("\n\n".join("x" * 1500 for _ in range(3)))
    api.limit(ONE_A_MINUTE)
    with pytest.raises(RetryLater):
        await channel.send(CHAT, reply)
    api.limit(None)
    await channel.send(CHAT, reply)
    assert [len(m.text) for m in api.sent_to(CHAT)] == [1500, 1500, 1500]


async def test_the_token_is_never_in_logs_or_errors(
    api: FakeZaloBotAPI, store: Recording, caplog: pytest.LogCaptureFixture
) -> None:
    async with ZaloBotChannel(api.token, api.url, store, poll_timeout=1,
                              backoff=(0.05, 0.2)) as zalo:  # fmt: skip
        errors: list[str] = []
        api.fail("sendMessage", 400, description=f"bad call to /bot{api.token}/sendMessage")
        with caplog.at_level(logging.DEBUG):
            try:
                await zalo.send(CHAT, Reply("x"))
            except Rejected as exc:
                errors.append(str(exc))
            api.fail("getUpdates", 502, count=2, description=f"proxy error for {api.token}")
            async with polling(zalo):
                await api.wait_until(lambda: api.calls["getUpdates"] >= 3)
            await zalo.working("not-a-chat")
    assert errors and "<token>" in errors[0]
    assert "proxy error" in caplog.text
    assert api.token not in caplog.text and api.token not in "".join(errors)
    assert all(api.token in path for path in api.requests)  # it was used, only on the wire


async def test_working_shows_typing_and_never_fails(
    channel: ZaloBotChannel, api: FakeZaloBotAPI
) -> None:
    await channel.working(CHAT)
    await channel.working("unknown-chat")  # refused by the platform: only logged
    assert api.actions == [{"chat_id": CHAT, "action": "typing"}]


# -- pictures in ----------------------------------------------------------------------------
async def test_a_picture_is_downloaded_within_the_limit(
    channel: ZaloBotChannel, api: FakeZaloBotAPI
) -> None:
    photo = make_jpeg()
    assert await channel.download(FileRef(api.add_photo(photo), is_photo=True), 10**6) == photo
    big = b"\xff\xd8\xff" + b"\0" * 300_000
    with pytest.raises(FileTooLarge) as declared:
        await channel.download(FileRef(api.add_photo(big)), 100_000)
    assert declared.value.size == len(big)  # refused by its Content-Length
    with pytest.raises(FileTooLarge) as streamed:
        await channel.download(FileRef(api.add_photo(big, chunked=True)), 100_000)
    assert streamed.value.size is not None and 100_000 < streamed.value.size < len(big)
    with pytest.raises(DownloadError):
        await channel.download(FileRef(api.add_photo(big, fail_after=1000)), 10**6)
    with pytest.raises(DownloadError):
        await channel.download(FileRef(f"{api.url}/cdn/nothing.jpg"), 10**6)
    with pytest.raises(DownloadError):
        await channel.download(FileRef("file:///etc/passwd"), 10**6)


# -- pictures out ---------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def public(
    api: FakeZaloBotAPI, store: Recording, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[tuple[ZaloBotChannel, aiohttp.ClientSession]]:
    """A channel whose pictures are served at its public URL; a client of that server."""
    listener = Listener()
    zalo = ZaloBotChannel(api.token, api.url, store, blobs=LocalBlobStore(tmp_path / "blobs"),
                          public_url=listener.url, clock=clock)  # fmt: skip
    zalo.routes(listener.app)
    async with listener, aiohttp.ClientSession(listener.url) as client:
        try:
            yield zalo, client
        finally:
            await zalo.shutdown()


async def status(client: aiohttp.ClientSession, path: str) -> int:
    async with client.get(path) as response:
        return response.status


async def attachment(zalo: ZaloBotChannel, data: bytes, name: str, mime: str) -> Attachment:
    assert zalo.links is not None
    ref = await zalo.links.blobs.put(data)
    return Attachment(ref.sha256, name, mime)


async def test_a_picture_goes_by_a_signed_address(
    api: FakeZaloBotAPI, store: Recording, tmp_path: Path
) -> None:
    clock = ManualClock()
    async with public(api, store, tmp_path, clock) as (zalo, _client):
        assert zalo.capabilities.sends_files == {"photo"}
        photo = make_png()
        picture = await attachment(zalo, photo, "chung-nhan.png", "image/png")
        await zalo.send(CHAT, Reply("Giấy chứng nhận 4 sao", attachment=picture))
        long_caption = Reply("\n\n".join("y" * 1500 for _ in range(2)), attachment=picture)
        await zalo.send(CHAT, long_caption)
    sent = api.sent_to(CHAT)
    assert [(m.kind, len(m.text)) for m in sent] == [
        ("photo", len("Giấy chứng nhận 4 sao")), ("photo", 1500), ("text", 1500)]  # fmt: skip
    assert sent[0].photo == photo and sent[0].text == "Giấy chứng nhận 4 sao"
    assert sent[0].photo_url is not None and FILES_PATH in sent[0].photo_url


async def test_a_forged_or_expired_address_is_refused(
    api: FakeZaloBotAPI, store: Recording, tmp_path: Path
) -> None:
    clock = ManualClock()
    async with public(api, store, tmp_path, clock) as (zalo, client):
        assert zalo.links is not None
        picture = await attachment(zalo, make_jpeg(), "anh.jpg", "image/jpeg")
        other = await attachment(zalo, make_png(), "khac.png", "image/png")
        pdf = await attachment(zalo, make_pdf(), "ho-so.pdf", "application/pdf")
        url = zalo.links.url_for(picture.sha256)
        path = url.removeprefix(zalo.links.base.removesuffix(FILES_PATH))
        sha, expires, signature = path.removeprefix(FILES_PATH + "/").split("/")
        assert await status(client, path) == 200
        flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
        for forged in (
            f"{FILES_PATH}/{sha}/{expires}/{flipped}",
            f"{FILES_PATH}/{other.sha256}/{expires}/{signature}",
            f"{FILES_PATH}/{sha}/{int(expires) + 86400}/{signature}",
        ):
            assert await status(client, forged) == 403, forged
        pdf_url = zalo.links.url_for(pdf.sha256)
        pdf_path = pdf_url.removeprefix(zalo.links.base.removesuffix(FILES_PATH))
        assert await status(client, pdf_path) == 404  # only pictures go out this way
        clock.advance(timedelta(hours=24, seconds=1).total_seconds())
        assert await status(client, path) == 403  # expired
        assert await status(client, path.replace(sha, "../" + sha[3:])) == 404


async def test_what_cannot_go_as_a_picture_becomes_a_note(
    api: FakeZaloBotAPI, store: Recording, tmp_path: Path
) -> None:
    clock = ManualClock()
    async with public(api, store, tmp_path, clock) as (zalo, _client):
        pdf = await attachment(zalo, make_pdf(), "ho-so.pdf", "application/pdf")
        await zalo.send(CHAT, Reply("Kế hoạch năm", attachment=pdf, locale="en"))
    no_url = ZaloBotChannel(api.token, api.url, store, blobs=LocalBlobStore(tmp_path / "b"))
    try:
        assert no_url.capabilities.sends_files == frozenset()
        jpeg = Attachment("a" * 64, "anh.jpg", "image/jpeg")
        await no_url.send(CHAT, Reply("Ảnh", attachment=jpeg, locale="en"))
    finally:
        await no_url.shutdown()
    sent = api.sent_to(CHAT)
    assert [m.kind for m in sent] == ["text", "text"]
    assert "ho-so.pdf" in sent[0].text and "anh.jpg" in sent[1].text
    assert not api.photo_fetches


async def test_a_missing_blob_is_refused_for_good(
    api: FakeZaloBotAPI, store: Recording, tmp_path: Path, closed_port: int
) -> None:
    missing = Attachment("b" * 64, "x.jpg", "image/jpeg")
    async with public(api, store, tmp_path, ManualClock()) as (zalo, _client):
        with pytest.raises(Rejected):
            await zalo.send(CHAT, Reply("Ảnh", attachment=missing))


async def test_a_closed_port_is_a_download_error(
    channel: ZaloBotChannel, closed_port: int
) -> None:
    with pytest.raises(DownloadError):
        await channel.download(FileRef(f"http://127.0.0.1:{closed_port}/p.jpg"), 1000)
