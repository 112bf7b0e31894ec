"""A whole registration on the Zalo bot: the real bot, the fake Zalo Bot Platform over HTTP,
a real database; choices typed as numbers, the phone typed, a document only as photos."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import ChannelIdentity, DocumentFile, Producer, ProducerMember
from tests.files import make_jpeg, make_pdf
from tests.harness import RunningBot, copy_database, register, running_bot
from tests.rigs.zalo_bot import ZaloBotPhone, ZaloBotRig

CHAT = 7_700_000_001


@pytest.fixture(params=["polling"])
async def bot(
    prepared_database: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[RunningBot]:
    """The real bot with the Zalo bot channel polling the fake platform (or, where a test asks
    for ``webhook``, the platform POSTing to it)."""
    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    rig = ZaloBotRig(webhook=request.param == "webhook")
    async with running_bot(url, tmp_path / "blobs", rig=rig) as running:
        yield running


@pytest.mark.parametrize("bot", ["polling", "webhook"], indirect=True)
async def test_a_producer_registers_on_the_zalo_bot(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    assert isinstance(phone, ZaloBotPhone)
    await phone.say("/start")
    assert phone.buttons()[:2] == ["🇻🇳 Tiếng Việt", "🇬🇧 English"]
    assert "trả lời bằng số thứ tự" in phone.last.plain
    await register(phone, confirm=False)
    asked = [m.plain for m in phone.messages() if "qua số di động nào" in m.plain]
    assert asked and "vui lòng nhập số" in asked[-1]  # no contact button here: typed
    assert not any("Chia sẻ số" in m.plain for m in phone.messages())
    summary = phone.last.plain
    for expected in ("Hop tac xa Nong nghiep Luc Ngan", "0100109106", "0912 345 678"):
        assert expected in summary
    await phone.tap("Xac nhan")
    assert any("đăng ký" in m.plain for m in phone.messages()[-3:])
    assert all(len(m.plain) <= 2000 for m in phone.messages())

    async with bot.db.sessions() as session:
        producer = await session.scalar(select(Producer))
        member = await session.scalar(select(ProducerMember))
        identity = await session.scalar(
            select(ChannelIdentity).where(ChannelIdentity.channel == "zalo_bot")
        )
    assert producer is not None and producer.tax_code == "0100109106"
    assert producer.phone == "+84912345678" and not producer.phone_verified  # typed
    assert identity is not None and identity.chat_id == phone.zalo_id
    assert member is not None and member.user_id == identity.user_id
    assert not bot.api.sent, "nothing went to Telegram"
    rig = bot.rig
    assert isinstance(rig, ZaloBotRig)
    assert bool(rig.api.webhook_posts) == rig.webhook  # the updates came the way asked


async def test_a_document_goes_as_photos_here(bot: RunningBot) -> None:
    phone = bot.producer(CHAT + 1)
    assert isinstance(phone, ZaloBotPhone)
    await register(phone, language="English", confirm=True)
    await phone.tap("New product")
    await phone.tap("Handicrafts")
    await phone.tap("21.")
    for answer in ("Gio may tre", "Hand-woven bamboo baskets", "Paper box", "3000 pieces"):
        await phone.say(answer)
    await phone.tap("Skip")
    await phone.tap("First evaluation")
    await phone.tap("Confirm")
    asked = await phone.tap("Registration form")
    assert "This app can only send photos" in asked[-1].plain
    assert "Telegram" in asked[-1].plain

    refused = await phone.send_document(make_pdf(), "phieu-dang-ky.pdf")
    texts = "\n".join(m.plain for m in refused)
    assert "cannot read this kind of message" in texts
    assert "This app can only send photos" in texts  # the upload's question again

    photo = make_jpeg()
    received = await phone.send_photo(photo)
    assert any("received" in m.plain for m in received), [m.plain for m in received]
    async with bot.db.sessions() as session:
        stored = list((await session.scalars(select(DocumentFile))).all())
    assert [(f.kind, f.size) for f in stored] == [("jpeg", len(photo))]
