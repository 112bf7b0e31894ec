"""Regression: a representative named "Huy" got "Stop now?" ("huy" is "hủy", cancel).

Typed navigation words ("huy", "quay lai", "bo qua", "sua"…) are navigation only where the
question is a choice; a free-text answer always reaches its field. /cancel and the buttons
work everywhere.
"""

from __future__ import annotations

import io

from sqlalchemy import select

from bot.channels.terminal import TerminalChannel
from bot.vocabulary import Button, EventKind, Reply
from storage.models import Producer
from tests.harness import Producer as Phone
from tests.harness import RunningBot

CHAT = 7_300_000_101


async def reach_representative(phone: Phone) -> None:
    await phone.say("/start")
    await phone.tap("Tiếng Việt")
    await phone.tap("Hop tac xa")
    await phone.say("Hop tac xa Nong nghiep Luc Ngan")
    await phone.say("0100109106")
    await phone.tap("Bo qua")


async def test_a_representative_named_huy_is_saved(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await reach_representative(phone)
    replies = await phone.say("Huy")
    assert all("Dừng" not in r.plain for r in replies)
    assert "chức vụ" in replies[-1].plain  # the next question: the representative's position
    await phone.say("Sua")  # a position, typed (the question also offers buttons)
    await phone.tap("Nam")
    await phone.say("kinh")
    await phone.share_contact()
    await phone.say("bac ninh")
    await phone.say("tan son")
    replies = await phone.say("bo qua")  # typed at a free-text question: an answer, not Skip
    assert "không phải địa chỉ e-mail" in replies[0].plain
    summary = (await phone.tap("Bo qua"))[-1].plain  # the button skips
    assert "Huy" in summary and "Sua" in summary
    await phone.say("xac nhan")  # the summary is a choice: a typed word still confirms
    async with bot.db.sessions() as session:
        producer = await session.scalar(select(Producer))
    assert producer is not None
    assert (producer.rep_name, producer.rep_position, producer.email) == ("Huy", "Sua", None)


async def test_navigation_words_still_work_where_the_question_is_a_choice(
    bot: RunningBot,
) -> None:
    phone = bot.producer(CHAT)
    await reach_representative(phone)
    await phone.say("Tran Van Binh")
    await phone.say("Giam doc")
    replies = await phone.say("quay lai")  # gender is a choice question
    assert "chức vụ" in replies[-1].plain
    await phone.say("Giam doc")
    replies = await phone.say("huy")
    assert "Dừng" in replies[-1].plain
    replies = await phone.say("co")
    assert "Chưa có gì được lưu" in replies[0].plain


async def test_the_terminal_takes_a_name_for_a_name() -> None:
    """The terminal chat tapped the button whose label matched the typed text without
    diacritics: "Huy" pressed "✖️ Hủy"."""
    terminal = TerminalChannel(out=io.StringIO())
    buttons = [[Button("⬅️ Quay lại", "s|back"), Button("✖️ Hủy", "s|cancel")]]
    await terminal.send("local", Reply("Người đại diện là ai?", buttons=buttons))
    assert terminal.to_event("Huy").kind == EventKind.TEXT
    assert terminal.to_event("quay lai").kind == EventKind.TEXT
    tapped = terminal.to_event("Hủy")
    assert (tapped.kind, tapped.payload) == (EventKind.BUTTON, "cancel")
    assert terminal.to_event("2").payload == "cancel"
