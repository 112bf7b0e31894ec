"""Replies that carry a file, through the real wire: outbox rows in a SQLite file, the real
Sender and Telegram adapter (python-telegram-bot), the fake Bot API over HTTP, blobs on disk."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels.telegram import TelegramChannel
from bot.channels.terminal import TerminalChannel
from bot.sender import Sender
from bot.vocabulary import Attachment, Button, Reply
from storage.blobs import BlobRef, LocalBlobStore
from storage.clock import utcnow
from storage.db import Database
from storage.models import OutboxMessage
from tests.fakes.telegram_api import FakeTelegramAPI, SentMessage

CHATS = (5_200_000_001, 5_200_000_002, 5_200_000_003)
CHAT = CHATS[0]
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(200)) * 20 + b"\xff\xd9"
BUTTONS = [[Button("Đã đọc", "ab|read")], [Button("Xem", "", url="https://ocop.example.vn/r/1")]]
INLINE = [[{"text": "Đã đọc", "callback_data": "ab|read"}],
          [{"text": "Xem", "url": "https://ocop.example.vn/r/1"}]]  # fmt: skip


class NoStore:
    async def store(self, events: object) -> int:
        return 0

    async def park(self, channel: str, updates: object) -> int:
        return 0


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as server:
        for chat in CHATS:
            server.add_chat(chat)
        yield server


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
async def channel(api: FakeTelegramAPI, blobs: LocalBlobStore) -> AsyncIterator[TelegramChannel]:
    async with TelegramChannel(api.token, api.url, NoStore(), blobs=blobs) as tg:
        yield tg


async def pdf(blobs: LocalBlobStore, name: str = "huong-dan-vong-2027.pdf") -> Attachment:
    ref = await blobs.put(PDF)
    return Attachment(ref.sha256, name, "application/pdf")


async def queue(db: Database, reply: Reply, *chats: int) -> None:
    async with db.transaction() as session:
        for chat in chats or (CHAT,):
            row = OutboxMessage(channel="telegram", chat_id=str(chat), payload=reply.to_json(),
                                next_attempt_at=utcnow())  # fmt: skip
            session.add(row)


async def outbox(db: Database) -> list[tuple[str, str, str | None]]:
    """(chat, status, failure reason) of every outbox row, in order."""
    async with db.sessions() as session:
        rows = await session.execute(select(OutboxMessage.chat_id, OutboxMessage.status,
            OutboxMessage.failure_reason).order_by(OutboxMessage.id))  # fmt: skip
        return [(chat, str(status), reason) for chat, status, reason in rows]


def sender(db: Database, channel: TelegramChannel) -> Sender:
    return Sender(db, {"telegram": channel}, poll_interval=0.05, per_chat_burst=10)


async def run_sender(db: Database, channel: TelegramChannel, api: FakeTelegramAPI,
                     messages: int) -> list[SentMessage]:  # fmt: skip
    """The sender running until ``messages`` went out (and a moment more, for any repeat)."""
    stop = asyncio.Event()
    task = asyncio.create_task(sender(db, channel).run(stop))
    try:
        await api.wait_sent(None, messages, timeout=10)
        await asyncio.sleep(1.2)  # a repeat would come within a retry_after (1 s)
    finally:
        stop.set()
        await task
    return api.sent_to(None)


async def test_a_pdf_with_a_short_text_goes_as_one_document_with_caption_and_buttons(
    api: FakeTelegramAPI, channel: TelegramChannel, blobs: LocalBlobStore, db: Database
) -> None:
    attachment = await pdf(blobs)
    reply = Reply("Hướng dẫn vòng 2027 <đính kèm> & hạn nộp 30/6.", title="Thông báo",
                  buttons=BUTTONS, attachment=attachment)  # fmt: skip
    await queue(db, reply)
    assert await sender(db, channel).send_due() == 1
    [message] = api.sent_to(CHAT)
    assert message.kind == "document" and message.file is not None
    assert message.file.uploaded and message.file.content == PDF
    assert (message.file.name, message.file.mime_type) == (
        "huong-dan-vong-2027.pdf", "application/pdf")  # fmt: skip
    assert message.plain == "Thông báo\nHướng dẫn vòng 2027 <đính kèm> & hạn nộp 30/6."
    assert message.text.startswith("<b>Thông báo</b>\n")
    assert "&lt;đính kèm&gt; &amp;" in message.text  # escaped for parse_mode HTML
    assert message.inline_keyboard == INLINE
    assert api.calls["sendMessage"] == 0
    assert await outbox(db) == [(str(CHAT), "sent", None)]


async def test_a_text_over_the_caption_limit_goes_as_the_file_then_the_text_in_order(
    api: FakeTelegramAPI, channel: TelegramChannel, blobs: LocalBlobStore, db: Database
) -> None:
    attachment = await pdf(blobs)
    text = "Nội dung thông báo. " * 60  # 1,200 characters: over 1,024
    await queue(db, Reply(text.strip(), buttons=BUTTONS, attachment=attachment))
    await sender(db, channel).send_due()
    file, message = api.sent_to(CHAT)
    assert file.kind == "document" and file.plain == "huong-dan-vong-2027.pdf"
    assert file.reply_markup is None
    assert message.kind == "text" and message.plain == text.strip()
    assert message.inline_keyboard == INLINE
    assert message.at >= file.at


async def test_the_caption_limit_is_counted_in_utf16_units(
    api: FakeTelegramAPI, channel: TelegramChannel, blobs: LocalBlobStore
) -> None:
    attachment = await pdf(blobs)
    await channel.send(str(CHAT), Reply("é" * 1024, attachment=attachment))  # 1,024 units
    await channel.send(str(CHAT), Reply("😀" * 600, attachment=attachment))  # 1,200 units
    fits, file, rest = api.sent_to(CHAT)
    assert (fits.kind, fits.plain) == ("document", "é" * 1024)
    assert (file.kind, file.plain) == ("document", "huong-dan-vong-2027.pdf")
    assert (rest.kind, rest.plain) == ("text", "😀" * 600)


async def test_the_file_is_uploaded_once_and_the_next_recipients_get_it_by_file_id(
    api: FakeTelegramAPI, channel: TelegramChannel, blobs: LocalBlobStore, db: Database
) -> None:
    attachment = await pdf(blobs)
    await queue(db, Reply("Hướng dẫn vòng 2027.", attachment=attachment), *CHATS)
    assert await sender(db, channel).send_due() == 3  # the three chats side by side
    assert len(api.uploads) == 1 and api.uploads[0].content == PDF
    sent = {m.chat_id: m.file for m in api.sent}
    assert set(sent) == set(CHATS)
    assert sorted(f.uploaded for f in sent.values() if f) == [False, False, True]
    assert {f.file_id for f in sent.values() if f} == {api.uploads[0].file_id}
    await queue(db, Reply("Nhắc lại.", attachment=attachment), CHAT)  # later: still by file_id
    await sender(db, channel).send_due()
    assert len(api.uploads) == 1 and api.calls["sendDocument"] == 4


async def test_a_refused_file_id_is_forgotten_and_the_file_uploaded_again_once(
    api: FakeTelegramAPI, channel: TelegramChannel, blobs: LocalBlobStore, db: Database
) -> None:
    attachment = await pdf(blobs)
    reply = Reply("Hướng dẫn vòng 2027.", attachment=attachment)
    await queue(db, reply, CHATS[0])
    await sender(db, channel).send_due()
    [first] = api.uploads
    api.forget_file(first.file_id)  # Telegram no longer knows it
    await queue(db, reply, CHATS[1], CHATS[2])
    await sender(db, channel).send_due()
    assert [u.file_id for u in api.uploads] == [first.file_id, api.uploads[1].file_id]
    second = api.uploads[1].file_id
    assert second != first.file_id and api.uploads[1].content == PDF
    # refused once (by the stale id), then one upload; the other chat waited for it or used it
    assert api.calls["sendDocument"] in (4, 5)
    assert [(m.chat_id, m.kind) for m in api.sent[1:]] in (
        [(CHATS[1], "document"), (CHATS[2], "document")],
        [(CHATS[2], "document"), (CHATS[1], "document")],
    )
    assert all(m.file and m.file.file_id == second for m in api.sent[1:])
    assert [status for _, status, _ in await outbox(db)] == ["sent"] * 3


async def test_a_refused_file_id_is_uploaded_again_only_once(
    api: FakeTelegramAPI, channel: TelegramChannel, blobs: LocalBlobStore, db: Database
) -> None:
    attachment = await pdf(blobs)
    await channel.send(str(CHAT), Reply("Một.", attachment=attachment))
    api.fail("sendDocument", 400, count=2,
             description="Bad Request: wrong file identifier/HTTP URL specified")  # fmt: skip
    await queue(db, Reply("Hai.", attachment=attachment))
    await sender(db, channel).send_due()  # the file_id refused, then the upload: no loop
    [(_, status, reason)] = await outbox(db)
    assert status == "failed" and reason is not None and "wrong file identifier" in reason.lower()
    assert api.calls["sendDocument"] == 3 and len(api.uploads) == 1


async def test_a_missing_or_damaged_blob_fails_that_message_and_the_sender_goes_on(
    api: FakeTelegramAPI, channel: TelegramChannel, blobs: LocalBlobStore, db: Database
) -> None:
    missing = Attachment(BlobRef.of(b"never stored").sha256, "mat.pdf", "application/pdf")
    damaged = await pdf(blobs, "hong.pdf")
    blobs.path_for(damaged.sha256).write_bytes(PDF[:-1] + b"?")  # the disk changed it
    await queue(db, Reply("Có tệp.", attachment=missing), CHATS[0])
    await queue(db, Reply("Có tệp hỏng.", attachment=damaged), CHATS[1])
    await queue(db, Reply("Tin tiếp theo."), CHATS[0])
    await queue(db, Reply("Tin khác."), CHATS[2])
    send = sender(db, channel)
    await send.send_due()
    await send.send_due()  # the chat's next message, after the one that failed
    rows = await outbox(db)
    assert rows[0][:2] == (str(CHATS[0]), "failed") and "mat.pdf" in (rows[0][2] or "")
    assert "not in the blob store" in (rows[0][2] or "")
    assert rows[1][:2] == (str(CHATS[1]), "failed") and "failed verification" in (rows[1][2] or "")
    assert [r[1] for r in rows[2:]] == ["sent", "sent"]
    assert sorted(m.plain for m in api.sent) == ["Tin khác.", "Tin tiếp theo."]
    assert api.calls["sendDocument"] == 0


async def test_a_jpeg_goes_as_a_photo_with_its_caption(
    api: FakeTelegramAPI, channel: TelegramChannel, blobs: LocalBlobStore, db: Database
) -> None:
    ref = await blobs.put(JPEG)
    poster = Attachment(ref.sha256, "poster.jpg", "image/jpeg")
    await queue(db, Reply("Áp phích hội chợ OCOP.", buttons=BUTTONS, attachment=poster),
                CHATS[0], CHATS[1])  # fmt: skip
    await sender(db, channel).send_due()
    first, second = sorted(api.sent, key=lambda m: not (m.file and m.file.uploaded))
    assert (first.kind, second.kind) == ("photo", "photo")
    assert first.file is not None and first.file.content == JPEG and first.file.uploaded
    assert second.file is not None and not second.file.uploaded
    assert first.plain == "Áp phích hội chợ OCOP." and first.inline_keyboard == INLINE
    assert api.calls["sendPhoto"] == 2 and api.calls["sendDocument"] == 0


async def test_a_file_with_a_keyboard_change_and_buttons_carries_the_keyboard(
    api: FakeTelegramAPI, channel: TelegramChannel, blobs: LocalBlobStore
) -> None:
    attachment = await pdf(blobs)
    reply = Reply("Cảm ơn. Hướng dẫn kèm theo.", buttons=BUTTONS, contact_request_over=True,
                  attachment=attachment)  # fmt: skip
    await channel.send(str(CHAT), reply)
    file, text = api.sent_to(CHAT)
    assert file.kind == "document" and file.reply_markup == {"remove_keyboard": True}
    assert text.plain == "Cảm ơn. Hướng dẫn kèm theo." and text.inline_keyboard == INLINE


async def test_a_file_and_text_refused_half_way_sends_only_the_text_on_retry(
    api: FakeTelegramAPI, channel: TelegramChannel, blobs: LocalBlobStore, db: Database
) -> None:
    api.limit(per_chat_per_second=1)  # Telegram's limit to one chat, no burst
    attachment = await pdf(blobs)
    text = "Nội dung thông báo dài. " * 60
    await queue(db, Reply(text.strip(), attachment=attachment))
    sent = await run_sender(db, channel, api, 2)
    assert [m.kind for m in sent] == ["document", "text"]
    assert api.too_many >= 1  # the text was refused once, after the file went
    assert len(api.uploads) == 1 and api.calls["sendDocument"] == 1
    assert api.busiest(1.0, CHAT) == 1  # documents count against the flood limit too
    assert await outbox(db) == [(str(CHAT), "sent", None)]


async def test_a_channel_that_cannot_send_files_says_so_in_the_text(db: Database) -> None:
    out = io.StringIO()
    terminal = TerminalChannel(out=out, chat_id="1")
    assert not terminal.capabilities.sends_files
    pdf_file = Attachment("a" * 64, "huong-dan.pdf", "application/pdf")
    async with db.transaction() as session:
        for locale in ("en", "vi"):
            reply = Reply("Hướng dẫn vòng 2027.", attachment=pdf_file, locale=locale)
            session.add(OutboxMessage(channel="terminal", chat_id="1", payload=reply.to_json(),
                                      next_attempt_at=utcnow()))  # fmt: skip
    send = Sender(db, {"terminal": terminal}, poll_interval=0.05, per_chat_burst=10)
    await send.send_due()
    english, vietnamese = out.getvalue().split("Hướng dẫn vòng 2027.\n")[1:]
    assert english.strip() == (
        "(This message came with a file, huong-dan.pdf, that this chat cannot show. "
        "Ask your commune office for it.)"
    )
    assert "huong-dan.pdf" in vietnamese and "anh/chị" in vietnamese.lower()
    assert "This message" not in vietnamese and "bạn" not in vietnamese.split()
    async with db.sessions() as session:
        statuses = (await session.scalars(select(OutboxMessage.status))).all()
    assert statuses == ["sent", "sent"]


def test_an_attachment_survives_the_outbox_and_old_payloads_still_load() -> None:
    poster = Attachment("b" * 64, "áp phích.png", "image/png")
    reply = Reply("Hội chợ", buttons=BUTTONS, attachment=poster, locale="vi")
    assert Reply.from_json(reply.to_json()) == reply
    assert poster.is_photo and not Attachment("c" * 64, "a.pdf", "application/pdf").is_photo
    old = {"text": "Cũ", "title": "", "buttons": [], "contact_button": "", "locale": "vi"}
    assert Reply.from_json(old).attachment is None
    assert "attachment" not in Reply("Không tệp").to_json()  # payloads without one unchanged
