"""Producer registration, end to end: the real bot, the fake Bot API over HTTP, a real database."""

from __future__ import annotations

from sqlalchemy import select

from bot.rules import rules
from storage.models import Area, AuditEntry, Producer, ProducerMember
from tests.harness import RunningBot, register
from tests.rigs import CHANNELS as ALL_CHANNELS

CHANNELS = ALL_CHANNELS
CHAT = 7_000_000_001


async def test_registration_in_vietnamese(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register(phone)
    summary = phone.last.plain
    for expected in (
        "Hop tac xa Nong nghiep Luc Ngan",
        "0100109106",
        "Nguyen Thi Lan",
        "Tày",
        "0912 345 678",
        "Tỉnh Bắc Ninh",
        "Xã Tân Sơn",
        "lan@htx-lucngan.vn",
    ):
        assert expected in summary
    assert "Xác nhận" in " ".join(phone.buttons())
    await phone.tap("Xac nhan")
    texts = " ".join(m.plain for m in phone.messages()[-3:])
    assert "đã được đăng ký" in texts or "đã đăng ký" in texts
    assert any("Sản phẩm" in b for b in phone.buttons())

    async with bot.db.sessions() as session:
        producer = await session.scalar(select(Producer))
        assert producer is not None
        commune = await session.get(Area, producer.commune_id)
        province = await session.get(Area, producer.province_id)
        member = await session.scalar(select(ProducerMember))
        audit = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "producer.registered")
        )
    assert (producer.org_type, producer.tax_code, producer.phone) == (
        "cooperative",
        "0100109106",
        "+84912345678",
    )
    assert producer.phone_verified == bot.verifies_phone
    assert producer.rep_gender == "female" and producer.rep_ethnicity == "Tày"
    assert commune is not None and commune.name == "Xã Tân Sơn"
    assert province is not None and province.code == "24"
    assert member is not None and member.role == "owner"
    assert audit is not None and audit.entity_id == producer.id


async def test_registration_in_english(bot: RunningBot) -> None:
    phone = bot.producer(CHAT + 1)
    await register(phone, language="English")
    assert "check your answers" in phone.last.plain
    await phone.tap("Confirm")
    assert any("is registered" in m.plain for m in phone.messages())
    assert "My products" in " ".join(phone.buttons())


async def test_organisation_types_are_the_rules_and_the_profile_names_them(
    bot: RunningBot,
) -> None:
    phone = bot.producer(CHAT + 2)
    await register(phone, language="English")
    await phone.tap("Change")
    await phone.tap("Organisation type")
    offered = phone.buttons()
    for kind in rules().org_types:
        assert kind.name("en") in offered
    await phone.tap("Back")
    await phone.tap("Confirm")
    replies = await phone.tap("My profile")
    assert "Organisation type: Cooperative" in replies[-1].plain
    async with bot.db.sessions() as session:
        producer = await session.scalar(select(Producer))
        assert producer is not None
        producer.org_type = "old_kind"  # a code the rules no longer know is shown as it is
        await session.commit()
    replies = await phone.tap("Menu")
    replies = await phone.tap("My profile")
    assert "Organisation type: old_kind" in replies[-1].plain
