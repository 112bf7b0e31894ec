"""A producer registers over Zalo OA: the real bot, the fake OA API and signed webhook calls
over HTTP, a real database — the same scenario as on Telegram, through the Zalo rig."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.vocabulary import Reply
from storage.blobs import LocalBlobStore
from storage.models import ChannelIdentity, DocumentFile, OutboxMessage, Producer
from storage.outbox import Outgoing, queue_messages
from storage.states import OutboxStatus
from tests.files import make_jpeg, make_pdf
from tests.handlers.test_documents import handicraft_dossier, open_document, upload
from tests.harness import bot_on, register
from tests.rigs.zalo_oa import ZaloOARig, ZaloPhone


async def test_registration_over_zalo_verifies_the_phone(
    prepared_database: Path, tmp_path: Path
) -> None:
    rig = ZaloOARig()
    async with bot_on("sqlite", prepared_database, tmp_path, rig=rig) as bot:
        phone = bot.producer(11)
        assert isinstance(phone, ZaloPhone)
        await register(phone, confirm=True)
        cards = [m for m in phone.messages() if m.kind == "request_user_info"]
        assert len(cards) == 1  # the phone question asked with Zalo's own card
        assert any("đăng ký" in m.plain for m in phone.messages()[-3:])
        async with bot.db.sessions() as session:
            producer = await session.scalar(select(Producer))
            identity = await session.scalar(
                select(ChannelIdentity).where(ChannelIdentity.channel == "zalo_oa")
            )
        assert producer is not None and identity is not None
        assert (producer.phone, producer.phone_verified) == ("+84912345678", True)
        assert identity.chat_id == phone.user  # the OA-scoped id, as text, beyond 2**53
        assert int(identity.chat_id) > 2**53


async def test_a_stale_button_asks_the_current_question(
    prepared_database: Path, tmp_path: Path
) -> None:
    async with bot_on("sqlite", prepared_database, tmp_path, rig=ZaloOARig()) as bot:
        phone = bot.producer(12)
        await phone.say("/start")
        first = phone.choices()
        await phone.tap("Tiếng Việt")
        answers = await phone.say(first[0][1])  # the language button, tapped again
        assert "câu hỏi trước" in answers[0].plain or "earlier question" in answers[0].plain
        assert phone.choices()  # … and the current question is asked again


async def test_unfollow_makes_the_chat_unreachable(
    prepared_database: Path, tmp_path: Path
) -> None:
    rig = ZaloOARig()
    async with bot_on("sqlite", prepared_database, tmp_path, rig=rig) as bot:
        phone = bot.producer(13)
        await phone.say("/start")
        assert await phone.unfollow() == []
        async with bot.db.sessions() as session:
            identity = await session.scalar(
                select(ChannelIdentity).where(ChannelIdentity.chat_id == phone.user)
            )
        assert identity is not None and identity.blocked_at is not None
        # A message queued anyway (one already on its way) is refused by Zalo (-213): no more.
        reply = Reply("Thông báo của cán bộ OCOP")
        outgoing = Outgoing("zalo_oa", phone.user, identity.user_id, reply.to_json(), reply.text)
        async with bot.db.transaction() as session:
            await queue_messages(session, [outgoing])
        bot.app.sender.wake()
        await bot.settle()
        async with bot.db.sessions() as session:
            last = await session.scalar(
                select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1)
            )
        assert last is not None, "no message"
        assert last.status == OutboxStatus.FAILED
        assert (last.failure_reason or "").startswith("unreachable: Zalo error -213")
        assert phone.new_messages() == []
        assert rig.oa is not None
        assert [code for who, code in rig.oa.refused if who == phone.user] == [-213]


async def test_files_stickers_and_locations_over_zalo(
    prepared_database: Path, tmp_path: Path
) -> None:
    async with bot_on("sqlite", prepared_database, tmp_path, rig=ZaloOARig()) as bot:
        phone = bot.producer(14)
        assert isinstance(phone, ZaloPhone)
        await handicraft_dossier(phone)
        pdf, jpeg = make_pdf(), make_jpeg()
        replies = await upload(phone, "Registration form", pdf, "phieu-dang-ky.pdf")
        assert any("received" in text for text in replies), replies
        await open_document(phone, "Trademark")
        replies = [m.plain for m in await phone.send_photo(jpeg)]
        assert any("received" in text for text in replies), replies
        async with bot.db.sessions() as session:
            stored = list((await session.scalars(select(DocumentFile))).all())
        blobs = LocalBlobStore(tmp_path / "blobs")
        assert [await blobs.get(f.sha256) for f in stored] == [pdf, jpeg]
        for event, what in ((phone.oa.make.sticker, "a sticker"),
                            (phone.oa.make.location, "a location")):  # fmt: skip
            [sorry, *_again] = await phone.push(event(phone.user))
            assert f"Sorry, I cannot read {what} here" in sorry.plain
