"""Round deadlines in chat, through the fake Telegram server: /deadlines in English and
Vietnamese, the menu button, typed "han nop" anywhere; submitting a dossier files it to the open
round; after the deadline it is refused with the next round offered and nothing is lost; where
no round was ever set up, submission works as before (filed without a round)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.areas import find_province
from storage.clock import ManualClock
from storage.models import DocumentFile, Dossier, Official, Round, RoundArea, RoundEntry
from storage.states import DossierStatus, EntryStatus, OfficialRole, RoundLevel
from tests.files import make_pdf
from tests.handlers.test_documents import HANDICRAFT_REQUIRED, handicraft_dossier, upload
from tests.harness import RunningBot, copy_database, register, running_bot
from tests.rigs import CHANNELS as ALL_CHANNELS
from tests.rigs import rig_for

CHANNELS = ALL_CHANNELS

CHAT = 7_300_000_901
# 10:00 on 28 April 2026 in Vietnam: round 1's deadline (30 April) is two days ahead.
START = datetime(2026, 4, 28, 3, 0, tzinfo=UTC)


@pytest.fixture
async def clocked_bot(
    channel: str, prepared_database: Path, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    clock = ManualClock(START)
    async with running_bot(url, tmp_path / "blobs", clock=clock,
                           rig=rig_for(channel, clock)) as running:  # fmt: skip
        yield running


def clock_of(bot: RunningBot) -> ManualClock:
    clock = bot.app.engine.clock
    assert isinstance(clock, ManualClock)
    return clock


def texts(messages: list[object]) -> str:
    return "\n".join(str(getattr(m, "plain", "")) for m in messages)


async def add_round(
    bot: RunningBot,
    name: str,
    opens: date,
    deadline: date,
    *,
    province: str = "bac ninh",
) -> int:
    """A province round covering ``province``, set up by an administrator."""
    now = clock_of(bot).now()
    async with bot.db.transaction() as session:
        admin = await session.scalar(select(Official).where(Official.username == "admin"))
        if admin is None:
            admin = Official(
                username="admin", display_name="Admin", role=OfficialRole.ADMIN,
                password_hash="-", created_at=now, updated_at=now,
            )  # fmt: skip
            session.add(admin)
            await session.flush()
        (found,) = await find_province(session, province)
        row = Round(
            level=RoundLevel.PROVINCE, name=name, year=deadline.year, opens_on=opens,
            submission_deadline=deadline, evaluation_deadline=deadline + timedelta(30),
            results_on=deadline + timedelta(60), rules_version="2026.1", created_by=admin.id,
            created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(row)
        await session.flush()
        session.add(RoundArea(round_id=row.id, area_id=found.area.id))
        return row.id


async def entries(bot: RunningBot) -> list[RoundEntry]:
    async with bot.db.sessions() as session:
        return list(await session.scalars(select(RoundEntry).order_by(RoundEntry.id)))


async def ready_to_submit(bot: RunningBot) -> None:
    """A registered producer (English) with a handicraft product whose required documents are
    in; ends at the product's checklist."""
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    for n, label in enumerate(HANDICRAFT_REQUIRED):
        await upload(phone, label, make_pdf(f"document {n}"), f"doc{n}.pdf")
    assert "The dossier can be submitted now." in phone.last.plain


async def test_deadlines_in_english_then_submitted_to_the_round(clocked_bot: RunningBot) -> None:
    bot = clocked_bot
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)

    none_yet = texts(await phone.say("/deadlines"))
    assert "No evaluation round has been announced for your area yet" in none_yet
    assert "The office will announce it" in none_yet

    round_id = await add_round(bot, "Province round 1 2026", date(2026, 1, 1), date(2026, 4, 30))
    later = await add_round(bot, "Province round 2 2026", date(2026, 5, 15), date(2026, 10, 30))
    await phone.say("/menu")
    shown = texts(await phone.tap("Round deadlines"))
    assert (
        "Province round 1 2026 (province level): open now; dossiers until Apr 30, 2026 "
        "(2 days left)." in shown
    )
    assert "• Gio may tre: ⬜ still missing to file: Registration form (Form 01); " in shown
    assert "Province round 2 2026 (province level): opens on May 15, 2026" in shown
    assert shown.index("round 1") < shown.index("round 2")  # soonest deadline first
    assert "My products" in " ".join(phone.buttons())

    # Upload what is needed, then submit: filed to round 1, named with its deadline.
    await phone.tap("My products")
    await phone.tap("Gio may tre")
    for n, label in enumerate(HANDICRAFT_REQUIRED):
        await upload(phone, label, make_pdf(f"document {n}"), f"doc{n}.pdf")
    asked = texts(await phone.tap("Submit the dossier"))
    assert "It goes to Province round 1 2026 (dossiers until Apr 30, 2026)." in asked
    done = texts(await phone.tap("Submit"))
    assert "is submitted. It goes to Province round 1 2026" in done
    (entry,) = await entries(bot)
    assert entry.round_id == round_id and entry.status == EntryStatus.SUBMITTED
    assert entry.submitted_at == clock_of(bot).now()

    clock_of(bot).advance(days=1)  # 29 April
    shown = texts(await phone.say("/deadlines"))
    assert "(tomorrow is the last day)" in shown
    assert "• Gio may tre: ✅ submitted to this round" in shown
    assert later  # round 2 still listed, with the product submitted elsewhere
    assert "• Gio may tre: submitted to Province round 1 2026" in shown


async def test_typed_han_nop_in_vietnamese_anywhere(clocked_bot: RunningBot) -> None:
    bot = clocked_bot
    phone = bot.producer(CHAT)
    await register(phone, confirm=True)
    await add_round(bot, "Đợt 1 cấp tỉnh 2026", date(2026, 1, 1), date(2026, 4, 28))
    shown = texts(await phone.say("cho hỏi han nop ho so khi nao?"))
    assert "Đợt 1 cấp tỉnh 2026 (cấp tỉnh)" in shown
    assert "28/04/2026" in shown and "hôm nay là ngày cuối" in shown
    assert "Anh/chị chưa có sản phẩm nào" in shown

    # In the middle of a form the answer comes, and the form's question is asked again.
    await phone.say("/menu")
    await phone.tap("San pham moi")
    asked = phone.last.plain
    replies = await phone.say("Hạn chót là bao giờ?")
    assert "Đợt 1 cấp tỉnh 2026" in replies[0].plain
    assert replies[-1].plain == asked


async def test_refused_after_the_deadline_with_the_next_round_then_filed(
    clocked_bot: RunningBot,
) -> None:
    bot = clocked_bot
    await add_round(bot, "Province round 1 2026", date(2026, 1, 1), date(2026, 4, 30))
    await ready_to_submit(bot)
    phone = bot.producer(CHAT)
    clock_of(bot).advance(days=3)  # 1 May: round 1 closed, nothing next yet
    refused = texts(await phone.tap("Submit the dossier"))
    assert "the next one is not announced yet. Your documents are kept" in refused

    second = await add_round(bot, "Province round 2 2026", date(2026, 5, 15), date(2026, 10, 30))
    refused = texts(await phone.tap("Submit the dossier"))
    assert "The submission deadline has passed" in refused
    assert "The next round, Province round 2 2026, opens on May 15, 2026" in refused
    async with bot.db.sessions() as session:
        dossier = await session.scalar(select(Dossier))
        kept = await session.scalar(select(func.count()).select_from(DocumentFile))
    assert dossier is not None and dossier.status == DossierStatus.DRAFT and kept == 2
    assert await entries(bot) == []

    clock_of(bot).advance(days=14)  # 15 May: round 2 opens
    await phone.tap("Submit the dossier")
    done = texts(await phone.tap("Submit"))
    assert "It goes to Province round 2 2026 (dossiers until Oct 30, 2026)." in done
    (entry,) = await entries(bot)
    assert entry.round_id == second


async def test_without_any_round_submission_works_as_before(clocked_bot: RunningBot) -> None:
    bot = clocked_bot
    # A round for another province does not concern this producer.
    await add_round(bot, "Đợt 1 Hà Nội", date(2026, 1, 1), date(2026, 4, 1), province="ha noi")
    await ready_to_submit(bot)
    phone = bot.producer(CHAT)
    await phone.tap("Submit the dossier")
    done = texts(await phone.tap("Submit"))
    assert "is submitted." in done and "It goes to" not in done
    async with bot.db.sessions() as session:
        dossier = await session.scalar(select(Dossier))
    assert dossier is not None and dossier.status == DossierStatus.SUBMITTED
    assert await entries(bot) == []


async def test_products_command_of_an_announcements_button(clocked_bot: RunningBot) -> None:
    # An announcement's "📦 My products" button runs /products: the list, from any step.
    phone = clocked_bot.producer(CHAT)
    await handicraft_dossier(phone)
    shown = texts(await phone.say("/products"))
    assert "Tap a product to see its dossier." in shown
    assert "Gio may tre" in " ".join(phone.buttons())
