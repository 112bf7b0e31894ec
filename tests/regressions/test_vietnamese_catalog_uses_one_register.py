"""Regression: the Vietnamese catalog called the producer "bạn" and "đơn vị" and said "đã duyệt".

The bot speaks to producers as "anh/chị", calls the organisation "chủ thể" (chủ thể OCOP), names
the filing office "UBND xã/phường" rather than a vague "cơ quan OCOP", and never says a dossier
was "approved" ("đã duyệt", "đã chấp nhận" read as certification): a valid dossier is "hợp lệ,
được chuyển Hội đồng đánh giá, phân hạng". Dates read 29/11/2026 in Vietnamese.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from babel.messages.pofile import read_po
from sqlalchemy import select

from bot.i18n import LOCALES_DIR, translator
from bot.rules import rules
from storage.models import Producer
from tests.harness import RunningBot, register

CHAT = 7_300_000_013

# What the Vietnamese catalog must never say, and why.
FORBIDDEN = {
    r"\bbạn\b": "the producer is “anh/chị”",
    r"đơn vị(?! tính)": "the organisation is “chủ thể” (a unit of measure is “đơn vị tính”)",
    r"thay mặt": "joining an account is not legal representation",
    r"cơ quan OCOP|văn phòng OCOP": "the office is “UBND xã/phường” or “cán bộ OCOP”",
    r"(đã|được) (duyệt|chấp nhận)": "a valid dossier “hợp lệ, được chuyển Hội đồng …”",
    r"Chủ tịch HTX": "the position is “Chủ tịch HĐQT HTX”",
    r"đánh giá lại": "re-rating is “đánh giá, phân hạng lại”",
}


def vietnamese_strings() -> dict[str, str]:
    """Every msgid of the Vietnamese catalog with its translation (plural forms joined)."""
    with (LOCALES_DIR / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="vi")
    strings = {}
    for message in catalog:
        if message.id:
            key = message.id if isinstance(message.id, str) else message.id[0]
            value = message.string
            strings[key] = value if isinstance(value, str) else " | ".join(value)
    return strings


def test_no_vietnamese_string_breaks_the_register() -> None:
    offences = [
        f"{msgid!r} → {text!r}: {why}"
        for msgid, text in vietnamese_strings().items()
        for pattern, why in FORBIDDEN.items()
        if re.search(pattern, text, re.IGNORECASE)
    ]
    assert offences == []


def test_the_worst_strings_say_what_the_law_means() -> None:
    vi = translator("vi")
    assert vi.gettext("approved") == "hợp lệ, được chuyển Hội đồng đánh giá, phân hạng"
    assert vi.gettext("Chair of the cooperative's board") == "Chủ tịch HĐQT HTX"
    assert vi.gettext("This account is already linked to an OCOP producer.") == (
        "Tài khoản này đã gắn với một chủ thể OCOP."
    )
    welcome = vi.gettext("Welcome! You now help manage the OCOP dossiers of {name}.")
    assert "Từ nay anh/chị cùng quản lý hồ sơ OCOP của {name}" in welcome
    assert vi.gettext("👥 Invite a member to work on the dossier") == (
        "👥 Mời thành viên cùng làm hồ sơ"
    )
    filing = vi.gettext("File the dossier at {where}: {how}.").format(
        where=rules().filing.where.vi, how=rules().filing.how.vi
    )
    assert "Nộp hồ sơ tại UBND xã/phường" in filing


def test_vietnamese_dates_read_day_month_year() -> None:
    assert translator("vi").date(date(2026, 11, 29)) == "29/11/2026"
    assert translator("vi").date(date(2026, 6, 3)) == "03/06/2026"
    assert translator("vi").datetime(datetime(2026, 11, 29, 3, 5, tzinfo=UTC)) == (
        "10:05 29/11/2026"
    )
    assert translator("en").date(date(2026, 11, 29)) == "Nov 29, 2026"


async def test_a_vietnamese_producer_is_called_anh_chi_and_reads_dd_mm_yyyy(
    bot: RunningBot,
) -> None:
    phone = bot.producer(CHAT)
    await register(phone, confirm=True)
    await phone.say("/menu")
    await phone.tap("Thong tin chu the")  # the profile, with the day it registered
    said = [message.plain for message in phone.messages()]
    assert not [text for text in said if re.search(r"\bbạn\b", text, re.IGNORECASE)]
    assert any("anh/chị" in text.lower() for text in said)
    async with bot.db.sessions() as session:
        producer = await session.scalar(select(Producer))
    assert producer is not None
    registered = producer.created_at.date()
    assert f"{registered:%d/%m/%Y}" in phone.last.plain
