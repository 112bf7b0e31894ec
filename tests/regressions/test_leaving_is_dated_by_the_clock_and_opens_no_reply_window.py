"""A user who blocks the bot (Telegram's "kicked", Zalo's unfollow) is marked unreachable at the
engine's Clock time, not the machine's; and leaving is not the user writing, so it does not
reopen a reply window (Zalo OA lets us write only within a while after the user's last message)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from storage.clock import ManualClock
from storage.models import ChannelIdentity
from tests.harness import bot_on

CHAT = 7_000_000_801


async def test_leaving_is_dated_by_the_clock_and_opens_no_reply_window(
    prepared_database: Path, tmp_path: Path
) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 3, 0, tzinfo=UTC))
    async with bot_on("sqlite", prepared_database, tmp_path, clock=clock) as bot:
        phone = bot.producer(CHAT)
        await phone.say("/start")
        clock.advance(hours=3)
        await phone.push(phone.make.chat_member(CHAT, "kicked"))
        async with bot.db.sessions() as session:
            identity = await session.scalar(
                select(ChannelIdentity).where(ChannelIdentity.chat_id == str(CHAT))
            )
        assert identity is not None
        assert identity.blocked_at == clock.now()
        assert identity.last_inbound_at == clock.now() - timedelta(hours=3)
