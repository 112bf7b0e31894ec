"""In a real browser at 360 px (a cheap phone): a province official writes an announcement,
finds a commune by name, counts the recipients (what was typed stays), sends it now after the
confirmation that says how many people receive it, and sees its progress page; every page fits
the screen."""

from __future__ import annotations

import re
from typing import Any

import pytest

from storage.models import Announcement
from storage.states import AnnouncementStatus, OfficialRole
from tests.console.conftest import BROWSER_LOOP, PHONE, Console, Screen
from tests.console.test_announcements import person
from tests.console.test_browser_sign_in import fits_the_screen, sign_in

pytestmark = BROWSER_LOOP


@pytest.mark.parametrize("screen", [PHONE], indirect=True, ids=["phone"])
async def test_compose_count_and_send_now_on_a_phone(
    page: Any, screen: Screen, sqlite_console: Console
) -> None:
    console = sqlite_console
    bac_ninh = await console.area("bac ninh")
    luc_ngan = await console.area("bac ninh", "Lục Ngạn")
    await console.official("tinh.bn", OfficialRole.PROVINCE, [bac_ninh])
    producer = await console.producer("HTX Vải Lục Ngạn", bac_ninh, luc_ngan)
    await person(console, producer)
    await person(console, producer, blocked=True)
    await sign_in(page, console, "tinh.bn")
    await page.wait_for_url(console.url("/console/"))
    await page.get_by_role("link", name="Thông báo", exact=True).click()
    await page.wait_for_url(console.url("/console/announcements"))
    await page.get_by_role("link", name="Thông báo mới").click()
    await page.get_by_label("Nội dung tiếng Việt").fill("Đợt 2 năm 2027 đã mở nhận hồ sơ.")
    await page.get_by_label("📅 Xem hạn nộp").check()
    await page.get_by_label("Tên xã (để trống: tất cả)").fill("luc ngan")
    await page.get_by_role("button", name="Tìm xã", exact=True).click()
    await page.get_by_label("Xã Lục Ngạn").check()
    assert await fits_the_screen(page, screen)
    await page.get_by_role("button", name="Đếm người nhận").click()
    status = page.locator(".announce-counts")
    assert "1 người sẽ nhận" in (await status.text_content() or "")
    assert "đã chặn bot): 1" in (await status.text_content() or "")
    assert await page.get_by_label("Nội dung tiếng Việt").input_value() == (
        "Đợt 2 năm 2027 đã mở nhận hồ sơ."
    )
    assert await page.get_by_label("Xã Lục Ngạn").is_checked()
    assert await page.get_by_label("📅 Xem hạn nộp").is_checked()
    assert await fits_the_screen(page, screen)
    await page.get_by_role("button", name="Gửi ngay…").click()
    await page.wait_for_url(re.compile(r".*/console/announcements/\d+/send\?at=now$"))
    assert "Thông báo sẽ gửi tới 1 người" in (await page.locator("main").text_content() or "")
    assert await fits_the_screen(page, screen)
    await page.get_by_role("button", name="Gửi ngay cho 1 người").click()
    await page.wait_for_url(re.compile(r".*/console/announcements/\d+$"))
    assert "Đã hẹn giờ" in (await page.get_by_role("heading", level=1).text_content() or "")
    assert await page.locator('meta[http-equiv="refresh"]').count() == 1
    assert "Đợt 2 năm 2027 đã mở nhận hồ sơ." in (await page.locator("main").text_content() or "")
    assert await fits_the_screen(page, screen)
    announcement_id = int(page.url.rsplit("/", 1)[1])
    async with console.db.sessions() as session:
        row = await session.get_one(Announcement, announcement_id)
    assert row.status == AnnouncementStatus.SCHEDULED
