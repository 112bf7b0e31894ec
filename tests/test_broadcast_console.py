"""An announcement from the console to the chats and back: a province official writes it in
the console (both languages, a button, their province), confirms "send now"; the real bot
sends it through the fake Bot API; each producer reads it in their language; the
announcement's page then shows it done with every recipient's outcome, the blocked one
included, and the transcript shows the copy under the official's name."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import http_app
from storage.clock import ManualClock, utcnow
from storage.models import ChannelIdentity, ProducerMember
from storage.states import OfficialRole
from tests.console.conftest import PASSWORD, Console, csrf_of
from tests.harness import Producer as Phone
from tests.harness import RunningBot, copy_database, register, running_bot
from tests.scoring_data import council_official

VI = "Vòng 2 năm 2027 đã mở; nộp hồ sơ về UBND xã trước ngày 30/10/2027."
EN = "Round 2 of 2027 is open; dossiers to your commune by 30 October 2027."


@pytest.fixture
async def both(
    prepared_database: Path, tmp_path: Path
) -> AsyncIterator[tuple[RunningBot, Console]]:
    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    clock = ManualClock(utcnow())
    async with (
        running_bot(url, tmp_path / "blobs", clock=clock) as bot,
        TestClient(TestServer(http_app(bot.app))) as client,
    ):
        yield bot, Console(client, bot.db, clock)


def words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def test_a_console_announcement_reaches_the_chats_and_its_outcomes_show(
    both: tuple[RunningBot, Console],
) -> None:
    bot, console = both
    vi, en, gone = (bot.producer(c) for c in (7_600_000_001, 7_600_000_002, 7_600_000_003))
    await register(vi, confirm=True)
    await register(en, language="English", confirm=True)
    await register(gone, confirm=True)
    for phone in (vi, en, gone):
        phone.new_messages()
    bot.api.block(gone.chat_id)
    bac_ninh = await console.area("bac ninh")
    await council_official(
        console.db, "tinh.bacninh", OfficialRole.PROVINCE, [bac_ninh], password=PASSWORD,
        council=False, locale="en", name="Bắc Ninh OCOP office",
    )  # fmt: skip
    await console.sign_in_as("tinh.bacninh")

    form = await (await console.get("/console/announcements/new")).text()
    sent = await console.post(
        "/console/announcements/new",
        [("csrf_token", csrf_of(form)), ("text_vi", VI), ("text_en", EN),
         ("buttons", "deadlines"), ("areas", str(bac_ninh.id)), ("action", "send")],
    )  # fmt: skip
    assert sent.status == 303, await sent.text()
    confirm = await (await console.get(sent.headers["Location"])).text()
    assert "It will go to 3 people" in confirm  # the blocked chat is not known to be yet
    announcement_id = int(sent.headers["Location"].split("/")[3])
    done = await console.post(
        f"/console/announcements/{announcement_id}/send",
        [("csrf_token", csrf_of(confirm)), ("version", "1"), ("at", "now")],
    )
    assert done.status == 303

    for _ in range(20):
        await bot.app.broadcaster.step()
        await bot.settle()
    (copy_vi,) = vi.new_messages()
    (copy_en,) = en.new_messages()
    assert VI in copy_vi.plain and "Để không nhận thông báo nữa" in copy_vi.plain
    assert EN in copy_en.plain and en.buttons() == ["📅 See deadlines"]
    assert gone.new_messages() == []

    shown = words(await (await console.get(f"/console/announcements/{announcement_id}")).text())
    assert "Sent: 2" in shown and "Failed, blocked the bot: 1" in shown, shown
    assert "3 of 3 settled" in shown
    transcript = words(
        await (await console.get(f"/console/producers/{await producer_of(bot, vi)}/transcript"))
        .text()
    )  # fmt: skip
    assert VI in transcript and "Bắc Ninh OCOP office" in transcript


async def producer_of(bot: RunningBot, phone: Phone) -> int:
    async with bot.db.sessions() as session:
        return int(
            await session.scalar(
                select(ProducerMember.producer_id)
                .join(ChannelIdentity, ChannelIdentity.user_id == ProducerMember.user_id)
                .where(ChannelIdentity.chat_id == str(phone.chat_id))
            )
            or 0
        )
