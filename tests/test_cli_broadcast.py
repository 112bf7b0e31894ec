"""``ocop-bot broadcast`` as an operator runs it, beside a running bot on the same database
and the fake Bot API: the reach before sending, a refusal without confirmation, a file that is
not a PDF or picture refused, sending with progress until done (each producer gets exactly one
copy although the running bot's sender works the same outbox), a round's ready-made
announcement, the list and cancelling."""

from __future__ import annotations

import io
import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli_broadcast import run_broadcast
from bot.cli_help import build_parser
from bot.settings import Settings
from storage.announcements import Announcement, delivery_counts
from storage.areas import find_province
from storage.clock import ManualClock, utcnow
from storage.officials import add_official, official_by_username, scope_of
from storage.rounds import RoundValues, create_round
from storage.states import AnnouncementStatus, DeliveryStatus, OfficialRole, RoundLevel
from tests.harness import RunningBot, copy_database, register, running_bot

CHATS = [7_500_000_001, 7_500_000_002, 7_500_000_003]


@pytest.fixture
async def bot(prepared_database: Path, tmp_path: Path) -> AsyncIterator[RunningBot]:
    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    async with running_bot(url, tmp_path / "blobs", clock=ManualClock(utcnow())) as running:
        for chat in CHATS:
            phone = running.producer(chat)
            await register(phone, confirm=True)
            phone.new_messages()
        async with running.db.transaction() as session:
            province = (await find_province(session, "Bắc Ninh"))[0].area
            await add_official(
                session, username="bacninh", display_name="Cán bộ Bắc Ninh",
                role=OfficialRole.PROVINCE, areas=[province], locale="vi",
                password="mat-khau-dai-du-12", clock=running.app.clock,
            )  # fmt: skip
        yield running


async def operator(bot: RunningBot, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """Runs ``ocop-bot broadcast ARGS`` in this process with the bot's settings."""
    settings = Settings(
        database_url=str(bot.db.engine.url),
        telegram_token=bot.api.token,
        telegram_api_url=bot.api.url,
        blob_dir=Path(bot.app.settings.blob_dir),
        poll_interval=0.05,
    )
    out, err = io.StringIO(), io.StringIO()
    old_stdin, old_err = sys.stdin, sys.stderr
    sys.stdin, sys.stderr = io.StringIO(stdin), err
    try:
        code = await run_broadcast(settings, build_parser().parse_args(["broadcast", *args]), out)
    finally:
        sys.stdin, sys.stderr = old_stdin, old_err
    return code, out.getvalue(), err.getvalue()


async def test_count_confirm_and_send_with_progress(bot: RunningBot, tmp_path: Path) -> None:
    code, out, _ = await operator(bot, "send", "--as", "bacninh", "--text-vi", "Chào", "--count")
    assert code == 0
    assert out.startswith("3 people will receive it (3 of 3 producers); 0 blocked the bot")

    code, _, err = await operator(bot, "send", "--as", "bacninh", "--text-vi", "Chào")
    assert code == 1 and "add --yes" in err  # no terminal to confirm at

    program = tmp_path / "huong-dan.pdf"
    program.write_bytes(b"MZ\x90\x00" + bytes(200))  # a Windows program named .pdf
    code, _, err = await operator(
        bot, "send", "--as", "bacninh", "--text-vi", "Chào", "--file", str(program), "--yes"
    )
    assert code == 1 and "is not a PDF, JPEG or PNG file" in err

    code, out, err = await operator(
        bot, "send", "--as", "bacninh", "--text-vi", "Vòng 2 đã mở.",
        "--text-en", "Round 2 is open.",
        "--button", "📅 Xem hạn nộp|/deadlines|📅 See deadlines", "--yes",
    )  # fmt: skip
    assert code == 0, err
    assert "scheduled for now" in out
    assert "[████████████████████████] 100% 3/3 · sent 3" in out
    assert out.rstrip().endswith(": done.")
    for chat in CHATS:  # exactly one copy each
        assert sum("Vòng 2 đã mở." in m.plain for m in bot.api.sent_to(chat)) == 1

    code, out, _ = await operator(bot, "list")
    assert code == 0 and "\tdone\t" in out and "3/3" in out


async def test_a_rounds_ready_made_announcement_for_later_and_cancelled(bot: RunningBot) -> None:
    async with bot.db.transaction() as session:
        province = (await find_province(session, "Bắc Ninh"))[0].area
        writer = await official_by_username(session, "bacninh")
        assert writer is not None
        round_ = await create_round(
            session, await scope_of(session, writer),
            RoundValues(
                level=RoundLevel.PROVINCE, name="Vòng 2 năm 2027", opens_on=date(2027, 9, 1),
                submission_deadline=date(2027, 10, 30), evaluation_deadline=date(2027, 12, 15),
                results_on=date(2027, 12, 30), ceremony_on=None, area_ids=(province.id,),
            ),
            rules_version="2026.1", now=bot.app.clock.now(),
        )  # fmt: skip
    code, out, err = await operator(
        bot, "send", "--as", "bacninh", "--announce-round", str(round_.id),
        "--at", "2099-01-01 08:00", "--yes",
    )  # fmt: skip
    assert code == 0, err
    assert "scheduled for 2099-01-01 08:00" in out
    async with bot.db.sessions() as session:
        (announcement,) = (await session.scalars(select(Announcement))).all()
    assert "30/10/2027" in announcement.text_vi and announcement.text_en
    assert [b["command"] for b in announcement.buttons] == ["/deadlines", "/products"]
    assert announcement.round_id == round_.id

    code, out, _ = await operator(bot, "cancel", str(announcement.id), "--as", "bacninh")
    assert code == 0 and "cancelled" in out
    async with bot.db.sessions() as session:
        status = await session.scalar(select(Announcement.status))
        counts = await delivery_counts(session, announcement.id)
    assert status == AnnouncementStatus.CANCELLED and counts.of(DeliveryStatus.SENT) == 0
    code, _, err = await operator(bot, "cancel", str(announcement.id), "--as", "bacninh")
    assert code == 1 and err.startswith("Nothing was changed")
