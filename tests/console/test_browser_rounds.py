"""In a real browser at 360 px (a cheap phone): a province official opens the rounds, starts a
new round from the default calendar's second round, and creates it; the form and the board fit
the screen."""

from __future__ import annotations

import re
from typing import Any

import pytest

from storage.states import OfficialRole
from tests.console.conftest import BROWSER_LOOP, PHONE, Console, Screen
from tests.console.test_browser_sign_in import fits_the_screen, sign_in

pytestmark = BROWSER_LOOP


@pytest.mark.parametrize("screen", [PHONE], indirect=True, ids=["phone"])
async def test_a_round_from_the_default_calendar_on_a_phone(
    page: Any, screen: Screen, sqlite_console: Console
) -> None:
    console = sqlite_console
    bac_ninh = await console.area("bac ninh")
    await console.official("tinh.bn", OfficialRole.PROVINCE, [bac_ninh])
    await sign_in(page, console, "tinh.bn")
    await page.wait_for_url(console.url("/console/"))
    await page.get_by_role("link", name="Đợt đánh giá", exact=True).click()
    await page.wait_for_url(console.url("/console/rounds"))
    await page.get_by_role("link", name="Đợt đánh giá mới").click()
    await page.get_by_label("Đợt trong năm").select_option("province-1")
    await page.get_by_role("button", name="Điền các mốc thời gian").click()
    await page.wait_for_url(re.compile(r".*/console/rounds/new\?template=province-1$"))
    assert await page.get_by_label("Hạn nộp hồ sơ").input_value() == "2027-10-30"
    assert await page.get_by_label("Tên").input_value() == "Đợt 2 cấp tỉnh 2027"
    assert await page.get_by_label("Bắc Ninh · toàn tỉnh").is_checked()
    assert await fits_the_screen(page, screen)
    await page.get_by_role("button", name="Tạo đợt đánh giá").click()
    await page.wait_for_url(re.compile(r".*/console/rounds/\d+$"))
    assert await page.get_by_role("heading", level=1).text_content() == "Đợt 2 cấp tỉnh 2027"
    assert "30/10/2027" in (await page.locator(".tiles").text_content() or "")
    assert await fits_the_screen(page, screen)
