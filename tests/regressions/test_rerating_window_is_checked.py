"""A re-rating dossier is filed 180 to 120 days before its certificate expires (Art. 7.6): the
bot asks the certificate's issue date, says when the window opens or that it has passed, and
refuses to submit outside it. "Today" is 29/11/2026 by the engine's clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.clock import ManualClock
from tests.files import make_pdf
from tests.handlers.test_documents import upload
from tests.harness import Producer, RunningBot, copy_database, register, running_bot

CHAT = 7_700_000_001


@pytest.fixture
async def bot(prepared_database: Path, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The bot whose steps see 29/11/2026 (10:00 in Vietnam) as today."""
    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    async with running_bot(url, tmp_path / "blobs", clock=ManualClock()) as running:
        yield running


async def rerating(phone: Producer, issued: str) -> list[str]:
    """Registers a handicraft product for re-rating, its certificate issued on ``issued``;
    returns what the bot said to the date."""
    await register(phone, language="English", confirm=True)
    await phone.tap("New product")
    await phone.tap("Handicrafts")
    await phone.tap("21.")
    for answer in ("Gio may tre", "Hand-woven bamboo baskets", "Paper box", "3000 pieces"):
        await phone.say(answer)
    await phone.tap("Skip")
    await phone.tap("Re-rating")
    await phone.say("125/QĐ-UBND")
    said = [m.plain for m in await phone.say(issued)]
    await phone.tap("Confirm")
    return said


async def file_what_is_needed(phone: Producer) -> list[str]:
    """Uploads the two documents needed to file and taps Submit; returns the answer."""
    for n, label in enumerate(("Registration form", "Production and business plan")):
        await upload(phone, label, make_pdf(f"document {n}"), f"doc{n}.pdf")
    assert "Submit the dossier" in " ".join(phone.buttons())
    return [m.plain for m in await phone.tap("Submit the dossier")]


async def test_an_issue_date_in_the_future_is_refused(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register(phone, language="English", confirm=True)
    await phone.tap("New product")
    await phone.say("thu cong my nghe gia dung")
    for answer in ("Gio may tre", "Hand-woven bamboo baskets", "Paper box", "3000 pieces"):
        await phone.say(answer)
    await phone.tap("Skip")
    await phone.tap("Re-rating")
    await phone.say("125/QĐ-UBND")
    replies = await phone.say("30/11/2026")
    assert "has not come yet" in replies[0].plain
    replies = await phone.say("31/2/2024")
    assert "no such date" in replies[0].plain


async def test_window_open(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    said = await rerating(phone, "1.5.2024")  # expires 1/5/2027; window 2/11/2026–1/1/2027
    assert any("can be filed now, until Jan 1, 2027" in text for text in said), said
    assert "expires on May 1, 2027" in phone.last.plain
    replies = await file_what_is_needed(phone)
    assert "Submit the dossier of Gio may tre now?" in replies[-1]
    submitted = await phone.tap("Submit")
    assert "is submitted" in submitted[0].plain


async def test_window_not_yet_open(bot: RunningBot) -> None:
    phone = bot.producer(CHAT + 1)
    said = await rerating(phone, "02-01-2026")  # expires 2/1/2029
    expected = (
        "can be filed from Jul 6, 2028 to Sep 4, 2028 (the certificate expires on Jan 2, 2029)"
    )
    assert any(expected in text for text in said), said
    assert expected in phone.last.plain  # the checklist repeats it
    replies = await file_what_is_needed(phone)
    assert expected in replies[-1]
    assert "Submit the dossier of" not in replies[-1]
    assert "is submitted" not in " ".join(m.plain for m in phone.messages())


async def test_window_passed(bot: RunningBot) -> None:
    phone = bot.producer(CHAT + 2)
    said = await rerating(phone, "1/12/2023")  # expires 1/12/2026; window closed 3/8/2026
    assert any("ended on Aug 3, 2026" in text and "first evaluation" in text for text in said)
    replies = await file_what_is_needed(phone)
    assert "ended on Aug 3, 2026" in replies[-1]
    assert "Submit the dossier of" not in replies[-1]


async def test_certificate_expired(bot: RunningBot) -> None:
    phone = bot.producer(CHAT + 3)
    said = await rerating(phone, "2023-11-01")  # expired 1/11/2026
    assert any("expired on Nov 1, 2026" in text for text in said), said
    replies = await file_what_is_needed(phone)
    assert "expired on Nov 1, 2026" in replies[-1]
    assert "register it as a new product with “First evaluation”" in replies[-1]
