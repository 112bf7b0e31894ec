"""Regression: an invitation could only be typed; a colleague was pushed into registration.

With ``OCOP_TELEGRAM_BOT_USERNAME`` set, the invitation carries ``t.me/<bot>?start=<code>``;
Telegram delivers it as ``/start <code>``, which joins at once, even as a brand-new user's very
first message (no language question first: the platform's language is used). The link's code
is masked in every stored copy, like a typed one.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import InboxEvent, ProducerMember, TranscriptEntry, User
from tests.harness import RunningBot, copy_database, register, running_bot

INVITER = 7_500_000_001
COLLEAGUE = 7_500_000_101
LINK = re.compile(r"https://t\.me/ocop_test_bot\?start=([A-Z2-9]{12})")


@pytest.fixture
async def linked_bot(prepared_database: Path, tmp_path: Path) -> AsyncIterator[RunningBot]:
    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    async with running_bot(
        url, tmp_path / "blobs", telegram_bot_username="ocop_test_bot"
    ) as running:
        yield running


async def invitation(bot: RunningBot) -> str:
    phone = bot.producer(INVITER)
    await register(phone, language="English", confirm=True)
    return (await phone.tap("Invite"))[-1].plain


async def test_the_link_joins_a_new_colleague_at_once(linked_bot: RunningBot) -> None:
    found = LINK.search(await invitation(linked_bot))
    assert found is not None
    code = found.group(1)
    colleague = linked_bot.producer(COLLEAGUE)
    replies = await colleague.say(f"/start {code}")  # what Telegram sends for the link
    assert "cùng quản lý hồ sơ OCOP của Hop tac xa Nong nghiep Luc Ngan" in replies[0].plain
    assert "Sản phẩm" in " ".join(colleague.buttons())  # the registered member's menu
    async with linked_bot.db.sessions() as session:
        member = await session.scalar(
            select(ProducerMember).where(ProducerMember.role == "member")
        )
        user = await session.get(User, member.user_id) if member else None
        inbox = [json.dumps(r.payload) for r in (await session.scalars(select(InboxEvent)))]
        lines = [r.text for r in (await session.scalars(select(TranscriptEntry)))]
    assert user is not None and user.locale == "vi"
    assert all(code not in text for text in inbox + lines)
    assert "/start ••••" in lines


async def test_a_wrong_link_asks_for_the_code(linked_bot: RunningBot) -> None:
    await invitation(linked_bot)
    colleague = linked_bot.producer(COLLEAGUE)
    replies = await colleague.say("/start ABCDEFGHJKMN")
    assert "không đúng" in replies[0].plain
    assert "nhập mã tham gia" in replies[-1].plain


async def test_without_the_username_there_is_no_link(bot: RunningBot) -> None:
    text = await invitation(bot)
    assert "t.me" not in text
