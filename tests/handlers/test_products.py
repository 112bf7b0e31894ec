"""Registering products: group and set by buttons or typed words, dossier kinds, checklists."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from storage.models import AuditEntry, Dossier, Product
from tests.harness import Producer, RunningBot, register
from tests.rigs import CHANNELS as ALL_CHANNELS

CHANNELS = ALL_CHANNELS
CHAT = 7_200_000_001
# A fish sauce's name, description, packaging, yearly output and raw-material area, as typed.
FISH_SAUCE = (
    "Nuoc mam ca com Cua Lo",
    "Nuoc mam truyen thong 40 do dam, u chum 12 thang",
    "Chai thuy tinh 500 ml, thung 6 chai",
    "20.000 chai",
    "Vung bien Cua Lo, 2 tau ca",
)


async def new_product(phone: Producer, language: str = "English") -> None:
    await register(phone, language=language, confirm=True)
    await phone.tap("New product" if language == "English" else "San pham moi")


async def test_food_product_in_vietnamese_by_typing(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await new_product(phone, "Tiếng Việt")
    replies = await phone.say("nuoc mam")  # one set matches: the group and set are both answered
    assert "Sản phẩm tên là gì" in replies[-1].plain
    for answer in (*FISH_SAUCE, "lan dau"):
        await phone.say(answer)
    summary = phone.last.plain
    assert "9. Tương, nước mắm, gia vị dạng lỏng khác" in summary
    assert "Đánh giá, phân hạng lần đầu" in summary
    replies = await phone.tap("Xac nhan")
    assert "Cần để nộp 0/3 · để đạt 3★ 0/4 · thêm điểm 0/11" in replies[-1].plain
    replies = await phone.tap("Danh sach day du")
    full_list = "\n".join(m.plain for m in replies)
    assert "Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm" in full_list
    async with bot.db.sessions() as session:
        product = await session.scalar(select(Product))
        dossier = await session.scalar(select(Dossier))
        audit = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "product.registered")
        )
    assert product is not None and product.product_set == 9
    assert dossier is not None and dossier.kind == "first" and dossier.rules_version == "2026.1"
    assert dossier.status == "draft" and dossier.certificate_ref is None
    assert audit is not None and audit.entity_id == product.id


async def test_handicraft_rerating_asks_for_the_certificate(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await new_product(phone)
    await phone.tap("Handicrafts")
    assert any(label.startswith("21.") for label in phone.buttons())
    await phone.tap("21.")
    for answer in (
        "Gio may tre dan Phu Vinh",
        "Hand-woven bamboo baskets from Phu Vinh village",
        "Paper box",
        "3000 pieces",
    ):
        await phone.say(answer)
    await phone.tap("Skip")
    replies = await phone.tap("Re-rating")
    assert "certificate" in replies[-1].plain
    replies = await phone.say("abc")
    assert "certificate's number" in replies[0].plain
    replies = await phone.say("125/QĐ-UBND")
    assert "issued" in replies[-1].plain
    replies = await phone.say("2/5/2024")
    assert "125/QĐ-UBND" in replies[-1].plain and "May 2, 2024" in replies[-1].plain
    await phone.tap("Confirm")
    replies = await phone.tap("Full list")
    checklist = "\n".join(m.plain for m in replies)
    assert "Food-safety" not in checklist
    assert "Label and packaging photos" in checklist
    async with bot.db.sessions() as session:
        dossier = await session.scalar(select(Dossier))
    assert dossier is not None and (
        dossier.kind,
        dossier.certificate_ref,
        dossier.certificate_issued,
    ) == ("rerating", "125/QĐ-UBND", date(2024, 5, 2))


async def test_tourism_checklist_differs(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await new_product(phone)
    replies = await phone.say("eco tourism")
    if "Which one" in replies[0].plain:
        await phone.tap("26.")
    for answer in (
        "Lang du lich cong dong Tan Son",
        "Homestays and forest walks",
        "Tour",
        "500 visitors",
    ):
        await phone.say(answer)
    await phone.tap("Skip")
    await phone.tap("First evaluation")
    await phone.tap("Confirm")
    replies = await phone.tap("Full list")
    needed, _for_3_stars, extra = (m.plain for m in replies[:3])
    assert "Label and packaging" not in "\n".join(m.plain for m in replies)
    assert "Food-safety facility certificate" not in needed
    assert "Food-safety facility certificate" in extra
    assert "Tourism service description" in extra


async def test_ambiguous_word_offers_sets_and_back_to_group(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await new_product(phone)
    replies = await phone.say("che")
    assert "Which one" in replies[0].plain
    labels = phone.buttons()
    assert any(label.startswith("11.") for label in labels)
    await phone.tap("11.")
    assert "called" in phone.last.plain
    replies = await phone.say("/cancel")
    await phone.tap("Yes, stop")
    assert "My products" in phone.last.plain or "products" in phone.last.plain.lower()
    async with bot.db.sessions() as session:
        assert await session.scalar(select(Product)) is None
