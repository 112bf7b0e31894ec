"""The Zalo OA adapter against the fake OA API, over real HTTP both ways (the fake POSTs signed
webhook calls to the adapter's route; the adapter calls the fake), with a real SQLite inbox."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.channels.base import (
    DownloadError,
    FileTooLarge,
    OutsideWindow,
    Rejected,
    RetryLater,
    SendError,
    TransientError,
    Unreachable,
)
from bot.channels.zalo_oa import WEBHOOK_PATH, AccessTokens, ZaloOAChannel
from bot.channels.zalo_oa_events import event_id_of, normalise_phone, signature_variants
from bot.engine import Engine
from bot.flow import FlowRegistry, StepContext
from bot.sender import Sender
from bot.vocabulary import Attachment, Button, Event, EventKind, FileRef, Reply
from storage.blobs import LocalBlobStore
from storage.clock import ManualClock
from storage.db import Database
from storage.models import InboxEvent, OutboxMessage
from storage.states import InboxStatus, OutboxStatus
from tests.fakes.zalo_oa_api import APP_ID, APP_SECRET, OA_SECRET, FakeZaloOA
from tests.rigs.zalo_oa import fake_oa, token_keeper

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200 + b"\xff\xd9"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


async def echo(ctx: StepContext) -> None:
    """A stand-in flow: answers every event with what it understood."""
    e = ctx.event
    ctx.say(e.text if e.kind is EventKind.TEXT else f"got {e.kind} {e.payload}".strip())


class Recording:
    """The engine's inbox, able to fail once after the real insert (a crash before the 200)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.fail_after = 0
        self.calls: list[list[str]] = []

    async def store(self, events: Sequence[Event]) -> int:
        self.calls.append([e.event_id for e in events])
        new = await self.engine.store(events)
        if self.fail_after:
            self.fail_after -= 1
            raise RuntimeError("crashed after the insert")
        return new

    async def park(self, channel: str, updates: Sequence[tuple[str, str, dict[str, Any]]]) -> int:
        return await self.engine.park(channel, updates)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))  # the adapter's and the fake's (uploads, window)


@pytest.fixture
async def oa(clock: ManualClock) -> AsyncIterator[FakeZaloOA]:
    async with fake_oa(clock=clock) as server:
        yield server


@pytest.fixture
async def tokens(oa: FakeZaloOA, db: Database, clock: ManualClock) -> AsyncIterator[AccessTokens]:
    keeper = token_keeper(oa, db, clock)
    yield keeper
    await keeper.close()


@pytest.fixture
def engine(db: Database) -> Engine:
    return Engine(db, FlowRegistry(), echo)


@pytest.fixture
def store(engine: Engine) -> Recording:
    return Recording(engine)


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def make_channel(oa: FakeZaloOA, tokens: AccessTokens, store: Recording, blobs: LocalBlobStore,
                 clock: ManualClock, which: str = "oa") -> ZaloOAChannel:  # fmt: skip
    variants = signature_variants(which, OA_SECRET, APP_SECRET)
    return ZaloOAChannel(APP_ID, oa.url, tokens, store, signature_variants=variants,
                         blobs=blobs, clock=clock)  # fmt: skip


@pytest.fixture
async def channel(
    oa: FakeZaloOA,
    tokens: AccessTokens,
    store: Recording,
    blobs: LocalBlobStore,
    clock: ManualClock,
) -> AsyncIterator[ZaloOAChannel]:
    zalo = make_channel(oa, tokens, store, blobs, clock)
    app = web.Application()
    zalo.routes(app)
    async with TestServer(app) as server:
        oa.webhook_url = str(server.make_url(WEBHOOK_PATH))
        yield zalo
    await zalo.shutdown()


async def inbox(db: Database) -> list[InboxEvent]:
    async with db.sessions() as session:
        return list((await session.scalars(select(InboxEvent).order_by(InboxEvent.id))).all())


def sender(db: Database, channel: ZaloOAChannel) -> Sender:
    return Sender(db, {"zalo_oa": channel}, poll_interval=0.05, per_chat_burst=10)


# -- the webhook: signatures ----------------------------------------------------------------
async def test_forged_or_missing_signatures_are_refused_and_logged(
    channel: ZaloOAChannel, oa: FakeZaloOA, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    user = oa.add_user()
    event = oa.make.text(user, "xin chào")
    with caplog.at_level(logging.WARNING, "bot.channels.zalo_oa"):
        assert await oa.post(event, signature="mac=" + "0" * 64) == 401
        assert await oa.post(event, signature=None) == 401
        body = json.dumps(event).encode()
        app_signed = oa.signature_for(body, event["timestamp"], APP_SECRET)
        assert await oa.post(event, body=body, signature=app_signed) == 401
        tampered = json.dumps({**event, "timestamp": str(int(event["timestamp"]) + 1)}).encode()
        signed = oa.signature_for(body, event["timestamp"])  # the signature of another body
        assert await oa.post(event, body=tampered, signature=signed) == 401
    assert await inbox(db) == []
    refusals = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(refusals) == 4
    assert all("tried: oa secret key" in r.getMessage() for r in refusals)
    assert "no signature header" in refusals[1].getMessage()
    assert OA_SECRET not in caplog.text and APP_SECRET not in caplog.text
    assert await oa.post(event) == 200  # signed with the OA secret key, as set
    assert [row.event_id for row in await inbox(db)] == [event["message"]["msg_id"]]


@pytest.mark.parametrize(
    ("setting", "signs_with", "accepted"),
    [
        ("oa", "oa", True),
        ("oa", "app", False),
        ("app", "app", True),
        ("app", "oa", False),
        ("both", "oa", True),
        ("both", "app", True),
    ],
)
async def test_each_signature_secret_setting(
    setting: str, signs_with: str, accepted: bool, oa: FakeZaloOA, tokens: AccessTokens,
    store: Recording, blobs: LocalBlobStore, clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    zalo = make_channel(oa, tokens, store, blobs, clock, setting)
    app = web.Application()
    zalo.routes(app)
    oa.signs_with = signs_with
    with caplog.at_level(logging.INFO, "bot.channels.zalo_oa"):
        async with TestServer(app) as server:
            oa.webhook_url = str(server.make_url(WEBHOOK_PATH))
            status = await oa.post(oa.make.text(oa.add_user(), "chào"))
    assert status == (200 if accepted else 401)
    matched = "oa secret key" if signs_with == "oa" else "app secret"
    if accepted:
        assert f"signed with the {matched}" in caplog.text
    else:
        tried = {"oa": "oa secret key", "app": "app secret"}[setting]
        assert f"tried: {tried}" in caplog.text


def test_a_secret_the_setting_names_must_be_set() -> None:
    with pytest.raises(ValueError, match="app secret"):
        signature_variants("both", OA_SECRET, None)
    with pytest.raises(ValueError, match='"oa", "app" or "both"'):
        signature_variants("any", OA_SECRET, APP_SECRET)


async def test_bodies_zalo_would_never_send_are_refused(
    channel: ZaloOAChannel, oa: FakeZaloOA, db: Database
) -> None:
    event = oa.make.text(oa.add_user(), "x")
    assert await oa.post(event, body=b"{not json") == 400
    huge = json.dumps({**event, "padding": "x" * 300_000}).encode()
    assert await oa.post(event, body=huge) == 413
    assert await inbox(db) == []


# -- the webhook: storing and deduplicating -------------------------------------------------
async def test_a_call_zalo_sends_again_is_processed_once(
    channel: ZaloOAChannel, oa: FakeZaloOA, store: Recording, engine: Engine, db: Database
) -> None:
    user = oa.add_user()
    store.fail_after = 1  # stored, then "crashed" before answering 200
    event = oa.make.text(user, "chỉ một lần")
    assert await oa.push(event) == 500
    await oa.idle()  # Zalo sent it again and got 200
    assert [status for _name, status in oa.deliveries] == [500, 200]
    assert len(store.calls) == 2
    rows = await inbox(db)
    assert [row.event_id for row in rows] == [event["message"]["msg_id"]]
    await engine.process_pending()
    await sender(db, channel).send_due()
    assert [m.plain for m in oa.sent_to(user)] == ["chỉ một lần"]


async def test_each_event_kind(channel: ZaloOAChannel, oa: FakeZaloOA, db: Database) -> None:
    user = "9007199254740993"  # 2**53 + 1: a float would make it ...992
    oa.add_user(user)
    make = oa.make
    cdn = oa.add_file(PDF, "giay-phep.pdf")
    events = [
        make.text(user, "Xin chào"),
        make.text(user, "/Start ref_42 more"),
        make.text(user, "#b:a1b2c3|group:food"),
        make.image(user, oa.add_file(JPEG, "anh.jpg"), text="Ảnh sản phẩm"),
        make.file(user, cdn, "giay-phep.pdf", 2048, "pdf"),
        make.location(user),
        make.sticker(user),
        make.follow(user),
        make.unfollow(user),
        make.submit_info(user, "84912345678", name="Nguyễn Thị Lan"),
        make.received(user),
        make.seen(user),
        make.envelope("oa_send_text", user, message={"msg_id": make.msg_id(), "text": "x"}),
    ]
    for event in events:
        assert await oa.post(event) == 200
    rows = await inbox(db)
    assert len(rows) == 10  # receipts and the OA's own message are dropped
    got = [Event.from_json(row.payload) for row in rows]
    assert {e.chat_id for e in got} == {user} and {e.user_id for e in got} == {user}
    assert [e.event_id for e in got[:7]] == [ev["message"]["msg_id"] for ev in events[:7]]
    assert [e.seq for e in got] == [int(ev["timestamp"]) for ev in events[:10]]
    text, command, button, image, file, location, sticker, join, leave, contact = got
    assert (text.kind, text.text, text.locale_hint) == (EventKind.TEXT, "Xin chào", None)
    assert (command.kind, command.command, command.text) == (
        EventKind.COMMAND, "start", "ref_42 more")  # fmt: skip
    assert (button.kind, button.signature, button.payload) == (
        EventKind.BUTTON, "a1b2c3", "group:food")  # fmt: skip
    assert image.kind is EventKind.FILE and image.text == "Ảnh sản phẩm"
    assert image.file is not None and image.file.is_photo
    assert image.file.file_id == events[3]["message"]["attachments"][0]["payload"]["url"]
    assert file.file == FileRef(cdn, file.file.unique_id if file.file else "", "giay-phep.pdf",
                                "application/pdf", 2048)  # fmt: skip
    assert (location.kind, location.other) == (EventKind.OTHER, "location")
    assert (sticker.kind, sticker.other) == (EventKind.OTHER, "sticker")
    assert (join.kind, leave.kind) == (EventKind.JOIN, EventKind.LEAVE)
    assert join.event_id == f"follow:{events[7]['timestamp']}:{user}"
    assert (contact.kind, contact.phone, contact.phone_is_own) == (
        EventKind.CONTACT, "+84912345678", True)  # fmt: skip
    assert contact.display_name == "Nguyễn Thị Lan"
    oa.add_user(user)  # following again
    await channel.send(user, Reply("Đã nhận"))
    assert [m.user_id for m in oa.sent_to(user)] == [user]  # the id went out as it came


async def test_an_event_that_cannot_be_read_is_parked(
    channel: ZaloOAChannel, oa: FakeZaloOA, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    event = oa.make.text(oa.add_user(), "bí mật")
    del event["sender"]
    with caplog.at_level(logging.WARNING, "bot.channels.zalo_oa"):
        assert await oa.post(event) == 200  # Zalo would only send it again
        assert await oa.post(event) == 200
    [row] = await inbox(db)
    assert row.status == InboxStatus.PARKED and row.error == "user_send_text: no user id"
    assert "bí mật" not in caplog.text


def test_event_ids_fit_the_inbox() -> None:
    body = {"event_name": "user_submit_info", "timestamp": "1" * 30, "sender": {"id": "9" * 60}}
    key = event_id_of(body)
    assert len(key) <= 80 and key == event_id_of(dict(body))  # the same call, the same key
    assert key != event_id_of({**body, "timestamp": "1" * 31})
    short = {**body, "timestamp": "1732946400000", "sender": {"id": "7000000000000000001"}}
    assert event_id_of(short) == "user_submit_info:1732946400000:7000000000000000001"


def test_phone_numbers_from_zalo_profiles() -> None:
    assert normalise_phone("84912345678") == "+84912345678"
    assert normalise_phone("+84 912 345 678") == "+84912345678"
    assert normalise_phone("0912345678") == "0912345678"


# -- sending --------------------------------------------------------------------------------
async def test_long_text_is_split_with_the_title_first_and_buttons_last(
    channel: ZaloOAChannel, oa: FakeZaloOA, db: Database
) -> None:
    user = oa.add_user()
    sentence = "Hợp tác xã trà Shan tuyết. " * 20
    text = "\n\n".join(f"Đoạn {i}: {sentence.strip()}" for i in range(9))
    await channel.send(user, Reply(text, title="Hồ sơ", buttons=[[Button("OK", "ab|ok")]]))
    messages = oa.sent_to(user)
    assert len(messages) >= 3 and all(len(m.plain) <= 2000 for m in messages)
    assert [bool(m.buttons) for m in messages] == [False] * (len(messages) - 1) + [True]
    assert messages[0].plain.startswith("Hồ sơ\nĐoạn 0")
    assert "\n\n".join(m.plain for m in messages).removeprefix("Hồ sơ\n") == text


async def test_buttons_round_trip_and_too_many_become_a_list(
    channel: ZaloOAChannel, oa: FakeZaloOA, db: Database
) -> None:
    user = oa.add_user()
    long_label = "Hộ kinh doanh có đăng ký kinh doanh theo quy định"
    reply = Reply("Chọn loại hình", buttons=[[Button("Hợp tác xã", "c0ffee|coop"),
                  Button(long_label, "c0ffee|household")],
                  [Button("Xem hướng dẫn", "", url="https://ocop.gov.vn/huong-dan")]])  # fmt: skip
    await channel.send(user, reply)
    [message] = oa.sent_to(user)
    assert [(b.type, b.title) for b in message.buttons] == [
        ("oa.query.hide", "Hợp tác xã"), ("oa.query.hide", long_label[:34] + "…"),
        ("oa.open.url", "Xem hướng dẫn")]  # fmt: skip
    assert message.buttons[2].payload == {"url": "https://ocop.gov.vn/huong-dan"}
    tapped = message.buttons[1].payload
    assert tapped == "#b:c0ffee|household"
    assert await oa.post(oa.make.text(user, tapped)) == 200
    [row] = await inbox(db)
    assert (row.payload["kind"], row.payload["signature"], row.payload["payload"]) == (
        "button", "c0ffee", "household")  # fmt: skip
    many = Reply("Tỉnh?", buttons=[[Button(f"Tỉnh {i}", f"ab|{i}")] for i in range(6)])
    await channel.send(user, many)
    listed = oa.sent_to(user)[-1]
    assert listed.buttons == [] and "1. Tỉnh 0" in listed.plain and "6. Tỉnh 5" in listed.plain


async def test_the_phone_question_sends_a_request_card(
    channel: ZaloOAChannel, oa: FakeZaloOA, db: Database
) -> None:
    user = oa.add_user()
    reply = Reply("Số điện thoại của anh/chị?", title="Bước 6/9", locale="vi",
                  buttons=[[Button("Quay lại", "ab|back")]],
                  contact_button="📱 Gửi số điện thoại của tôi")  # fmt: skip
    await channel.send(user, reply)
    question, card = oa.sent_to(user)
    assert question.plain == "Bước 6/9\nSố điện thoại của anh/chị?"
    assert question.labels() == ["Quay lại"]
    assert card.kind == "request_user_info" and card.card is not None
    assert card.card["title"] == "📱 Gửi số điện thoại của tôi"
    assert "Zalo" in card.card["subtitle"]
    assert await oa.post(oa.make.submit_info(user, "84912345678")) == 200
    [row] = await inbox(db)
    assert (row.payload["kind"], row.payload["phone"]) == ("contact", "+84912345678")


# -- files ----------------------------------------------------------------------------------
async def test_a_picture_and_a_pdf_are_uploaded_once_and_named_after(
    channel: ZaloOAChannel, oa: FakeZaloOA, blobs: LocalBlobStore, clock: ManualClock
) -> None:
    user = oa.add_user()
    picture = Attachment((await blobs.put(JPEG)).sha256, "nhan.jpg", "image/jpeg")
    paper = Attachment((await blobs.put(PDF)).sha256, "mau-01.pdf", "application/pdf")
    for _ in range(2):
        await channel.send(user, Reply("Nhãn sản phẩm", attachment=picture))
        await channel.send(user, Reply("Mẫu 01", attachment=paper,
                                       buttons=[[Button("Đã xem", "ab|seen")]]))  # fmt: skip
    assert oa.upload_calls == {"image": 1, "file": 1}
    messages = oa.sent_to(user)
    assert [m.kind for m in messages] == ["image", "file", "text"] * 2
    image, file, text = messages[:3]
    assert image.plain == "Nhãn sản phẩm" and image.upload is not None
    assert image.upload.content == JPEG and image.upload.name == "nhan.jpg"
    assert file.upload is not None and file.upload.content == PDF
    assert (text.plain, text.labels()) == ("Mẫu 01", ["Đã xem"])
    assert messages[3].upload is image.upload and messages[4].upload is file.upload
    # Zalo forgot an upload: uploaded again, once, and sent.
    assert image.upload is not None
    oa.forget_upload(image.upload.id)
    await channel.send(user, Reply("", attachment=picture))
    assert oa.upload_calls["image"] == 2 and oa.sent_to(user)[-1].kind == "image"
    # Kept ids are not named after six days: Zalo keeps them about seven.
    clock.advance(timedelta(days=6, minutes=1).total_seconds())
    oa.add_user(user)  # the user wrote again (the fake's reply window)
    await channel.send(user, Reply("Mẫu 01", attachment=paper))
    assert oa.upload_calls["file"] == 2


async def test_files_zalo_cannot_take_go_as_a_note(
    channel: ZaloOAChannel, oa: FakeZaloOA, blobs: LocalBlobStore,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    user = oa.add_user()
    big = PDF + b"%" * (5 * 1024 * 1024)
    sheet = b"PK\x03\x04" + b"\x00" * 100
    cases = [Attachment((await blobs.put(big)).sha256, "ho-so-day-du.pdf", "application/pdf"),
             Attachment((await blobs.put(sheet)).sha256, "bang-ke.xlsx",
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
             Attachment((await blobs.put(JPEG + b"\x00" * 1024 * 1024)).sha256, "anh.jpg",
                        "image/jpeg")]  # fmt: skip
    with caplog.at_level(logging.INFO, "bot.channels.zalo_oa"):
        for attachment in cases:
            await channel.send(user, Reply("Thông báo", locale="vi", attachment=attachment))
    assert oa.upload_calls == {}
    for message, attachment in zip(oa.sent_to(user), cases, strict=True):
        assert message.kind == "text" and message.plain.startswith("Thông báo\n\n")
        assert attachment.name in message.plain
    assert "over Zalo's 5242880" in caplog.text and "which Zalo does not send" in caplog.text


async def test_a_missing_blob_is_refused(channel: ZaloOAChannel, oa: FakeZaloOA) -> None:
    user = oa.add_user()
    with pytest.raises(Rejected, match="not in the blob store"):
        await channel.send(user, Reply("x", attachment=Attachment("ab" * 32, "a.pdf",
                                                                  "application/pdf")))  # fmt: skip
    assert oa.sent_to(user) == []


# -- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "error"),
    [
        (-32, RetryLater),
        (-213, Unreachable),
        (-217, Unreachable),
        (-244, Unreachable),
        (-230, OutsideWindow),
        (-232, OutsideWindow),
        (-201, Rejected),
        (-999, Rejected),
        (500, TransientError),
        (400, Rejected),
    ],
)
async def test_zalo_errors_are_mapped(
    code: int, error: type[SendError], channel: ZaloOAChannel, oa: FakeZaloOA
) -> None:
    user = oa.add_user()
    oa.fail(code, user_id=user)
    with pytest.raises(error):
        await channel.send(user, Reply("Kết quả đánh giá"))
    assert oa.sent_to(user) == []
    await channel.send(user, Reply("Kết quả đánh giá"))  # the fault was for one call
    assert len(oa.sent_to(user)) == 1


async def test_a_refused_token_is_refreshed_once(
    channel: ZaloOAChannel, oa: FakeZaloOA, clock: ManualClock
) -> None:
    user = oa.add_user()
    await channel.send(user, Reply("Xin chào"))
    clock.advance(300)  # a while later (a token refused at once is not refreshed again)
    oa.expire_tokens()  # the token the bot holds is refused (-216): a fresh one goes through
    refreshes = oa.oauth.refreshes
    await channel.send(user, Reply("Xin chào"))
    assert len(oa.sent_to(user)) == 2 and oa.oauth.refreshes == refreshes + 1
    calls = oa.calls["send"]
    clock.advance(300)
    oa.fail(-216, count=2)  # refused again after the refresh: tried later, not in a loop
    with pytest.raises(TransientError, match="fresh access token"):
        await channel.send(user, Reply("Xin chào"))
    assert oa.calls["send"] - calls == 2 and len(oa.sent_to(user)) == 2
    oa.oauth.revoke()  # the refresh token is refused for good: messages wait, not given up
    clock.advance(300)
    oa.expire_tokens()
    with pytest.raises(RetryLater):
        await channel.send(user, Reply("Xin chào"))


async def test_a_network_error_is_transient(
    tokens: AccessTokens, store: Recording, blobs: LocalBlobStore, clock: ManualClock
) -> None:
    closed = FakeZaloOA()  # never started: nothing listens on its port
    closed.port = 9  # discard: refused at once
    zalo = make_channel(closed, tokens, store, blobs, clock)
    try:
        with pytest.raises(TransientError, match="API call failed"):
            await zalo.send("7000000000000000001", Reply("x"))
    finally:
        await zalo.shutdown()


async def test_a_closed_window_fails_the_message_for_good(
    channel: ZaloOAChannel, oa: FakeZaloOA, engine: Engine, db: Database, clock: ManualClock
) -> None:
    user = oa.add_user()
    assert await oa.push(oa.make.text(user, "Hồ sơ của tôi?")) == 200
    await engine.process_pending()  # our record: the user wrote just now (window open)
    oa.reply_window = timedelta(seconds=30)  # … but Zalo counts differently: for Zalo,
    clock.advance(60)  # the window closed (the adapter's and the fake's clock; not the bot's)
    run = sender(db, channel)
    await run.send_due()
    await run.send_due()
    async with db.sessions() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row is not None and row.status == OutboxStatus.FAILED
    assert (row.failure_reason or "").startswith("outside the reply window: Zalo error -230")
    assert oa.refused == [(user, -230)]  # tried once, never again


async def test_a_reply_sent_in_part_goes_on_where_it_stopped(
    channel: ZaloOAChannel, oa: FakeZaloOA
) -> None:
    user = oa.add_user()
    text = "\n\n".join(f"Đoạn {i}: " + " ".join(["chè Shan tuyết"] * 90) for i in range(3))
    oa.fail(-32, user_id=user, after=1)  # the second of three messages: slow down
    with pytest.raises(RetryLater):
        await channel.send(user, Reply(text))
    assert len(oa.sent_to(user)) == 1
    await channel.send(user, Reply(text))  # the sender's retry sends the rest
    parts = [m.plain for m in oa.sent_to(user)]
    assert len(parts) == 3 and "\n\n".join(parts) == text


# -- downloads ------------------------------------------------------------------------------
async def test_download(channel: ZaloOAChannel, oa: FakeZaloOA) -> None:
    url = oa.add_file(PDF, "giay-phep.pdf")
    assert await channel.download(FileRef(url, size=len(PDF)), 1000) == PDF
    with pytest.raises(FileTooLarge) as declared:
        await channel.download(FileRef(url, size=5000), 1000)
    assert declared.value.size == 5000 and sum(oa.downloads.values()) == 1
    with pytest.raises(FileTooLarge):  # Zalo did not say: the Content-Length does
        await channel.download(FileRef(oa.add_file(b"x" * 2000, "to.pdf")), 1000)
    with pytest.raises(DownloadError, match=r"cut short|failed"):
        await channel.download(FileRef(oa.add_file(PDF * 100, "a.pdf", fail_after=50)), 10**6)
    with pytest.raises(DownloadError, match="HTTP 404"):
        await channel.download(FileRef(f"{oa.url}/cdn/none"), 1000)
    with pytest.raises(DownloadError, match="no web address"):
        await channel.download(FileRef("not-a-url"), 1000)
    assert await channel.working(url) is None  # Zalo OA has no "typing…" to show
