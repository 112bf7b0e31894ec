"""A round's results, certificates and the public verify page, through the real HTTP
application: publishing (only with the scores closed, only with the confirmation), issuing
(only certified, published entries, once), revoking (a ground and a reason), each audited and
each producer told in their language; the verify page's states, its noindex header, its
language and its limit per address; the QR code carrying the verify URL; the plan counting
certified products; and what officials of other areas cannot see."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import segno
from sqlalchemy import func, select

from storage.certificates import make_number
from storage.clock import local_time
from storage.models import AuditEntry, Certificate, OutboxMessage, Round, RoundEntry, Timer
from storage.states import CertificateStatus, EntryStatus, OfficialRole, TimerKind, TimerStatus
from tests.console.conftest import Console, csrf_of
from tests.console.results_data import Outcome, make_entry, make_round
from tests.console.review_data import chat_of, person_of


async def _page(console: Console, path: str, status: int = 200) -> str:
    response = await console.get(path)
    assert response.status == status, (path, response.status)
    return await response.text()


async def _notices(console: Console, producer_id: int) -> list[str]:
    async with console.db.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_of(producer_id))
            .order_by(OutboxMessage.id)
        )
        return [str(row.payload["text"]) for row in rows]


async def _setup(console: Console) -> dict[str, Any]:
    bac_ninh = await console.area("bac ninh")
    da_mai = await console.area("bac ninh", "Đa Mai")
    now = console.clock.now()
    honey_maker = await console.producer("HTX Mật ong Đa Mai", bac_ninh, da_mai)
    tea_maker = await console.producer("HTX Chè Đa Mai", bac_ninh, da_mai)
    honey_user = await person_of(console.db, honey_maker, "vi")
    tea_user = await person_of(console.db, tea_maker, "en")
    round_id = await make_round(console.db, area_id=bac_ninh.id, now=now)
    honey, _ = await make_entry(
        console.db, round_id, honey_maker, Outcome("75.50", 4), now=now, user_id=honey_user
    )
    tea, _ = await make_entry(
        console.db, round_id, tea_maker, Outcome("40.00", 2), now=now, product="Chè xanh",
        user_id=tea_user,
    )  # fmt: skip
    knocked, _ = await make_entry(
        console.db, round_id, tea_maker, Outcome("81.00", 4, ("K1",)), now=now,
        product="Chè đen", user_id=tea_user,
    )  # fmt: skip
    waiting, _ = await make_entry(
        console.db, round_id, tea_maker, None, now=now, product="Chè ô long", user_id=tea_user
    )
    return {
        "round": round_id, "honey": honey, "tea": tea, "knocked": knocked, "waiting": waiting,
        "honey_maker": honey_maker, "tea_maker": tea_maker, "bac_ninh": bac_ninh,
        "da_mai": da_mai,
    }  # fmt: skip


async def test_results_are_published_certificates_issued_and_revoked(console: Console) -> None:
    made = await _setup(console)
    await console.official("admin", locale="en")
    await console.sign_in("admin")
    results = f"/console/rounds/{made['round']}/results"
    page = await _page(console, results)
    assert "Mật ong bạc hà" in page and "75.50" in page and "4★" in page
    assert "Entries not scored yet: 1." in page
    assert "Issue certificate" not in page  # not before the results are published

    refused = await console.post(f"{results}/publish", {"csrf_token": csrf_of(page)})
    assert refused.status == 400
    assert "Tick the box to confirm" in await refused.text()
    published = await console.post(
        f"{results}/publish", {"csrf_token": csrf_of(page), "confirm": "1"}
    )
    assert published.status == 303
    again = await console.post(f"{results}/publish", {"csrf_token": csrf_of(page), "confirm": "1"})
    assert again.status == 409
    async with console.db.sessions() as session:
        round_ = await session.get_one(Round, made["round"])
        states = {
            e.id: e.status
            for e in await session.scalars(
                select(RoundEntry).where(RoundEntry.round_id == made["round"])
            )
        }
    assert round_.published_at == console.clock.now()
    assert states == {
        made["honey"]: EntryStatus.PUBLISHED,
        made["tea"]: EntryStatus.PUBLISHED,
        made["knocked"]: EntryStatus.PUBLISHED,
        made["waiting"]: EntryStatus.IN_REVIEW,
    }
    (honey_notice,) = await _notices(console, made["honey_maker"])
    assert "Mật ong bạc hà" in honey_notice and "75,50" in honey_notice  # Vietnamese numbers
    assert "4★" in honey_notice
    tea_notices = await _notices(console, made["tea_maker"])
    assert len(tea_notices) == 2  # one per product with an outcome
    assert any("Not certified" in n and "40.00" in n for n in tea_notices)
    assert any("knock-out" in n for n in tea_notices)

    page = await _page(console, results)
    assert page.count('action="/console/entries/') == 1  # only the certified entry
    assert "Chủ tịch UBND tỉnh Bắc Ninh" in page  # the round's authority, pre-filled
    refused = await console.post(
        f"/console/entries/{made['tea']}/certificate",
        {"csrf_token": csrf_of(page), "issued_on": "01/07/2026", "authority": "X"},
    )
    assert refused.status == 409
    assert "did not earn a certificate" in await refused.text()
    bad_date = await console.post(
        f"/console/entries/{made['honey']}/certificate",
        {"csrf_token": csrf_of(page), "issued_on": "31/02/2026", "authority": "X"},
    )
    assert bad_date.status == 400
    issued = await console.post(
        f"/console/entries/{made['honey']}/certificate",
        {
            "csrf_token": csrf_of(page),
            "issued_on": "01/07/2026",
            "authority": "Chủ tịch UBND tỉnh Bắc Ninh",
        },
    )
    assert issued.status == 303
    location = issued.headers["Location"]
    twice = await console.post(
        f"/console/entries/{made['honey']}/certificate",
        {"csrf_token": csrf_of(page), "issued_on": "01/07/2026", "authority": "X"},
    )
    assert twice.status == 409
    async with console.db.sessions() as session:
        certificate = (await session.scalars(select(Certificate))).one()
    assert certificate.issued_on == date(2026, 7, 1)
    assert certificate.expires_on == date(2029, 7, 1)  # 36 months
    assert certificate.number.startswith(f"{made['bac_ninh'].code}-2026-")
    assert certificate.stars == 4 and certificate.status == CertificateStatus.VALID
    assert location == f"/console/certificates/{certificate.id}"
    notice = (await _notices(console, made["honey_maker"]))[-1]
    assert certificate.number in notice and "01/07/2026" in notice and "01/07/2029" in notice
    # Its re-rating reminders: 08:00 on the window's first day (180 days before expiry) and
    # 14 days before it closes (120 days before).
    assert await _rerating_timers(console) == [
        (TimerKind.RERATING_OPENS, local_time(date(2029, 1, 2), 8), TimerStatus.PENDING),
        (TimerKind.RERATING_CLOSING, local_time(date(2029, 2, 17), 8), TimerStatus.PENDING),
    ]

    page = await _page(console, location)
    assert certificate.number in page and "Printable label" in page
    assert len(re.findall(r'<svg viewBox="[^"]*" class="qr"', page)) == 2  # page and label
    verify_url = console.url(f"/verify/{certificate.number}")
    assert f'href="{verify_url}"' in page
    assert_qr_carries(page, verify_url)

    no_reason = await console.post(
        f"{location}/revoke",
        {"csrf_token": csrf_of(page), "ground": "mark_misuse", "reason": "  "},
    )
    assert no_reason.status == 409
    no_ground = await console.post(
        f"{location}/revoke", {"csrf_token": csrf_of(page), "ground": "x", "reason": "y"}
    )
    assert no_ground.status == 400
    revoked = await console.post(
        f"{location}/revoke",
        {
            "csrf_token": csrf_of(page),
            "ground": "mark_misuse",
            "reason": "Dùng nhãn OCOP 5 sao <b>sai</b>",
        },
    )
    assert revoked.status == 303
    async with console.db.sessions() as session:
        certificate = await session.get_one(Certificate, certificate.id)
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert certificate.status == CertificateStatus.REVOKED
    assert certificate.revoked_ground == "mark_misuse"
    assert certificate.revoked_on == console.clock.now().date()
    assert actions[-3:] == ["round.publish_results", "certificate.issue", "certificate.revoke"]
    assert [status for *_, status in await _rerating_timers(console)] == [
        TimerStatus.CANCELLED,
        TimerStatus.CANCELLED,
    ]  # a revoked certificate is not to be re-rated
    notice = (await _notices(console, made["honey_maker"]))[-1]
    assert certificate.number in notice and "Dùng nhãn OCOP 5 sao <b>sai</b>" in notice
    page = await _page(console, location)
    assert "misuse of the OCOP mark" in page and "&lt;b&gt;sai" in page
    assert 'action="' + location + '/revoke"' not in page  # nothing left to revoke

    listed = await _page(console, "/console/certificates?state=revoked")
    assert certificate.number in listed
    assert certificate.number not in await _page(console, "/console/certificates?state=valid")
    found = await _page(console, f"/console/certificates?number={certificate.number[8:12]}")
    assert certificate.number in found
    assert certificate.number not in await _page(console, "/console/certificates?stars=5")


async def _rerating_timers(console: Console) -> list[tuple[str, datetime, str]]:
    async with console.db.sessions() as session:
        rows = await session.scalars(select(Timer).order_by(Timer.due_at))
        return [(t.kind, t.due_at, t.status) for t in rows]


def assert_qr_carries(page: str, url: str) -> None:
    """The first QR code on the page draws the very modules of ``url``'s code: its path
    ("M x y" moves, "h n" runs of dark modules, "m dx dy" relative moves) is read back into
    a matrix and compared with segno's own."""
    svg = page[page.index('class="qr"') :]
    svg = svg[: svg.index("</svg>")]
    path = re.search(r' d="([^"]+)"', svg)
    assert path
    expected = segno.make(url, error="m", micro=False)
    border = 4
    size = len(expected.matrix) + 2 * border
    drawn = [[0] * size for _ in range(size)]
    x = y = 0.0
    for command, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?:\s(-?[\d.]+))?", path.group(1)):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            for i in range(int(a)):
                drawn[int(y)][int(x) + i] = 1
            x += float(a)
    inner = [row[border : size - border] for row in drawn[border : size - border]]
    assert inner == [[1 if cell & 1 else 0 for cell in row] for row in expected.matrix]


async def test_officials_of_other_areas_see_none_of_it(console: Console) -> None:
    made = await _setup(console)
    await console.official("admin", locale="en")
    await console.sign_in("admin")
    page = await _page(console, f"/console/rounds/{made['round']}/results")
    await console.post(
        f"/console/rounds/{made['round']}/results/publish",
        {"csrf_token": csrf_of(page), "confirm": "1"},
    )
    await console.post(
        f"/console/entries/{made['honey']}/certificate",
        {"csrf_token": csrf_of(page), "issued_on": "01/07/2026", "authority": "UBND"},
    )
    async with console.db.sessions() as session:
        certificate = (await session.scalars(select(Certificate))).one()
    await console.post("/console/logout", {"csrf_token": csrf_of(page)})

    luc_ngan = await console.area("bac ninh", "Lục Ngạn")
    await console.official("xa.lucngan", OfficialRole.COMMUNE, [luc_ngan], locale="en")
    await console.sign_in("xa.lucngan")
    await _page(console, f"/console/certificates/{certificate.id}", 404)
    listed = await _page(console, "/console/certificates")
    assert certificate.number not in listed
    page = await _page(console, f"/console/rounds/{made['round']}/results")  # their province
    assert "Mật ong bạc hà" not in page  # …but not another commune's entries
    await console.post("/console/logout", {"csrf_token": csrf_of(page)})

    ha_noi = await console.area("ha noi")
    await console.official("tinh.hanoi", OfficialRole.PROVINCE, [ha_noi], locale="en")
    await console.sign_in("tinh.hanoi")
    await _page(console, f"/console/rounds/{made['round']}/results", 404)
    page = await _page(console, "/console/certificates")
    revoke = await console.post(
        f"/console/certificates/{certificate.id}/revoke",
        {"csrf_token": csrf_of(page), "ground": "other", "reason": "x"},
    )
    assert revoke.status == 404
    await console.post("/console/logout", {"csrf_token": csrf_of(page)})

    da_mai = made["da_mai"]
    await console.official("xa.damai", OfficialRole.COMMUNE, [da_mai], locale="en")
    await console.sign_in("xa.damai")
    page = await _page(console, f"/console/certificates/{certificate.id}")
    assert "Revoke the certificate" not in page  # commune officials read
    revoke = await console.post(
        f"/console/certificates/{certificate.id}/revoke",
        {"csrf_token": csrf_of(page), "ground": "other", "reason": "x"},
    )
    assert revoke.status == 403


async def _certificate(console: Console, made: dict[str, Any]) -> Certificate:
    """The honey's certificate, issued through the storage functions as the console does."""
    from bot.results_notify import issue_and_notify, publish_and_notify

    async with console.db.transaction() as session:
        await publish_and_notify(session, made["round"], official_id=1, now=console.clock.now())
        return await issue_and_notify(
            session, made["honey"], issued_on=date(2026, 7, 1),
            authority="Chủ tịch UBND tỉnh Bắc Ninh", official_id=1, now=console.clock.now(),
        )  # fmt: skip


async def test_the_verify_page_tells_valid_expired_revoked_unknown_and_mistyped(
    console: Console,
) -> None:
    made = await _setup(console)
    await console.official("admin", locale="en")
    certificate = await _certificate(console, made)
    number = certificate.number
    english = {"Accept-Language": "en-GB,en;q=0.9,vi;q=0.5"}

    response = await console.client.get(f"/verify/{number}", headers=english)
    assert response.status == 200
    assert response.headers["X-Robots-Tag"].startswith("noindex")
    page = await response.text()
    assert '<meta name="robots" content="noindex' in page
    assert "Valid OCOP certificate" in page and "Mật ong bạc hà" in page
    assert "HTX Mật ong Đa Mai" in page and "Đa Mai" in page and "Bắc Ninh" in page
    assert "4★" in page and "Chủ tịch UBND tỉnh Bắc Ninh" in page
    assert "1 Jul 2029" in page or "Jul 1, 2029" in page
    page = await (await console.client.get(f"/verify/{number.lower()}?lang=vi")).text()
    assert "01/07/2029" in page and 'lang="vi"' in page

    unknown = make_number("24", 2026)
    response = await console.client.get(f"/verify/{unknown}", headers=english)
    assert response.status == 404
    assert "No OCOP certificate has this number" in await response.text()
    mistyped = number[:-1] + ("2" if number[-1] != "2" else "3")
    response = await console.client.get(f"/verify/{mistyped}", headers=english)
    assert response.status == 404
    assert "This is not a valid certificate number" in await response.text()

    console.clock.advance(days=(date(2029, 7, 2) - console.clock.now().date()).days)
    page = await (await console.client.get(f"/verify/{number}", headers=english)).text()
    assert "This OCOP certificate has expired" in page

    async with console.db.transaction() as session:
        row = await session.get_one(Certificate, certificate.id)
        row.status, row.revoked_on, row.revoked_ground = (
            "revoked",
            date(2027, 1, 5),
            "law_violation",
        )
    page = await (await console.client.get(f"/verify/{number}", headers=english)).text()
    assert "This OCOP certificate was revoked" in page and "food safety" in page
    assert "5 Jan 2027" in page or "Jan 5, 2027" in page


async def test_the_verify_page_stops_a_client_that_looks_up_too_many(console: Console) -> None:
    english = {"Accept-Language": "en"}
    statuses = [
        (await console.client.get(f"/verify/{make_number('24', 2026)}", headers=english)).status
        for _ in range(30)
    ]
    assert statuses == [404] * 30
    response = await console.client.get("/verify/anything", headers=english)
    assert response.status == 429
    assert int(response.headers["Retry-After"]) > 0
    page = await response.text()
    assert "Please try again in" in page and response.headers["X-Robots-Tag"].startswith("noindex")
    console.clock.advance(minutes=1)  # 30 lookups in 10 minutes: 3 more a minute
    for _ in range(3):
        assert (await console.client.get("/verify/anything")).status == 404
    assert (await console.client.get("/verify/anything")).status == 429
    console.clock.advance(minutes=10)
    for _ in range(30):
        assert (await console.client.get("/verify/anything")).status == 404


async def test_the_plan_counts_certified_products_by_stars(console: Console) -> None:
    made = await _setup(console)
    await console.official("admin", locale="en")
    await _certificate(console, made)
    await console.sign_in("admin")
    page = await _page(console, "/console/plans")
    created = await console.post(
        "/console/plans",
        {
            "csrf_token": csrf_of(page),
            "year": "2026",
            "area": str(made["bac_ninh"].id),
            "name": "Kế hoạch OCOP 2026",
        },
    )
    plan = created.headers["Location"]
    for stars in ("3", "5"):
        await console.post(
            f"{plan}/targets", {"csrf_token": csrf_of(page), "count": "25", "min_stars": stars}
        )
    page = await _page(console, plan)
    assert re.findall(r'<p class="target-certified">([^<]*)</p>', page) == [
        "Certified products 1 (3★ 0 · 4★ 1 · 5★ 0).",
        "Certified products 0 (5★ 0).",
    ]
    async with console.db.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Certificate))
    assert count == 1
