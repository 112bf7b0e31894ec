"""A producer's results in chat, through the fake Telegram server: told when a round's results
are published, when a certificate is issued and when it is revoked (each person in their own
language), and shown their results per product on ``/results``, the menu's button, or typing
"kết quả" / "ket qua" / "results"."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.results_notify import issue_and_notify, publish_and_notify, revoke_and_notify
from storage.models import Certificate, Producer, ProducerMember, Product
from storage.states import RevocationGround
from tests.console.results_data import Outcome, make_entry, make_round
from tests.console.review_data import chat_of, person_of
from tests.harness import RunningBot, register

CHAT = 7_200_000_091


async def test_results_and_certificates_reach_the_producer_in_their_language(
    bot: RunningBot,
) -> None:
    phone = bot.producer(CHAT)
    await register(phone, confirm=True)
    async with bot.db.sessions() as session:
        member = (await session.scalars(select(ProducerMember))).one()
        producer = await session.get_one(Producer, member.producer_id)
    await person_of(bot.db, producer.id, "en")
    english = bot.producer(int(chat_of(producer.id)))
    bot.api.add_chat(english.chat_id)
    now = bot.app.clock.now()
    round_id = await make_round(bot.db, area_id=producer.province_id, now=now)
    honey, _ = await make_entry(
        bot.db, round_id, producer.id, Outcome("91.25", 5, potential_five_star=True), now=now,
        user_id=member.user_id,
    )  # fmt: skip
    await make_entry(
        bot.db, round_id, producer.id, Outcome("45.00", 2), now=now, product="Chè xanh",
        user_id=member.user_id,
    )  # fmt: skip
    later = await make_round(
        bot.db, area_id=producer.province_id, now=now, name="Kỳ 2", closed=False
    )
    await make_entry(bot.db, later, producer.id, None, now=now, product="Miến dong",
                     user_id=member.user_id)  # fmt: skip
    async with bot.db.transaction() as session:
        session.add(
            Product(producer_id=producer.id, product_set=1, name="Rượu táo mèo",
                    created_by=member.user_id, created_at=now, updated_at=now)
        )  # fmt: skip
    phone.new_messages()

    (shown,) = await phone.say("/results")
    assert "Kết quả của tôi" in shown.plain
    assert "Kỳ đánh giá 1 năm 2026: chưa công bố kết quả." in shown.plain
    assert "Kỳ 2: chưa công bố kết quả." in shown.plain
    assert "Rượu táo mèo\nChưa nộp vào kỳ đánh giá nào." in shown.plain

    async with bot.db.transaction() as session:
        await publish_and_notify(session, round_id, official_id=1, now=now)
    await bot.settle()
    told = [m.plain for m in phone.new_messages()]
    assert len(told) == 2
    assert any("Mật ong bạc hà: 91,25 điểm, 5★" in m and "Được công nhận" in m for m in told)
    assert any("Chè xanh: 45,00 điểm, 2★" in m and "Không được công nhận" in m for m in told)
    told_en = [m.plain for m in english.new_messages()]
    assert any("Mật ong bạc hà: score 91.25, 5★" in m and "Certified" in m for m in told_en)
    assert any("Chè xanh: score 45.00, 2★" in m and "Not certified" in m for m in told_en)

    async with bot.db.transaction() as session:
        certificate = await issue_and_notify(
            session, honey, issued_on=date(2026, 7, 1), authority="Chủ tịch UBND tỉnh Bắc Ninh",
            official_id=1, now=now,
        )  # fmt: skip
        number = certificate.number
    await bot.settle()
    (issued,) = phone.new_messages()
    assert f"Số giấy chứng nhận: {number}" in issued.plain
    assert "Cấp ngày 01/07/2026" in issued.plain and "có hiệu lực đến 01/07/2029" in issued.plain
    (issued_en,) = english.new_messages()
    assert f"Certificate number: {number}" in issued_en.plain

    (shown,) = await phone.say("ket qua")
    assert f"Giấy chứng nhận {number}, 5★" in shown.plain
    assert "cấp ngày 01/07/2026, có hiệu lực đến 01/07/2029" in shown.plain
    assert "Kỳ đánh giá 1 năm 2026: 91,25 điểm, 5★." in shown.plain
    await english.say("/menu")
    (shown_en,) = await english.tap("My results")
    assert f"Certificate {number}, 5★" in shown_en.plain
    assert "Kỳ 2: results not yet published." in shown_en.plain

    async with bot.db.transaction() as session:
        await revoke_and_notify(
            session, certificate.id, ground=RevocationGround.PRODUCTION_STOPPED,
            reason="Cơ sở ngừng sản xuất từ tháng 3", official_id=1, today=date(2027, 4, 2),
            now=now,
        )  # fmt: skip
    await bot.settle()
    (revoked,) = phone.new_messages()
    assert f"Giấy chứng nhận OCOP số {number}" in revoked.plain
    assert "Căn cứ: đã ngừng sản xuất." in revoked.plain
    assert "Lý do: Cơ sở ngừng sản xuất từ tháng 3" in revoked.plain
    (revoked_en,) = english.new_messages()
    assert "Ground: production has stopped." in revoked_en.plain

    (shown,) = await phone.say("Kết quả")
    assert "⛔ Đã thu hồi ngày 02/04/2027: đã ngừng sản xuất." in shown.plain
    async with bot.db.sessions() as session:
        assert (await session.get_one(Certificate, certificate.id)).status == "revoked"


async def test_results_words_are_not_taken_from_a_longer_answer(bot: RunningBot) -> None:
    """Only a message that is the request itself shows the results; at a question, a
    sentence that mentions "kết quả" is the answer."""
    from handlers.results import asks_for_results

    assert (
        asks_for_results("Kết quả?")
        and asks_for_results("ket qua")
        and asks_for_results("My results")
    )
    assert not asks_for_results("kết quả kiểm nghiệm của sản phẩm")
    phone = bot.producer(CHAT)
    await phone.say("/start")
    replies = await phone.say("kết quả")
    assert replies  # not registered: the menu, never an error
    assert "Đăng ký" in replies[-1].plain or replies[-1].inline_keyboard
