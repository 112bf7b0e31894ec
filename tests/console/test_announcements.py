"""Announcements in the console on both backends: commune officials are refused; a province
official writes one for their areas only (another province's is a 404), counts its recipients
(keeping what was typed), is told what is wrong next to the field, saves a draft, schedules it
or sends it now after a confirmation naming how many people receive it; a second editor is told
and keeps what they typed; cancelling; a round's ready-made announcement in both languages; a
file checked by its bytes; the progress and each recipient's outcome once deliveries exist."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import ClientResponse, FormData
from sqlalchemy import select, update

from bot.round_announcement import round_announcement
from storage.announcements import (
    AnnouncementValues,
    Audience,
    create_announcement,
    delivery_page,
    materialize_deliveries,
    schedule_announcement,
    update_announcement,
)
from storage.clock import LOCAL_TIMEZONE
from storage.models import (
    Announcement,
    ChannelIdentity,
    Delivery,
    Official,
    ProducerMember,
    User,
)
from storage.officials import scope_of
from storage.rounds import RoundValues, create_round
from storage.states import (
    AnnouncementStatus,
    DeliveryReason,
    DeliveryStatus,
    OfficialRole,
    RoundLevel,
)
from tests.console.conftest import Console, csrf_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def page(console: Console, path: str, status: int = 200) -> str:
    response = await console.get(path)
    assert response.status == status, (path, response.status)
    return await response.text()


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    assert found, name
    return found.group(1)


async def person(
    console: Console, producer_id: int, *, locale: str = "vi", blocked: bool = False,
    muted: bool = False,
) -> int:  # fmt: skip
    now = console.clock.now()
    async with console.db.transaction() as session:
        user = User(display_name="u", locale=locale, announcements_muted_at=now if muted else None)
        session.add(user)
        await session.flush()
        session.add(ProducerMember(producer_id=producer_id, user_id=user.id))
        session.add(
            ChannelIdentity(
                user_id=user.id, channel="telegram", chat_id=f"chat-{user.id}",
                blocked_at=now if blocked else None,
            )
        )  # fmt: skip
        return user.id


class World:
    """Bắc Ninh (Lục Ngạn: two producers, three people of whom one blocked the bot and one
    muted; Sơn Động: one) and Hà Nội (one), and their officials."""

    def __init__(self, console: Console) -> None:
        self.console = console

    async def build(self) -> World:
        c = self.console
        self.bac_ninh = await c.area("bac ninh")
        self.luc_ngan = await c.area("bac ninh", "Lục Ngạn")
        self.son_dong = await c.area("bac ninh", "Sơn Động")
        self.ha_noi = await c.area("ha noi")
        self.province = await c.official(
            "tinh.bn", OfficialRole.PROVINCE, [self.bac_ninh], locale="en"
        )
        self.other = await c.official(
            "tinh.bn2", OfficialRole.PROVINCE, [self.bac_ninh], name="Trần Văn Hùng"
        )
        self.hanoi = await c.official("tinh.hn", OfficialRole.PROVINCE, [self.ha_noi], locale="en")
        self.commune = await c.official("xa.ln", OfficialRole.COMMUNE, [self.luc_ngan])
        self.admin = await c.official("admin", OfficialRole.ADMIN, locale="en")
        self.p1 = await c.producer("HTX Vải Lục Ngạn", self.bac_ninh, self.luc_ngan)
        self.p2 = await c.producer("HTX Mật ong", self.bac_ninh, self.luc_ngan)
        self.p3 = await c.producer("HTX Sơn Động", self.bac_ninh, self.son_dong)
        self.p4 = await c.producer("HTX Hà Nội", self.ha_noi, None)
        await person(c, self.p1)
        await person(c, self.p1, locale="en")
        await person(c, self.p2, blocked=True)
        await person(c, self.p2, muted=True)
        await person(c, self.p3)
        await person(c, self.p4)
        return self


async def world(console: Console) -> World:
    return await World(console).build()


async def post(
    console: Console, path: str, data: list[tuple[str, str]] | FormData
) -> ClientResponse:
    return await console.client.post(path, data=data, allow_redirects=False)


async def draft(console: Console, official: Official, text: str, **audience: Any) -> int:
    async with console.db.transaction() as session:
        scope = await scope_of(session, official)
        created = await create_announcement(
            session, scope, AnnouncementValues(text_vi=text, audience=Audience(**audience)),
            now=console.clock.now(),
        )  # fmt: skip
        return created.id


async def stored(console: Console, announcement_id: int) -> Announcement:
    async with console.db.sessions() as session:
        return await session.get_one(Announcement, announcement_id, populate_existing=True)


# -- who may ----------------------------------------------------------------------------------


async def test_commune_officials_are_refused(console: Console) -> None:
    w = await world(console)
    await console.sign_in_as("xa.ln")
    home = await page(console, "/console/")
    assert "/console/announcements" not in home
    for path in ("/console/announcements", "/console/announcements/new"):
        refused = await page(console, path, 403)
        assert "Chỉ cán bộ cấp tỉnh và quản trị viên" in refused
    created = await post(
        console, "/console/announcements/new",
        [("csrf_token", csrf_of(home)), ("text_vi", "Xin chào"), ("action", "save")],
    )  # fmt: skip
    assert created.status == 403
    mine = await draft(console, w.province, "Của tỉnh")
    await page(console, f"/console/announcements/{mine}", 403)
    await console.sign_in_as("tinh.bn")
    assert 'href="/console/announcements"' in await page(console, "/console/")


async def test_a_province_official_sees_only_their_areas(console: Console) -> None:
    w = await world(console)
    ours = await draft(console, w.province, "Thông báo Bắc Ninh")
    theirs = await draft(console, w.hanoi, "Thông báo Hà Nội")
    await console.sign_in_as("tinh.bn")
    listed = await page(console, "/console/announcements")
    assert "Thông báo Bắc Ninh" in listed and "Thông báo Hà Nội" not in listed
    await page(console, f"/console/announcements/{theirs}", 404)
    await page(console, f"/console/announcements/{theirs}/edit", 404)
    form = await page(console, "/console/announcements/new")
    assert f'name="areas" value="{w.bac_ninh.id}"' in form
    assert f'name="areas" value="{w.ha_noi.id}"' not in form
    found = await post(
        console, "/console/announcements/new",
        [("csrf_token", csrf_of(form)), ("text_vi", "Giữ nguyên"), ("commune_province",
         str(w.bac_ninh.id)), ("commune_q", "luc ngan"), ("action", "find")],
    )  # fmt: skip
    text = await found.text()
    assert found.status == 200
    assert f'name="areas" value="{w.luc_ngan.id}"' in text and "Xã Lục Ngạn" in text
    assert f'value="{w.son_dong.id}"' not in text
    assert ">Giữ nguyên</textarea>" in text
    # Ha Noi's communes are not searched for a Bắc Ninh official.
    other = await post(
        console, "/console/announcements/new",
        [("csrf_token", csrf_of(form)), ("text_vi", "x"), ("commune_province", str(w.ha_noi.id)),
         ("commune_q", "ba dinh"), ("action", "find")],
    )  # fmt: skip
    assert "Phường Ba Đình" not in await other.text()
    outside = await post(
        console, "/console/announcements/new",
        [("csrf_token", csrf_of(form)), ("text_vi", "Xin chào"), ("areas", str(w.ha_noi.id)),
         ("action", "save")],
    )  # fmt: skip
    refused = await outside.text()
    assert outside.status == 400 and "Choose areas among your own." in refused
    await console.sign_in_as("admin")
    listed = await page(console, "/console/announcements")
    assert "Thông báo Bắc Ninh" in listed and "Thông báo Hà Nội" in listed
    assert "Thông báo Bắc Ninh" in await page(console, f"/console/announcements/{ours}")


# -- composing ---------------------------------------------------------------------------------


async def test_count_save_and_schedule(console: Console) -> None:
    w = await world(console)
    await console.sign_in_as("tinh.bn")
    form = await page(console, "/console/announcements/new")
    token = csrf_of(form)
    typed = [
        ("csrf_token", token), ("text_vi", "Đợt 2 năm 2027 đã mở"), ("text_en", "Round 2 is open"),
        ("areas", str(w.luc_ngan.id)), ("buttons", "deadlines"), ("buttons", "products"),
        ("languages", "vi"), ("languages", "en"),
    ]  # fmt: skip
    counted = await post(console, "/console/announcements/new", [*typed, ("action", "count")])
    text = await counted.text()
    assert counted.status == 200
    assert "2 people will receive it" in text
    assert "2 producers, 1 with someone to reach" in text
    assert "Unreachable (blocked the bot): 1" in text and "Turned announcements off: 1" in text
    assert ">Đợt 2 năm 2027 đã mở</textarea>" in text and ">Round 2 is open</textarea>" in text
    assert f'name="areas" value="{w.luc_ngan.id}" checked' in text
    assert 'value="deadlines" checked' in text and 'value="results">' in text

    empty = await post(
        console, "/console/announcements/new",
        [("csrf_token", token), ("text_vi", "  "), ("action", "save")],
    )  # fmt: skip
    wrong = await empty.text()
    assert empty.status == 400 and 'aria-describedby="a-text_vi-error"' in wrong
    assert "Write the announcement in Vietnamese" in wrong
    mixed = await post(
        console, "/console/announcements/new",
        [*typed, ("no_product", "1"), ("groups", "I"), ("action", "save")],
    )  # fmt: skip
    assert mixed.status == 400
    assert "Producers without a product have no product set" in await mixed.text()
    past = await post(
        console, "/console/announcements/new",
        [*typed, ("send_on", "2026-01-01"), ("send_time", "08:00"), ("action", "schedule")],
    )  # fmt: skip
    assert past.status == 400 and "still ahead" in await past.text()

    saved = await post(console, "/console/announcements/new", [*typed, ("action", "save")])
    assert saved.status == 303
    announcement_id = int(saved.headers["Location"].rsplit("/", 1)[1])
    row = await stored(console, announcement_id)
    assert row.status == AnnouncementStatus.DRAFT and row.text_en == "Round 2 is open"
    assert [b["command"] for b in row.buttons] == ["/deadlines", "/products"]
    assert row.buttons[0]["label_vi"] == "📅 Xem hạn nộp"
    assert Audience.from_json(row.audience).area_ids == {w.luc_ngan.id}

    edit = await page(console, f"/console/announcements/{announcement_id}/edit")
    assert field(edit, "version") == "1"
    later = datetime(2026, 12, 5, 8, 30, tzinfo=LOCAL_TIMEZONE)
    scheduled = await post(
        console, f"/console/announcements/{announcement_id}/edit",
        [*typed, ("csrf_token", csrf_of(edit)), ("version", "1"), ("send_on", "05/12/2026"),
         ("send_time", "08:30"), ("action", "schedule")],
    )  # fmt: skip
    assert scheduled.status == 303
    confirm_path = scheduled.headers["Location"]
    assert confirm_path.startswith(f"/console/announcements/{announcement_id}/send?at=")
    confirm = await page(console, confirm_path)
    assert "It will go to 2 people" in confirm and "8:30" in confirm
    assert (await stored(console, announcement_id)).status == AnnouncementStatus.DRAFT
    done = await post(
        console, f"/console/announcements/{announcement_id}/send",
        [("csrf_token", csrf_of(confirm)), ("version", field(confirm, "version")),
         ("at", field(confirm, "at"))],
    )  # fmt: skip
    assert done.status == 303
    row = await stored(console, announcement_id)
    assert row.status == AnnouncementStatus.SCHEDULED and row.scheduled_at == later
    shown = await page(console, f"/console/announcements/{announcement_id}")
    assert '<meta http-equiv="refresh" content="3">' in shown
    assert "Scheduled" in shown and "Round 2 is open" in shown and "📦 My products" in shown
    listed = await page(console, "/console/announcements")
    assert "Scheduled" in listed and "Đợt 2 năm 2027 đã mở" in listed


async def test_send_now_after_a_confirmation(console: Console) -> None:
    w = await world(console)
    await console.sign_in_as("tinh.bn")
    form = await page(console, "/console/announcements/new")
    sent = await post(
        console, "/console/announcements/new",
        [("csrf_token", csrf_of(form)), ("text_vi", "Gửi ngay"), ("areas", str(w.bac_ninh.id)),
         ("action", "send")],
    )  # fmt: skip
    assert sent.status == 303 and sent.headers["Location"].endswith("/send?at=now")
    confirm = await page(console, sent.headers["Location"])
    assert "It will go to 3 people" in confirm and "Send it now to 3 people" in confirm
    assert "1 blocked the bot, 1 turned announcements off" in confirm
    announcement_id = int(sent.headers["Location"].split("/")[3])
    assert (await stored(console, announcement_id)).status == AnnouncementStatus.DRAFT
    done = await post(
        console, f"/console/announcements/{announcement_id}/send",
        [("csrf_token", csrf_of(confirm)), ("version", "1"), ("at", "now")],
    )  # fmt: skip
    assert done.status == 303
    row = await stored(console, announcement_id)
    assert row.status == AnnouncementStatus.SCHEDULED
    assert row.scheduled_at == console.clock.now()
    # Once scheduled, the edit page shows it rather than a form that could not be saved.
    again = await console.get(f"/console/announcements/{announcement_id}/send?at=now")
    assert again.status == 200  # still scheduled: editable until the sender takes it


async def test_a_second_editor_is_told_and_keeps_what_they_typed(console: Console) -> None:
    w = await world(console)
    announcement_id = await draft(console, w.province, "Bản đầu")
    await console.sign_in_as("tinh.bn")
    edit = await page(console, f"/console/announcements/{announcement_id}/edit")
    async with console.db.transaction() as session:
        scope = await scope_of(session, w.other)
        await update_announcement(
            session, scope, announcement_id,
            AnnouncementValues(text_vi="Bản của Hùng", audience=Audience()), version=1,
            now=console.clock.now(),
        )  # fmt: skip
    mine = [("csrf_token", csrf_of(edit)), ("text_vi", "Bản của tôi"), ("action", "save")]
    late = await post(
        console, f"/console/announcements/{announcement_id}/edit", [*mine, ("version", "1")]
    )
    text = await late.text()
    assert late.status == 409
    assert "Not saved: Trần Văn Hùng changed this announcement after you opened the page" in text
    assert ">Bản của tôi</textarea>" in text and field(text, "version") == "2"
    assert (await stored(console, announcement_id)).text_vi == "Bản của Hùng"
    ok = await post(
        console, f"/console/announcements/{announcement_id}/edit", [*mine, ("version", "2")]
    )
    assert ok.status == 303
    assert (await stored(console, announcement_id)).text_vi == "Bản của tôi"


async def test_cancelling(console: Console) -> None:
    w = await world(console)
    announcement_id = await draft(
        console, w.province, "Sẽ huỷ", area_ids=frozenset({w.bac_ninh.id})
    )
    async with console.db.transaction() as session:
        scope = await scope_of(session, w.province)
        await schedule_announcement(
            session, scope, announcement_id, at=console.clock.now(), version=1,
            now=console.clock.now(),
        )  # fmt: skip
        await materialize_deliveries(session, announcement_id, now=console.clock.now())
    await console.sign_in_as("tinh.bn")
    ask = await page(console, f"/console/announcements/{announcement_id}/cancel")
    assert "3 still waiting" in ask
    done = await post(
        console, f"/console/announcements/{announcement_id}/cancel",
        [("csrf_token", csrf_of(ask)), ("version", field(ask, "version"))],
    )  # fmt: skip
    assert done.status == 303
    assert (await stored(console, announcement_id)).status == AnnouncementStatus.CANCELLED
    shown = await page(console, f"/console/announcements/{announcement_id}")
    assert "http-equiv" not in shown and "Cancelled: 3" in shown
    assert "Cancel the announcement" not in shown
    stale = await post(
        console, f"/console/announcements/{announcement_id}/cancel",
        [("csrf_token", csrf_of(ask)), ("version", "2")],
    )  # fmt: skip
    assert stale.status == 409 and "Not cancelled" in await stale.text()


# -- a round's announcement --------------------------------------------------------------------


async def test_a_rounds_ready_made_announcement(console: Console) -> None:
    w = await world(console)
    async with console.db.transaction() as session:
        scope = await scope_of(session, w.province)
        held = await create_round(
            session, scope,
            RoundValues(
                level=RoundLevel.PROVINCE, name="Đợt 2 cấp tỉnh 2027",
                opens_on=datetime(2027, 7, 1).date(),
                submission_deadline=datetime(2027, 10, 30).date(),
                evaluation_deadline=datetime(2027, 11, 30).date(),
                results_on=datetime(2027, 12, 15).date(), ceremony_on=None,
                area_ids=(w.bac_ninh.id,),
            ),
            rules_version="2026.1", now=console.clock.now(),
        )  # fmt: skip
        values = await round_announcement(session, held)
    assert values.text_vi.startswith("📢 Đợt 2 cấp tỉnh 2027 (cấp tỉnh: Tỉnh Bắc Ninh)")
    assert "từ ngày 01/07/2027 đến ngày 30/10/2027" in values.text_vi
    assert "/deadlines" in values.text_vi
    assert values.text_en is not None
    assert "from Jul 1, 2027 to Oct 30, 2027" in values.text_en
    assert "send /deadlines to the bot" in values.text_en
    assert [b.command for b in values.buttons] == ["/deadlines", "/products"]
    assert values.expires_at == datetime(2027, 10, 30, 23, 59, tzinfo=LOCAL_TIMEZONE)
    await console.sign_in_as("tinh.bn")
    board = await page(console, f"/console/rounds/{held.id}")
    assert f'href="/console/announcements/new?round={held.id}"' in board
    form = await page(console, f"/console/announcements/new?round={held.id}")
    assert "Đợt 2 cấp tỉnh 2027" in form and "Oct 30, 2027" in form
    assert f'name="areas" value="{w.bac_ninh.id}" checked' in form
    assert 'value="deadlines" checked' in form and 'value="products" checked' in form
    assert field(form, "expires_on") == "2027-10-30" and field(form, "expires_time") == "23:59"
    assert field(form, "round") == str(held.id)
    await console.sign_in_as("tinh.hn")
    await page(console, f"/console/announcements/new?round={held.id}", 404)


# -- a file -------------------------------------------------------------------------------------


def with_file(pairs: list[tuple[str, str]], data: bytes, name: str) -> FormData:
    form = FormData()
    for key, value in pairs:
        form.add_field(key, value)
    form.add_field("file", data, filename=name, content_type="application/pdf")
    return form


async def test_a_file_checked_by_its_bytes_and_kept_across_a_count(console: Console) -> None:
    w = await world(console)
    await console.sign_in_as("tinh.bn")
    token = csrf_of(await page(console, "/console/announcements/new"))
    base = [("csrf_token", token), ("text_vi", "Hướng dẫn đợt 2"), ("areas", str(w.bac_ninh.id))]
    program = await post(
        console, "/console/announcements/new",
        with_file([*base, ("action", "save")], b"MZ\x90\x00" + b"\0" * 64, "guide.pdf"),
    )  # fmt: skip
    assert program.status == 400 and "Attach a PDF, JPEG or PNG file." in await program.text()
    counted = await post(
        console, "/console/announcements/new",
        with_file([*base, ("action", "count")], PDF, "../Hướng dẫn.pdf"),
    )  # fmt: skip
    text = await counted.text()
    assert counted.status == 200 and "Attached: Hướng dẫn.pdf" in text
    kept = [
        (n, field(text, n)) for n in ("file_sha256", "file_name", "file_mime", "file_signature")
    ]
    forged = await post(
        console, "/console/announcements/new",
        [*base, *kept[:3], ("file_signature", "0" * 64), ("action", "save")],
    )  # fmt: skip
    assert forged.status == 400 and "Attach the file again." in await forged.text()
    saved = await post(console, "/console/announcements/new", [*base, *kept, ("action", "save")])
    assert saved.status == 303
    announcement_id = int(saved.headers["Location"].rsplit("/", 1)[1])
    row = await stored(console, announcement_id)
    assert row.file_name == "Hướng dẫn.pdf" and row.file_mime == "application/pdf"
    shown = await page(console, f"/console/announcements/{announcement_id}")
    assert f'href="/console/announcements/{announcement_id}/file"' in shown
    got = await console.get(f"/console/announcements/{announcement_id}/file")
    assert got.status == 200 and await got.read() == PDF
    assert got.headers["Content-Type"] == "application/pdf"
    # The edit form carries the stored file; saving keeps it, "remove" drops it.
    edit = await page(console, f"/console/announcements/{announcement_id}/edit")
    again = [(n, field(edit, n)) for n in ("file_sha256", "file_name", "file_mime")]
    removed = await post(
        console, f"/console/announcements/{announcement_id}/edit",
        [*base, *again, ("version", "1"), ("remove_file", "1"), ("action", "save")],
    )  # fmt: skip
    assert removed.status == 303
    assert (await stored(console, announcement_id)).file_sha256 is None


# -- progress and recipients -------------------------------------------------------------------


async def test_progress_and_each_recipients_outcome(console: Console) -> None:
    w = await world(console)
    announcement_id = await draft(console, w.province, "Đang gửi")
    now = console.clock.now()
    async with console.db.transaction() as session:
        scope = await scope_of(session, w.province)
        await schedule_announcement(session, scope, announcement_id, at=now, version=1, now=now)
        await materialize_deliveries(session, announcement_id, now=now)
        rows = (
            await session.scalars(
                select(Delivery).where(Delivery.announcement_id == announcement_id)
                .order_by(Delivery.id)
            )
        ).all()  # fmt: skip
        # four chats: two of P1, the blocked one of P2 (failed at once), P3's
        assert len(rows) == 4
        waiting = [d for d in rows if d.status == DeliveryStatus.WAITING]
        await session.execute(
            update(Delivery).where(Delivery.id == waiting[0].id)
            .values(status=DeliveryStatus.SENT, sent_at=now + timedelta(seconds=5))
        )  # fmt: skip
        await session.execute(
            update(Delivery).where(Delivery.id == waiting[1].id)
            .values(status=DeliveryStatus.FAILED, reason=DeliveryReason.DELETED)
        )  # fmt: skip
    await console.sign_in_as("tinh.bn")
    shown = await page(console, f"/console/announcements/{announcement_id}")
    assert '<progress class="sent-bar" max="4" value="3"' in shown
    assert "3 of 4 settled" in shown and '<meta http-equiv="refresh" content="3">' in shown
    assert "Sent: 1" in shown and "Failed: 2" in shown and "Waiting: 1" in shown
    assert "Failed, blocked the bot: 1" in shown and "Failed, account deleted: 1" in shown
    assert f'href="/console/producers/{w.p1}"' in shown and "HTX Mật ong" in shown
    failed = await page(console, f"/console/announcements/{announcement_id}?status=failed")
    assert "Failed: blocked the bot" in failed and "Failed: account deleted" in failed
    assert f'<a href="/console/producers/{w.p3}"' not in failed
    listed = await page(console, "/console/announcements")
    assert "3 of 4" in listed and "Sending" in listed
    async with console.db.sessions() as session:
        first = await delivery_page(session, announcement_id, limit=3)
        rest = await delivery_page(session, announcement_id, limit=3, after=first.after)
    assert first.after == first.rows[-1].delivery.id and rest.after is None
    ids = [r.delivery.id for r in first.rows + rest.rows]
    assert ids == sorted(ids) and len(set(ids)) == 4


async def test_the_english_text_is_optional_and_times_are_vietnam_time(console: Console) -> None:
    await world(console)
    await console.sign_in_as("tinh.bn")
    token = csrf_of(await page(console, "/console/announcements/new"))
    expiring = await post(
        console, "/console/announcements/new",
        [("csrf_token", token), ("text_vi", "Hết hạn sớm"), ("expires_on", "2026-12-01"),
         ("expires_time", "07:00"), ("send_on", "2026-12-01"), ("send_time", "08:00"),
         ("action", "schedule")],
    )  # fmt: skip
    assert expiring.status == 400 and "It would expire before it goes" in await expiring.text()
    saved = await post(
        console, "/console/announcements/new",
        [("csrf_token", token), ("text_vi", "Chỉ tiếng Việt"), ("expires_on", "2026-12-01"),
         ("action", "save")],
    )  # fmt: skip
    row = await stored(console, int(saved.headers["Location"].rsplit("/", 1)[1]))
    assert row.text_en is None
    assert row.expires_at == datetime(2026, 12, 1, 16, 59, tzinfo=UTC)
