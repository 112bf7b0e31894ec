"""The producer's own star estimate: the star-minimum questions of the product's set, the
highest star level they allow, what would raise it, and the ways in and out."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.rules import rules
from handlers.estimate import asks_for_an_estimate, estimate
from storage.models import Question
from tests.fakes.telegram_api import SentMessage
from tests.files import make_pdf
from tests.handlers.test_documents import handicraft_product, open_document
from tests.handlers.test_products import FISH_SAUCE
from tests.harness import Producer, RunningBot, hand_in, register

# Zalo's two channels differ from Telegram alike here: one of them is enough.
CHANNELS = ("telegram", "zalo_bot")
CHAT = 7_400_000_001


async def food_product(phone: Producer, *, language: str = "English") -> None:
    """From the main menu, a fish sauce (set 9, a food set); ends at its checklist."""
    english = language == "English"
    await phone.tap("New product" if english else "San pham moi")
    await phone.say("nuoc mam")
    for answer in FISH_SAUCE:
        await phone.say(answer)
    await phone.tap("First evaluation" if english else "lan dau")
    await phone.tap("Confirm" if english else "Xac nhan")


def texts(replies: list[SentMessage]) -> str:
    return "\n".join(m.plain for m in replies)


def test_the_estimate_is_the_highest_level_whose_minimums_are_met() -> None:
    rule_set = rules(version="2026.1")
    food = {m.code for m in rule_set.minimums_for(9)}
    assert estimate(rule_set, 9, food).stars == 5
    assert estimate(rule_set, 9, food - {"quality_management"}).stars == 4
    assert estimate(rule_set, 9, food - {"e_traceability"}).stars == 3
    lowered = estimate(rule_set, 9, food - {"trademark", "quality_management"})
    assert lowered.stars == 2
    assert [m.code for m in lowered.next_level] == ["trademark"]
    assert estimate(rule_set, 21, {"trademark", "product_story"}).stars == 5
    assert estimate(rule_set, 21, set()).stars == 2


@pytest.mark.parametrize(
    "text", ["sao", "Sao?", "ước tính sao", "uoc tinh sao", "Bao nhiêu sao", "estimate"]
)
def test_short_phrases_ask_for_an_estimate(text: str) -> None:
    assert asks_for_an_estimate(text)


@pytest.mark.parametrize("text", ["sao vang", "Sao Mai", "vi sao ho so bi tra", "so", "star"])
def test_other_messages_do_not(text: str) -> None:
    assert not asks_for_an_estimate(text)


async def test_a_food_product_with_every_minimum_reaches_up_to_five_stars(
    bot: RunningBot,
) -> None:
    phone = bot.producer(CHAT)
    await register(phone, language="English", confirm=True)
    await food_product(phone)
    replies = await phone.tap("Estimate my stars")
    assert "Question 1 of 6 · needed for 3★" in replies[-1].plain
    assert "registered trademark" in replies[-1].plain
    assert phone.buttons() == ["Yes", "No", "Not sure", "⬅️ Back", "✖️ Cancel"]
    replies = await phone.tap("Yes")
    assert "Question 2 of 6" in replies[-1].plain and "product story" in replies[-1].plain
    replies = await phone.tap("Back")
    assert "Question 1 of 6" in replies[-1].plain
    for _ in range(5):
        await phone.tap("Yes")
    replies = await phone.say("yes")  # typed
    result = replies[-1].plain
    assert result.startswith("⭐ Star estimate\n⭐ Nuoc mam ca com Cua Lo: up to 5★")
    assert "✅ Registered trademark or an accepted application (3★)" in result
    assert "✅ Quality-management system (ISO, HACCP…) (5★)" in result
    assert "90+ → 5★, 70+ → 4★, 50+ → 3★, 30+ → 2★" in result
    assert "For 5★ the council's score must be 90 or more." in result
    assert "To reach" not in result
    assert not any("Upload" in label for label in phone.buttons())
    replies = await phone.tap("The dossier")
    assert "Needed to file 0/3" in replies[-1].plain


async def test_no_trademark_caps_at_two_stars_with_its_advice_in_vietnamese(
    bot: RunningBot,
) -> None:
    phone = bot.producer(CHAT)
    await register(phone, confirm=True)
    await food_product(phone, language="Tiếng Việt")
    await phone.say("/menu")
    assert "⭐ Ước tính số sao" in phone.buttons()
    replies = await phone.say("uoc tinh sao")  # typed at the menu: one product, no choice
    assert "Câu hỏi 1/6" in replies[-1].plain
    await phone.say("khong")
    await phone.say("co")
    await phone.say("có")
    await phone.say("1")
    replies = await phone.say("3")  # not sure of the traceability
    assert "Câu hỏi 6/6" in replies[-1].plain
    result = (await phone.say("co")).pop().plain
    assert "Nuoc mam ca com Cua Lo: tối đa 2★" in result
    assert "❌ Nhãn hiệu được bảo hộ hoặc đơn đăng ký được chấp nhận (3★)" in result
    assert "❓ Truy xuất nguồn gốc điện tử (4★): chưa chắc chắn" in result
    assert "Nộp đơn đăng ký nhãn hiệu tại Cục Sở hữu trí tuệ" in result  # the advice
    assert "3★ trở lên" in result  # no certificate below 3★
    assert "bạn" not in result
    replies = await phone.tap("Tai len")
    assert replies[-1].plain.startswith("📎 ")
    assert "nhãn hiệu" in replies[-1].plain.lower()
    replies = await hand_in(phone, make_pdf("trademark"), "nhan-hieu.pdf")
    assert "đã nhận 1 tệp" in texts(replies)
    await phone.tap("Xong")
    replies = await phone.say("sao")  # at the checklist: the estimate again
    assert "Câu hỏi 1/5" in replies[-1].plain  # the trademark is in the dossier now
    assert "Đã có trong hồ sơ" in replies[-1].plain


async def test_a_handicraft_is_asked_its_two_minimums_and_not_what_is_uploaded(
    bot: RunningBot,
) -> None:
    phone = bot.producer(CHAT)
    await register(phone, language="English", confirm=True)
    await handicraft_product(phone, typed=False)
    replies = await phone.tap("Estimate my stars")
    assert "Question 1 of 2" in replies[-1].plain
    await phone.tap("Cancel")  # back to the dossier it came from
    assert "Needed to file 0/2" in phone.last.plain
    await open_document(phone, "Trademark")
    await hand_in(phone, make_pdf("trademark"), "trademark.pdf")
    await phone.tap("Done")
    replies = await phone.tap("Estimate my stars")
    question = replies[-1].plain
    assert "Already in your dossier: Registered trademark" in question
    assert "Question 1 of 1 · needed for 3★" in question and "product story" in question
    result = (await phone.tap("No")).pop().plain
    assert "Gio may tre: up to 2★" in result
    assert "✅ Registered trademark or an accepted application (3★): already in your dossier" in (
        result
    )
    assert "Write the product's story" in result
    assert "Document for the dossier: Product story" in result
    assert "Upload: Product story" in " ".join(phone.buttons())
    replies = await phone.tap("Start again")
    assert "Question 1 of 1" in replies[-1].plain
    result = (await phone.tap("Yes")).pop().plain
    assert "Gio may tre: up to 5★" in result  # a handicraft has no 4★ or 5★ minimum


async def test_several_products_are_chosen_and_cancel_returns_to_the_menu(
    bot: RunningBot,
) -> None:
    phone = bot.producer(CHAT)
    await register(phone, language="English", confirm=True)
    await phone.say("/menu")
    assert not any("Estimate" in label for label in phone.buttons())  # no product yet
    await handicraft_product(phone, typed=False)
    await phone.say("/menu")
    await food_product(phone)
    await phone.say("/menu")
    menu = phone.buttons()
    replies = await phone.tap("Estimate my stars")
    assert "Which product" in replies[-1].plain
    assert phone.buttons() == ["Gio may tre", "Nuoc mam ca com Cua Lo", "✖️ Cancel"]
    replies = await phone.tap("Nuoc mam")
    assert "Question 1 of 6" in replies[-1].plain
    replies = await phone.tap("Back")  # before the first question: the choice again
    assert "Which product" in replies[-1].plain
    await phone.say("gio may")  # a typed name
    await phone.tap("Yes")
    replies = await phone.say("/cancel")
    assert "no estimate" in replies[0].plain
    assert phone.buttons() == menu
    replies = await phone.say("/estimate")
    assert "Which product" in replies[-1].plain


async def test_typed_phrases_do_not_take_a_free_text_answer(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register(phone, language="English", confirm=True)
    await phone.tap("New product")
    await phone.tap("Handicrafts")
    await phone.tap("21.")
    replies = await phone.say("Sao")  # the product's name
    assert "Describe the product" in replies[-1].plain
    await phone.say("/cancel")
    await phone.tap("Yes, stop")
    await phone.say("gap can bo")
    await phone.tap("Leave a question")
    replies = await phone.say("bao nhiêu sao")  # the question itself
    assert "bao nhiêu sao" in replies[-1].plain and "Question 1 of" not in replies[-1].plain
    await phone.tap("Send")
    async with bot.db.sessions() as session:
        asked = await session.scalar(select(Question))
    assert asked is not None and asked.text == "bao nhiêu sao"
    replies = await phone.say("uoc tinh sao")  # no product: told to register one
    assert "Register a product first" in replies[0].plain
