"""Regression: a question that changes the reply keyboard keeps its inline buttons.

The adapter sent such a reply with the keyboard change and then added the inline buttons with
``editMessageReplyMarkup``, which Telegram refuses for a message sent with a reply keyboard
("message can't be edited"): the phone question had no Back / Cancel and the province question
none of its 34 provinces. The fake Bot API now refuses that edit as Telegram does.
"""

from __future__ import annotations

from bot.channels.telegram import TelegramChannel
from bot.vocabulary import Button, Reply
from tests.fakes.telegram_api import FakeTelegramAPI, SentMessage
from tests.handlers.conftest import bot  # noqa: F401
from tests.harness import RunningBot

CHAT = 7_300_000_001


def labels(messages: list[SentMessage]) -> list[str]:
    return [b["text"] for m in messages for row in m.inline_keyboard or [] for b in row]


async def test_phone_and_province_questions_keep_their_buttons(bot: RunningBot) -> None:  # noqa: F811
    phone = bot.producer(CHAT)
    await phone.say("/start")
    await phone.tap("English")
    await phone.say("enterprise")
    await phone.say("Cong ty TNHH Mat ong Son Dong")
    for answer in ("0100109106", "skip", "Tran Van Binh", "Director", "Male"):
        await phone.say(answer)
    asked = await phone.say("Kinh")  # the phone question comes next
    assert any((m.reply_markup or {}).get("keyboard") for m in asked)  # "share my number"
    assert "Back" in " ".join(labels(asked)) and "Cancel" in " ".join(labels(asked))
    assert "mobile number" in " ".join(m.plain for m in asked if m.inline_keyboard)

    asked = await phone.share_contact("+84912345678")
    assert any((m.reply_markup or {}).get("remove_keyboard") for m in asked)
    assert len(labels(asked)) >= 34 + 2  # every province, and Back / Cancel
    assert "province" in " ".join(m.plain for m in asked if m.inline_keyboard)
    assert not bot.api.edits  # nothing relies on an edit Telegram would refuse
    await phone.tap("Hà Nội")
    assert "commune" in phone.last.plain.lower()


async def test_one_line_reply_gets_its_buttons_on_a_translated_second_message() -> None:
    async with FakeTelegramAPI() as api:
        api.add_chat(42)

        class NoStore:
            async def store(self, events: object) -> int:
                return 0

        async with TelegramChannel(api.token, api.url, NoStore()) as channel:
            reply = Reply("Cảm ơn.", buttons=[[Button("OK", "ab|ok")]], contact_request_over=True,
                          locale="vi")  # fmt: skip
            await channel.send("42", reply)
        first, second = api.sent_to(42)
        assert first.plain == "Cảm ơn." and first.reply_markup == {"remove_keyboard": True}
        assert second.inline_keyboard == [[{"text": "OK", "callback_data": "ab|ok"}]]
        assert second.plain != "Or tap a button:"  # Vietnamese, as the reply's locale says
