"""Bad input during registration gets a specific explanation and the question again;
Back, Cancel, /help and resuming after a restart work at every step."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from storage.models import Conversation, Producer
from tests.harness import Producer as Phone
from tests.harness import RunningBot, running_bot

CHAT = 7_100_000_001


async def start_english(phone: Phone) -> None:
    await phone.say("/start")
    await phone.tap("English")


async def reach_tax_code(phone: Phone) -> None:
    await start_english(phone)
    await phone.say("enterprise")
    await phone.say("Cong ty TNHH Mat ong Son Dong")


async def reach_phone(phone: Phone) -> None:
    await reach_tax_code(phone)
    await phone.say("0100109106")
    await phone.tap("Skip")
    for answer in ("Tran Van Binh", "Director", "Male", "Kinh"):
        await phone.say(answer)


async def test_wrong_tax_codes_are_explained(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await reach_tax_code(phone)
    replies = await phone.say("0100109107")
    assert "last digit does not match" in replies[0].plain
    assert "tax code" in replies[-1].plain
    replies = await phone.say("12345")
    assert "You typed 5 digits" in replies[0].plain
    replies = await phone.say("0100109106-001")
    assert "business registration number" in replies[-1].plain


async def test_landline_and_foreign_phone_refused(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await reach_phone(phone)
    replies = await phone.say("024 3825 1234")
    assert "landline" in replies[0].plain
    assert "mobile number" in replies[-1].plain
    replies = await phone.share_contact("+12025550143")
    assert "Vietnamese mobile" in replies[0].plain
    replies = await phone.say("0381 234 567")
    assert "province" in replies[-1].plain


async def test_unknown_commune_offers_closest_matches(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await reach_phone(phone)
    await phone.share_contact()
    await phone.say("bac ninh")
    replies = await phone.say("son dongg")
    assert "Did you mean" in replies[0].plain
    assert any("Sơn Động" in label for label in phone.buttons())
    await phone.tap("Son Dong")
    assert "e-mail" in phone.last.plain
    replies = await phone.say("zzzzqqq")
    assert "not an e-mail address" in replies[0].plain


async def test_back_cancel_and_help(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await reach_tax_code(phone)
    replies = await phone.tap("Back")
    assert "full name" in replies[-1].plain
    assert "Now: Cong ty TNHH Mat ong Son Dong" in replies[-1].plain
    replies = await phone.say("/help")
    assert "question 2 of 12" in replies[0].plain
    replies = await phone.tap("Back")
    assert "What kind of organisation" in replies[-1].plain
    await phone.tap("Cancel")
    replies = await phone.tap("Keep going")
    assert "What kind of organisation" in replies[-1].plain
    await phone.say("/cancel")
    replies = await phone.tap("Yes, stop")
    assert "Nothing was saved" in replies[0].plain
    assert "Register my organisation" in " ".join(phone.buttons())


async def test_stale_button_and_sticker(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await start_english(phone)
    old = phone.button_data("Enterprise")
    await phone.say("household business")
    replies = await phone.push(phone.make.callback(CHAT, old))
    assert "earlier question" in replies[0].plain
    assert "full name" in replies[-1].plain
    replies = await phone.push(phone.make.sticker(CHAT))
    assert "cannot read a sticker" in replies[0].plain
    assert "full name" in replies[-1].plain
    replies = await phone.push(phone.make.voice(CHAT))
    assert "voice message" in replies[0].plain


async def test_summary_change_a_field(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await reach_phone(phone)
    await phone.share_contact()
    await phone.say("ha noi")
    await phone.say("hoan kiem")
    await phone.tap("Skip")
    assert "check your answers" in phone.last.plain
    await phone.tap("Change")
    await phone.tap("Province")
    await phone.say("bac ninh")
    replies = await phone.say("luc ngan")
    summary = replies[-1].plain
    assert "Tỉnh Bắc Ninh" in summary and "Xã Lục Ngạn" in summary
    await phone.tap("Confirm")
    async with bot.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Producer)) == 1


async def test_resume_after_restart(prepared_database: Path, tmp_path: Path) -> None:
    """A producer who stops halfway continues at the same step after the server restarts."""
    from tests.harness import copy_database

    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    async with running_bot(url, tmp_path / "blobs") as first:
        phone = first.producer(CHAT)
        await reach_tax_code(phone)
        await phone.say("0100109106")
    async with running_bot(url, tmp_path / "blobs", first_update_id=200_000) as second:
        phone = second.producer(CHAT)
        replies = await phone.say("/start")
        assert "Welcome back" in replies[0].plain
        assert "business registration number" in replies[-1].plain
        async with second.db.sessions() as session:
            conversation = await session.scalar(select(Conversation))
        assert conversation is not None
        assert conversation.data["values"]["tax_code"] == "0100109106"


async def test_group_chats_get_one_polite_answer(bot: RunningBot) -> None:
    group = bot.producer(-1_001_234_567_890)

    def in_group(text: str) -> dict[str, object]:
        update = group.make.text(CHAT, text)
        update["message"]["chat"] = {"id": group.chat_id, "type": "supergroup", "title": "HTX"}
        return update

    replies = await group.push(in_group("/start@ocop_bot"))
    assert len(replies) == 1 and "chỉ làm việc trong trò chuyện riêng" in replies[0].plain
    assert await group.push(in_group("xin chao")) == []
    async with bot.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Producer)) == 0
