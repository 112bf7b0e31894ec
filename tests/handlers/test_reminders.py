"""Reminders through the fake Bot API, with the engine's and scheduler's clock moved by hand:
quiet hours, a scheduler that dies with a claim, a reminder in the middle of a form, blocked
chats, and a certificate's re-rating reminders from the product form to the chat."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flow import StepContext
from bot.reminders import register_reminder_recipients
from bot.scheduler import Scheduler
from bot.timers import register_recipients, register_timer_handler
from handlers.reminders import register_reminders
from storage.clock import LOCAL_TIMEZONE, ManualClock, local_time
from storage.models import (
    ChannelIdentity,
    Conversation,
    InboxEvent,
    OutboxMessage,
    Producer,
    Timer,
    TranscriptEntry,
)
from storage.states import TimerKind, TimerStatus
from storage.timers import claim_due, schedule
from tests.harness import Producer as Phone
from tests.harness import RunningBot, copy_database, register, running_bot
from tests.regressions.test_rerating_window_is_checked import rerating
from tests.rigs import CHANNELS as ALL_CHANNELS
from tests.rigs import rig_for

CHANNELS = ALL_CHANNELS

CHAT = 7_200_000_301
START = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def timed_bot(
    channel: str, prepared_database: Path, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[RunningBot]:
    """The bot whose engine and scheduler read ``clock``."""
    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    async with running_bot(url, tmp_path / "blobs", clock=clock,
                           rig=rig_for(channel, clock)) as running:  # fmt: skip
        yield running


def move_to(clock: ManualClock, when: datetime) -> None:
    clock.advance((when - clock.now()).total_seconds())


async def fire(bot: RunningBot, scheduler: Scheduler | None = None) -> int:
    """One scheduler pass, then wait for the bot to deliver what it caused."""
    claimed = await (scheduler or bot.app.scheduler).run_due()
    await bot.settle()
    return claimed


async def producer_id(bot: RunningBot) -> int:
    async with bot.db.sessions() as session:
        found = await session.scalar(select(Producer.id))
    assert found is not None
    return found


async def registered(bot: RunningBot, language: str = "English") -> tuple[Phone, int]:
    """A producer registered in chat (what they were told so far read): the phone and the
    producer's id."""
    phone = bot.producer(CHAT)
    await register(phone, language=language, confirm=True)
    phone.new_messages()
    return phone, await producer_id(bot)


def certificate_payload(producer: int, today: date) -> dict[str, Any]:
    return {
        "producer_id": producer,
        "product_id": None,
        "certificate_number": "15/QĐ-UBND",
        "opens_on": today.isoformat(),
        "closes_on": (today + timedelta(days=60)).isoformat(),
        "expires_on": (today + timedelta(days=180)).isoformat(),
    }


async def add_timer(
    bot: RunningBot, kind: TimerKind, key: str, due: datetime, payload: dict[str, Any]
) -> None:
    async with bot.db.transaction() as session:
        await schedule(session, kind, key, due, payload)


async def timer_status(bot: RunningBot, key: str) -> str:
    async with bot.db.sessions() as session:
        status = await session.scalar(select(Timer.status).where(Timer.key == key))
    assert status is not None
    return status


async def test_a_reminder_due_at_night_goes_at_seven(
    timed_bot: RunningBot, clock: ManualClock
) -> None:
    phone, producer = await registered(timed_bot, "Tiếng Việt")
    today = START.astimezone(LOCAL_TIMEZONE).date()
    payload = certificate_payload(producer, today)
    await add_timer(timed_bot, TimerKind.RERATING_OPENS, "night", local_time(today, 23), payload)
    for hour, minute in ((23, 0), (23, 59), (30, 59)):  # 30:59 = 06:59 the next day
        move_to(clock, local_time(today, 0) + timedelta(hours=hour, minutes=minute))
        assert await fire(timed_bot) == 0
        assert phone.new_messages() == []
    move_to(clock, local_time(today + timedelta(days=1), 7))
    assert await fire(timed_bot) == 1
    [reminder] = phone.new_messages()
    assert "mở từ ngày 01/06/2026" in reminder.plain  # their language, dd/MM/yyyy
    assert "UBND xã/phường" in reminder.plain and "31/07/2026" in reminder.plain
    assert await timer_status(timed_bot, "night") == TimerStatus.DONE
    async with timed_bot.db.sessions() as session:
        row = await session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    assert row is not None and (row.kind, row.priority) == ("notification", 5)


async def test_a_timer_claimed_by_a_dead_scheduler_fires_once(
    timed_bot: RunningBot, clock: ManualClock
) -> None:
    phone, producer = await registered(timed_bot)
    today = START.astimezone(LOCAL_TIMEZONE).date()
    payload = certificate_payload(producer, today)
    await add_timer(timed_bot, TimerKind.RERATING_OPENS, "crash", clock.now(), payload)
    async with timed_bot.db.transaction() as session:  # claimed, then the process dies
        [claimed] = await claim_due(session, clock.now(), "died", lease=timedelta(minutes=5))
    other = Scheduler(timed_bot.db, clock=clock, owner="other")
    assert await fire(timed_bot, other) == 0  # the claim still holds
    clock.advance(minutes=4)
    assert await fire(timed_bot, other) == 0
    clock.advance(minutes=1, seconds=1)
    assert await fire(timed_bot, other) == 1  # the lease ran out: taken over
    [reminder] = phone.new_messages()
    assert "Re-rating window open" in reminder.plain
    # The dead scheduler's claim is no longer its own: firing it now does nothing.
    assert await Scheduler(timed_bot.db, clock=clock, owner="died").fire(claimed) == 0
    await timed_bot.settle()
    assert phone.new_messages() == []

    # A scheduler restarted under its own name puts back its claims at once.
    await add_timer(timed_bot, TimerKind.RERATING_OPENS, "restart", clock.now(), payload)
    async with timed_bot.db.transaction() as session:
        await claim_due(session, clock.now(), "same", lease=timedelta(minutes=5))
    assert await fire(timed_bot, Scheduler(timed_bot.db, clock=clock, owner="same")) == 1
    assert len(phone.new_messages()) == 1
    async with timed_bot.db.sessions() as session:
        events = await session.scalar(
            select(func.count()).select_from(InboxEvent).where(InboxEvent.chat_id == phone.address)
            .where(InboxEvent.event_id.like("timer:%"))
        )  # fmt: skip
    assert events == 2


def tap_from(phone: Phone, label: str) -> dict[str, Any]:
    """The update of tapping ``label`` on the latest message that has such a button."""
    for message in reversed(phone.messages()):
        for row in message.inline_keyboard or []:
            for button in row:
                if label in button["text"]:
                    return phone.make.callback(phone.chat_id, button["callback_data"])
    raise AssertionError(f"no button {label!r}")


@pytest.mark.telegram_only
async def test_a_reminder_in_the_middle_of_registration_keeps_the_question(
    timed_bot: RunningBot, clock: ManualClock
) -> None:
    phone = timed_bot.producer(CHAT)
    await phone.say("/start")
    await phone.tap("English")
    await phone.tap("Cooperative")
    await phone.say("Hop tac xa Nong nghiep Luc Ngan")
    await phone.say("0100109106")
    await phone.tap("Skip")
    await phone.say("Nguyen Thi Lan")
    await phone.say("Director")  # now: the gender question, with buttons
    async with timed_bot.db.sessions() as session:
        user_id = await session.scalar(select(ChannelIdentity.user_id))
        before = await session.scalar(select(Conversation))
    assert user_id is not None and before is not None

    async def the_registering_user(_session: AsyncSession, _timer: Timer) -> Iterable[int]:
        return [user_id]

    register_recipients(TimerKind.DEADLINE_REMINDER, the_registering_user)
    try:
        deadline = {"round_id": 1, "round_name": "Round 1 of 2026", "deadline": "2026-06-15"}
        await add_timer(
            timed_bot, TimerKind.DEADLINE_REMINDER, "round:1:14", clock.now(), deadline
        )
        assert await fire(timed_bot) == 1
        [reminder] = phone.new_messages()
        assert "Round 1 of 2026 closes for dossiers on Jun 15, 2026 (14 days left)" in (
            reminder.plain
        )
        assert [b["text"] for row in reminder.inline_keyboard or [] for b in row] == [
            "📅 Deadlines"
        ]
        async with timed_bot.db.sessions() as session:
            after = await session.scalar(select(Conversation))
            lines = (await session.scalars(select(TranscriptEntry.kind))).all()
        assert after is not None
        assert (after.flow, after.step, after.version) == (
            before.flow,
            before.step,
            before.version,
        )
        assert "timer" not in lines  # time passing is not something the user said
        # The gender buttons from before the reminder still answer the gender question.
        replies = await phone.push(tap_from(phone, "Female"))
        assert "ethnic" in replies[-1].plain
        replies = await phone.say("Kinh")  # now the phone question, with its keyboard
        assert any((m.reply_markup or {}).get("keyboard") for m in replies), (
            "the phone question shows its share-my-number keyboard"
        )
        clock.advance(days=7)
        deadline["round_id"] = 2
        await add_timer(timed_bot, TimerKind.DEADLINE_REMINDER, "round:1:7", clock.now(), deadline)
        assert await fire(timed_bot) == 1
        [reminder] = phone.new_messages()
        assert "(7 days left)" in reminder.plain
        assert "remove_keyboard" not in (reminder.reply_markup or {})
        replies = await phone.share_contact("+84912345678")
        assert "province" in replies[-1].plain.lower()
    finally:
        register_reminder_recipients()


@pytest.mark.telegram_only
async def test_a_blocked_chat_is_skipped(timed_bot: RunningBot, clock: ManualClock) -> None:
    phone, producer = await registered(timed_bot)
    await phone.push(phone.make.chat_member(CHAT, "kicked"))
    phone.new_messages()
    today = START.astimezone(LOCAL_TIMEZONE).date()
    payload = certificate_payload(producer, today)
    await add_timer(timed_bot, TimerKind.RERATING_CLOSING, "blocked", clock.now(), payload)
    assert await fire(timed_bot) == 1
    assert phone.new_messages() == []
    assert await timer_status(timed_bot, "blocked") == TimerStatus.DONE
    async with timed_bot.db.sessions() as session:
        events = await session.scalar(
            select(func.count()).select_from(InboxEvent)
            .where(InboxEvent.event_id.like("timer:%"))
        )  # fmt: skip
    assert events == 0


@pytest.mark.telegram_only
async def test_a_certified_product_is_reminded_of_its_rerating_window(
    timed_bot: RunningBot, clock: ManualClock
) -> None:
    phone = timed_bot.producer(CHAT)
    await rerating(phone, "2/5/2024")  # expires 2/5/2027; window 3/11/2026 to 2/1/2027
    async with timed_bot.db.sessions() as session:
        timers = (await session.scalars(select(Timer).order_by(Timer.due_at))).all()
    assert [(t.kind, t.due_at) for t in timers] == [
        (TimerKind.RERATING_OPENS, local_time(date(2026, 11, 3), 8)),
        (TimerKind.RERATING_CLOSING, local_time(date(2026, 12, 19), 8)),
    ]
    phone.new_messages()
    move_to(clock, local_time(date(2026, 11, 3), 7, 59))
    assert await fire(timed_bot) == 0
    move_to(clock, local_time(date(2026, 11, 3), 8))
    assert await fire(timed_bot) == 1
    [opens] = phone.new_messages()
    assert "125/QĐ-UBND for Gio may tre opens on Nov 3, 2026" in opens.plain
    assert "between Nov 3, 2026 and Jan 2, 2027" in opens.plain
    replies = await phone.push(tap_from(phone, "Open the dossier"))
    assert "Gio may tre" in replies[0].plain
    move_to(clock, local_time(date(2026, 12, 19), 8))
    assert await fire(timed_bot) == 1
    [closing] = phone.new_messages()
    assert "closes on Jan 2, 2027 (14 days left)" in closing.plain


async def test_a_reminder_that_fails_is_given_up_without_an_apology(
    timed_bot: RunningBot, clock: ManualClock
) -> None:
    phone, producer = await registered(timed_bot)

    async def broken(_ctx: StepContext) -> None:
        raise RuntimeError("the reminder's text cannot be built")

    register_timer_handler(TimerKind.RERATING_OPENS, broken)
    try:
        payload = {"producer_id": producer, "expires_on": "2027-06-15"}
        await add_timer(timed_bot, TimerKind.RERATING_OPENS, "r", clock.now(), payload)
        assert await fire(timed_bot) == 1
    finally:
        register_reminders()
    async with timed_bot.db.sessions() as session:
        event = await session.scalar(select(InboxEvent).where(InboxEvent.event_id.like("timer:%")))
    assert event is not None and (event.status, event.attempts) == ("failed", 3)
    assert phone.new_messages() == []  # no "sorry, your last message…": the user sent none
    replies = await phone.say("/menu")  # and the chat goes on
    assert "main menu" in replies[-1].plain
