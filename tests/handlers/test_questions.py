"""Leaving a question for the office in chat: /help twice in a row, or asking for a person
(with or without diacritics, in Vietnamese or English), offers it; Back and Cancel return the
producer to where they were; a sent question waits open in the console's queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.clock import ManualClock
from storage.models import Question
from storage.states import QuestionStatus
from tests.harness import RunningBot, copy_database, register, running_bot
from tests.rigs import CHANNELS as ALL_CHANNELS
from tests.rigs import rig_for

CHANNELS = ALL_CHANNELS

CHAT = 7_300_000_801
OFFER = "muốn để lại câu hỏi cho UBND xã Tân Sơn"


@pytest.fixture
async def clocked_bot(
    channel: str, prepared_database: Path, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    """The bot whose steps read a clock the test moves."""
    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    clock = ManualClock()
    async with running_bot(url, tmp_path / "blobs", clock=clock,
                           rig=rig_for(channel, clock)) as running:  # fmt: skip
        yield running


def texts(messages: list[object]) -> str:
    return "\n".join(str(getattr(m, "plain", "")) for m in messages)


async def questions(bot: RunningBot) -> list[Question]:
    async with bot.db.sessions() as session:
        return list(await session.scalars(select(Question).order_by(Question.id)))


async def test_help_twice_in_a_row_offers_a_question_that_is_stored(
    clocked_bot: RunningBot,
) -> None:
    bot = clocked_bot
    clock = bot.app.engine.clock
    assert isinstance(clock, ManualClock)
    phone = bot.producer(CHAT)
    await register(phone, confirm=True)
    phone.new_messages()

    assert OFFER not in texts(await phone.say("/help"))
    clock.advance(60)
    offered = texts(await phone.say("/help"))
    assert OFFER in offered
    assert "Để lại câu hỏi" in " ".join(phone.buttons())

    asked = texts(await phone.tap("De lai cau hoi"))
    assert "gõ câu hỏi" in asked
    confirm = texts(await phone.say("Khi nào xã  tổ chức\nđánh giá sản phẩm?"))
    assert "“Khi nào xã tổ chức đánh giá sản phẩm?”" in confirm
    sent = texts(await phone.tap("Gui"))
    assert "đã được gửi đến UBND xã Tân Sơn" in sent
    assert "hai ngày làm việc" in sent
    (question,) = await questions(bot)
    assert question.text == "Khi nào xã tổ chức đánh giá sản phẩm?"
    assert question.status == QuestionStatus.OPEN
    assert question.created_at == clock.now()
    # Back where the producer was: the main menu.
    assert any("Sản phẩm" in label or "sản phẩm" in label for label in phone.buttons())


async def test_help_twice_far_apart_or_not_in_a_row_offers_nothing(
    clocked_bot: RunningBot,
) -> None:
    bot = clocked_bot
    clock = bot.app.engine.clock
    assert isinstance(clock, ManualClock)
    phone = bot.producer(CHAT)
    await register(phone, confirm=True)
    phone.new_messages()

    await phone.say("/help")
    clock.advance(minutes=10)
    assert OFFER not in texts(await phone.say("/help"))  # too late: this is a first /help again
    await phone.say("xin chào")
    assert OFFER not in texts(await phone.say("/help"))  # a message between: not in a row
    clock.advance(30)
    assert OFFER in texts(await phone.say("/help"))


@pytest.mark.parametrize(
    "phrase",
    [
        "gặp cán bộ",
        "gap can bo",
        "Tôi muốn NÓI CHUYỆN VỚI CÁN BỘ ạ",
        "noi chuyen voi can bo",
        "I want to talk to an official",
    ],
)
def test_phrases_asking_for_a_person_are_recognised(phrase: str) -> None:
    from handlers.questions import asks_for_a_person

    assert asks_for_a_person(phrase)


@pytest.mark.parametrize("text", ["cán bộ", "gặp", "Hợp tác xã Cán Bộ", "gap can bot", "x" * 200])
def test_other_messages_do_not_ask_for_a_person(text: str) -> None:
    from handlers.questions import asks_for_a_person

    assert not asks_for_a_person(text)


async def test_phrases_offer_the_question_and_back_and_cancel_return(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register(phone, confirm=True)
    menu = phone.buttons()
    for phrase in ("gặp cán bộ", "gap can bo", "nói chuyện với cán bộ"):
        assert OFFER in texts(await phone.say(phrase))
        await phone.tap("Huy")  # Cancel at the offer: back to the menu
        assert phone.buttons() == menu

    # Back at each step goes one step back; Back at the offer returns to the menu.
    await phone.say("gap can bo")
    await phone.tap("De lai cau hoi")
    assert OFFER in texts(await phone.tap("Quay lai"))
    await phone.tap("De lai cau hoi")
    await phone.say("Hồ sơ cần những gì?")
    assert "gõ câu hỏi" in texts(await phone.tap("Quay lai"))
    assert "chưa có câu hỏi nào được gửi" in texts(await phone.tap("Huy"))
    assert phone.buttons() == menu
    await phone.say("gap can bo")
    await phone.tap("Quay lai")
    assert phone.buttons() == menu
    assert await questions(bot) == []


async def test_a_producer_in_the_middle_of_a_form_returns_to_the_same_question(
    bot: RunningBot,
) -> None:
    phone = bot.producer(CHAT)
    await register(phone, confirm=True)
    await phone.tap("Sản phẩm mới")
    await phone.tap("Thu cong")
    await phone.tap("21.")
    asked = phone.last.plain
    await phone.say("talk to an official")
    await phone.tap("De lai cau hoi")
    await phone.say("/cancel")  # at the free-text question, the command still works
    assert phone.last.plain == asked
    await phone.say("Giỏ mây tre")  # the form goes on from there
    assert phone.last.plain != asked


async def test_someone_not_registered_is_told_to_register_first(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await phone.say("/start")
    await phone.tap("Tiếng Việt")
    await phone.tap("Hop tac xa")
    asked = phone.last.plain
    replies = texts(await phone.say("gặp cán bộ"))
    assert "đăng ký xong trước" in replies
    assert phone.last.plain == asked
    assert await questions(bot) == []
