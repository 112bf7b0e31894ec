"""A whole evaluation year through the real wire, with a clock moved by hand: the bot talking to
two producers over the fake Telegram Bot API (one in English, one in Vietnamese) and the
officials' console over HTTP on the same application, database and clock.

A province official creates round 1 (opens 1 Jan 2027, dossiers until 30 April, results 30 June)
and round 2 (opens 1 June) from the default calendar; both producers are reminded 14 days before
round 1's deadline (not a minute before 08:00), only the one who has not filed 7 days and 1 day
before; a dossier filed on 20 April goes to round 1, one filed on 2 May is refused with round 2
offered and goes there once it opens. Three council members score the entry (one ticks a
knock-out the others do not), the chair closes the scores, the results are published and the
certificate issued on 10 July 2027 (the producer told each time, ``/results`` shows it, the
public verify page and the certificate's QR code say it is valid); the re-rating reminders come on
the window's opening day and 14 days before it closes; the certificate is revoked on a ground,
the producer is told why, the verify page says so, and nothing more is sent.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from html import unescape
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import http_app
from storage.clock import ManualClock, local_time
from storage.models import Official, RoundEntry
from storage.states import EntryStatus, OfficialRole
from tests.console.conftest import PASSWORD, Console, csrf_of
from tests.console.test_results import assert_qr_carries
from tests.console.test_rounds import field, page
from tests.files import make_pdf
from tests.handlers.test_documents import HANDICRAFT_REQUIRED, handicraft_dossier, upload
from tests.handlers.test_reminders import fire, move_to
from tests.harness import Producer as Phone
from tests.harness import RunningBot, copy_database, register, running_bot
from tests.scoring_data import council_official

CHAT_A = 7_500_000_001  # English: Gio may tre, certified
CHAT_B = 7_500_000_002  # Vietnamese: Non la Chuong, late
START = datetime(2026, 12, 15, 3, 0, tzinfo=UTC)  # 10:00 on 15 December 2026 in Vietnam
ROUND_1, ROUND_2 = "Đợt 1 cấp tỉnh 2027", "Đợt 2 cấp tỉnh 2027"
REQUIRED_VI = ("Phieu dang ky", "Phuong an san xuat")


@pytest.fixture
async def year(
    prepared_database: Path,
    tmp_path: Path,
) -> AsyncIterator[tuple[RunningBot, Console]]:
    """The bot and the console on one application, database and manual clock."""
    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    clock = ManualClock(START)
    async with (
        running_bot(url, tmp_path / "blobs", clock=clock) as bot,
        TestClient(TestServer(http_app(bot.app))) as client,
    ):
        yield bot, Console(client, bot.db, clock)


def words(html: str) -> str:
    """A page's text: tags dropped, entities read, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def text(messages: list[object]) -> str:
    return "\n".join(str(getattr(m, "plain", "")) for m in messages)


async def at(console: Console, day: date, hour: int = 10, minute: int = 0) -> None:
    move_to(console.clock, local_time(day, hour, minute))


async def vietnamese_hat(phone: Phone) -> None:
    """Registers in Vietnamese with a handicraft product (set 21) whose required papers are
    in; ends at the product's checklist."""
    await register(phone, language="Tiếng Việt", confirm=True)
    await phone.tap("San pham moi")
    await phone.tap("Thu cong")
    await phone.tap("21.")
    for answer in ("Non la Chuong", "Non la dan tay bang la co", "Tui giay", "3000 chiec"):
        await phone.say(answer)
    await phone.tap("Bo qua")
    await phone.tap("lan dau")
    await phone.tap("Xac nhan")
    for n, label in enumerate(REQUIRED_VI):
        await phone.tap(label)
        await phone.send_document(make_pdf(f"giay to {n}"), f"b{n}.pdf")
        await phone.tap("Xong")
    assert "Hồ sơ đã có thể nộp." in phone.last.plain


async def open_product(phone: Phone, menu: str, product: str) -> None:
    """From wherever the chat is: the menu, the producer's products, the product."""
    await phone.say("/menu")
    await phone.tap(menu)
    await phone.tap(product)


async def test_a_whole_year(year: tuple[RunningBot, Console]) -> None:
    bot, console = year
    a, b = bot.producer(CHAT_A), bot.producer(CHAT_B)

    # -- December 2026: two producers with a handicraft product each; the officials ----------
    await handicraft_dossier(a)
    for n, label in enumerate(HANDICRAFT_REQUIRED):
        await upload(a, label, make_pdf(f"document {n}"), f"doc{n}.pdf")
    assert "The dossier can be submitted now." in a.last.plain
    await vietnamese_hat(b)
    bac_ninh = await console.area("bac ninh")
    office = await council_official(
        console.db, "tinh.bacninh", OfficialRole.PROVINCE, [bac_ninh], password=PASSWORD,
        council=False, locale="vi", name="Văn phòng OCOP tỉnh",
    )  # fmt: skip
    chair, second, third = [
        await council_official(console.db, username, OfficialRole.PROVINCE, [bac_ninh],
                               password=PASSWORD, locale="en", name=name)
        for username, name in (("hd.chu", "Chu Chair"), ("hd.hai", "Hai Member"),
                               ("hd.ba", "Ba Member"))
    ]  # fmt: skip

    # The province official creates both rounds from the default calendar.
    await console.sign_in_as("tinh.bacninh")
    form = await page(console, "/console/rounds/new")
    dates = ("opens_on", "submission_deadline", "evaluation_deadline", "results_on")
    first = {name: field(form, name) for name in ("name", *dates)}
    assert first == {
        "name": ROUND_1, "opens_on": "2027-01-01", "submission_deadline": "2027-04-30",
        "evaluation_deadline": "2027-06-30", "results_on": "2027-06-30",
    }  # fmt: skip
    created = await console.post(
        "/console/rounds/new",
        {"csrf_token": csrf_of(form), **first, "level": "province", "areas": str(bac_ninh.id)},
    )
    assert created.status == 303, await created.text()
    round_1 = int(created.headers["Location"].rsplit("/", 1)[1])
    form = await page(console, "/console/rounds/new?template=province-1")
    later = {name: field(form, name) for name in ("name", *dates)}
    assert later["name"] == ROUND_2
    later["opens_on"] = "2027-06-01"
    created = await console.post(
        "/console/rounds/new",
        {"csrf_token": csrf_of(form), **later, "level": "province", "areas": str(bac_ninh.id)},
    )
    assert created.status == 303, await created.text()
    round_2 = int(created.headers["Location"].rsplit("/", 1)[1])
    listed = await page(console, "/console/rounds")
    assert ROUND_1 in listed and ROUND_2 in listed and "30/04/2027" in listed
    a.new_messages(), b.new_messages()

    # -- April 2027: the reminders before round 1's deadline ----------------------------------
    await at(console, date(2027, 4, 16), 7, 59)
    assert await fire(bot) == 0
    assert a.new_messages() == [] and b.new_messages() == []
    await at(console, date(2027, 4, 16), 8)
    assert await fire(bot) == 1
    [reminded_a], [reminded_b] = a.new_messages(), b.new_messages()
    assert f"{ROUND_1} closes for dossiers on Apr 30, 2027 (14 days left)" in reminded_a.plain
    assert "30/04/2027" in reminded_b.plain and "còn 14 ngày" in reminded_b.plain
    assert "Hạn nộp hồ sơ" in reminded_b.plain

    await at(console, date(2027, 4, 20))
    await open_product(a, "My products", "Gio may tre")
    await a.tap("Submit the dossier")
    filed = text(await a.tap("Submit"))
    assert f"is submitted. It goes to {ROUND_1}" in filed

    await at(console, date(2027, 4, 23), 8)
    assert await fire(bot) == 1
    assert a.new_messages() == []  # A filed: only B is reminded
    [reminded_b] = b.new_messages()
    assert "30/04/2027" in reminded_b.plain and "còn 7 ngày" in reminded_b.plain
    assert await fire(bot) == 0  # the scheduler again: nothing twice
    assert a.new_messages() == [] and b.new_messages() == []

    await at(console, date(2027, 4, 29), 8)
    assert await fire(bot) == 1
    [reminded_b] = b.new_messages()
    assert "còn 1 ngày" in reminded_b.plain and a.new_messages() == []

    # -- 2 May: too late for round 1; round 2 is offered, and takes the dossier in June --------
    await at(console, date(2027, 5, 2))
    await open_product(b, "San pham cua toi", "Non la Chuong")
    refused = text(await b.tap("Nop ho so"))
    assert "Đã hết hạn nộp hồ sơ" in refused
    assert f"Đợt tiếp theo, {ROUND_2}, mở từ ngày 01/06/2027" in refused
    assert "Tài liệu của anh/chị vẫn được giữ nguyên." in refused
    await at(console, date(2027, 6, 1))
    await b.tap("Nop ho so")
    filed = text(await b.tap("Nop"))
    assert f"Hồ sơ được nộp vào {ROUND_2} (hạn nộp 30/10/2027)." in filed
    async with bot.db.sessions() as session:
        entries = {e.round_id: e for e in await session.scalars(select(RoundEntry))}
    assert sorted(entries) == [round_1, round_2]
    entry = entries[round_1]

    # -- the council: seated, the entry assigned, three sheets, the chair closes ------------
    await at(console, date(2027, 6, 2))
    await console.sign_in_as("tinh.bacninh")  # months later: signed in again
    board = await page(console, f"/console/rounds/{round_1}")
    assert "Gio may tre" in board and "Non la Chuong" not in board
    assigned = await console.post(
        f"/console/rounds/{round_1}/entries/{entry.id}/assign",
        {"csrf_token": csrf_of(board), "official": str(office.id),
         "version": str(entry.version)},
    )  # fmt: skip
    assert assigned.status == 303, await assigned.text()
    council = await page(console, f"/console/rounds/{round_1}/council")
    for member in (chair, second, third):
        seated = await console.post(
            f"/console/rounds/{round_1}/council/members",
            {"csrf_token": csrf_of(council), "official": str(member.id),
             **({"chair": "1"} if member is chair else {})},
        )  # fmt: skip
        assert seated.status == 303, await seated.text()

    await at(console, date(2027, 6, 10))
    sheets = {  # A, B, C of set 21 (40, 25, 35): 80, 85 and 75 points
        "hd.chu": {"A": "32", "B": "20", "C": "28"},
        "hd.hai": {"A": "34", "B": "21", "C": "30"},
        "hd.ba": {"A": "30", "B": "19.5", "C": "25.5"},
    }
    for username, points in sheets.items():
        await console.sign_in_as(username)
        sheet = await page(console, f"/console/entries/{entry.id}/score")
        assert "Gio may tre" in sheet
        fields = [("csrf_token", csrf_of(sheet)), ("version", "0"), ("action", "submit")]
        fields += [(f"points-{code}", value) for code, value in points.items()]
        fields += [("minimum", "trademark"), ("minimum", "product_story")]
        if username == "hd.ba":
            fields.append(("knockout", "incomplete_dossier"))  # one sheet of three: no
        response = await console.client.post(
            f"/console/entries/{entry.id}/score", data=fields, allow_redirects=False
        )
        assert response.status == 303, await response.text()
    await at(console, date(2027, 6, 20))
    await console.sign_in_as("hd.chu")
    council = await page(console, f"/console/rounds/{round_1}/council")
    closed = await console.post(
        f"/console/rounds/{round_1}/council/close",
        {"csrf_token": csrf_of(council), "confirm": "1"},
    )
    assert closed.status == 303, await closed.text()
    outcome = words(await page(console, f"/console/entries/{entry.id}/score"))
    assert (
        "Average score 80.00 / 100 Stars by points 4★ Stars 4★ Knocked out No" in outcome
    )  # (80 + 85 + 75) / 3, the minimums met on every sheet
    assert "Ba Member" in outcome and "Knock-out conditions Incomplete dossier" in outcome

    # -- 30 June: the results published; 10 July: the certificate ----------------------------
    await at(console, date(2027, 6, 30))
    await console.sign_in_as("tinh.bacninh")
    results = await page(console, f"/console/rounds/{round_1}/results")
    published = await console.post(
        f"/console/rounds/{round_1}/results/publish",
        {"csrf_token": csrf_of(results), "confirm": "1"},
    )
    assert published.status == 303, await published.text()
    await bot.settle()
    [told] = a.new_messages()
    assert f"The results of {ROUND_1} are published." in told.plain
    assert "Gio may tre: score 80.00, 4★." in told.plain and "Certified" in told.plain
    assert b.new_messages() == []  # B's entry is in round 2

    await at(console, date(2027, 7, 10))
    await console.sign_in_as("tinh.bacninh")
    results = await page(console, f"/console/rounds/{round_1}/results")
    issued = await console.post(
        f"/console/entries/{entry.id}/certificate",
        {"csrf_token": csrf_of(results), "issued_on": "10/07/2027",
         "authority": "Chủ tịch UBND tỉnh Bắc Ninh"},
    )  # fmt: skip
    assert issued.status == 303, await issued.text()
    certificate_path = issued.headers["Location"]
    await bot.settle()
    [told] = a.new_messages()
    number = told.plain.split("Certificate number: ", 1)[1].split("\n", 1)[0]
    assert "Gio may tre is certified as a 4★ OCOP product." in told.plain
    assert "Issued on Jul 10, 2027 by Chủ tịch UBND tỉnh Bắc Ninh" in told.plain
    assert "valid until Jul 10, 2030." in told.plain
    shown = text(await a.say("/results"))
    assert f"{ROUND_1}: score 80.00, 4★." in shown
    assert f"Certificate {number}, 4★\nissued on Jul 10, 2027, valid until Jul 10, 2030" in shown

    certificate_page = await page(console, certificate_path)
    verify_url = console.url(f"/verify/{number}")
    assert number in certificate_page and f'href="{verify_url}"' in certificate_page
    assert_qr_carries(certificate_page, verify_url)
    await console.sign_out()
    verified = await page(console, f"/verify/{number}?lang=en")
    assert "Valid OCOP certificate" in verified and "Gio may tre" in verified
    assert "4★" in verified and "Jul 10, 2030" in verified

    # -- round 2's reminders: B filed, so nobody is left to remind ----------------------------
    await at(console, date(2027, 10, 30), 8)
    assert await fire(bot) == 3
    assert a.new_messages() == [] and b.new_messages() == []

    # -- 2030: the re-rating window (opens 180 days before expiry, closes 120 days before) ----
    await at(console, date(2030, 1, 10), 8)
    assert await fire(bot) == 0  # not the day before
    await at(console, date(2030, 1, 11), 7, 59)
    assert await fire(bot) == 0
    await at(console, date(2030, 1, 11), 8)
    assert await fire(bot) == 1
    [opens] = a.new_messages()
    assert f"certificate {number} for Gio may tre opens on Jan 11, 2030" in opens.plain
    assert "between Jan 11, 2030 and Mar 12, 2030" in opens.plain
    assert "expires on Jul 10, 2030" in opens.plain
    await at(console, date(2030, 2, 25), 8)
    assert await fire(bot) == 0
    await at(console, date(2030, 2, 26), 8)
    assert await fire(bot) == 1
    [closing] = a.new_messages()
    assert "closes on Mar 12, 2030 (14 days left)" in closing.plain
    assert b.new_messages() == []

    # -- 1 March 2030: revoked ---------------------------------------------------------------
    await at(console, date(2030, 3, 1))
    await console.sign_in_as("tinh.bacninh")
    shown_page = await page(console, certificate_path)
    revoked = await console.post(
        f"{certificate_path}/revoke",
        {"csrf_token": csrf_of(shown_page), "ground": "mark_misuse",
         "reason": "The OCOP mark was printed on another product"},
    )  # fmt: skip
    assert revoked.status == 303, await revoked.text()
    await bot.settle()
    [told] = a.new_messages()
    assert f"The OCOP certificate {number} of Gio may tre was revoked on Mar 1, 2030." in (
        told.plain
    )
    assert "Ground: misuse of the OCOP mark." in told.plain
    assert "Reason: The OCOP mark was printed on another product" in told.plain
    await console.sign_out()
    verified = await page(console, f"/verify/{number}?lang=en")
    assert "This OCOP certificate was revoked" in verified
    assert "Revoked on Mar 1, 2030: misuse of the OCOP mark." in verified

    await at(console, date(2031, 1, 1), 8)
    assert await fire(bot) == 0
    assert a.new_messages() == [] and b.new_messages() == []
    async with bot.db.sessions() as session:
        chair_row = await session.get_one(Official, chair.id)
        final = await session.get_one(RoundEntry, entry.id)
    assert chair_row.council and final.status == EntryStatus.PUBLISHED
