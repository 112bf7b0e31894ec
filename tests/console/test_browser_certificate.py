"""In a real browser at 360 px: an official publishes a round's results, issues the certificate
from the results page, finds its QR label on the certificate page, and opens the public verify
link it carries, which a phone shows whole, in the visitor's language."""

from __future__ import annotations

import re
from typing import Any

from tests.console.conftest import BROWSER_LOOP, PHONE, Console
from tests.console.results_data import Outcome, make_entry, make_round
from tests.console.test_browser_sign_in import fits_the_screen, sign_in

pytestmark = BROWSER_LOOP


async def test_a_certificate_is_issued_and_its_verify_page_reads_on_a_phone(
    browser: Any, sqlite_console: Console
) -> None:
    console = sqlite_console
    bac_ninh = await console.area("bac ninh")
    da_mai = await console.area("bac ninh", "Đa Mai")
    producer = await console.producer("HTX Mật ong Đa Mai", bac_ninh, da_mai)
    round_id = await make_round(console.db, area_id=bac_ninh.id, now=console.clock.now())
    await make_entry(console.db, round_id, producer, Outcome("72.00", 4), now=console.clock.now())
    await console.official("tinh.bacninh", name="Trần Thị Hoa")
    context = await browser.new_context(
        viewport={"width": PHONE.width, "height": PHONE.height},
        is_mobile=True, has_touch=True, device_scale_factor=2, locale="vi-VN",
    )  # fmt: skip
    context.set_default_timeout(10_000)
    page = await context.new_page()
    try:
        await sign_in(page, console, "tinh.bacninh")
        await page.wait_for_url(console.url("/console/"))
        await page.goto(console.url(f"/console/rounds/{round_id}/results"))
        await page.get_by_label("Tôi xác nhận đây là kết quả cuối cùng.").check()
        await page.get_by_role("button", name="Công bố kết quả").click()
        await page.wait_for_url(console.url(f"/console/rounds/{round_id}/results"))
        assert await page.get_by_label("Cấp có thẩm quyền công nhận").input_value() == (
            "Chủ tịch UBND tỉnh Bắc Ninh"
        )
        await page.get_by_role("button", name="Cấp giấy chứng nhận").click()
        await page.wait_for_url(re.compile(r".*/console/certificates/\d+$"))
        assert await fits_the_screen(page, PHONE)
        label = page.locator(".cert-label")
        assert await label.locator("svg.qr").is_visible()
        number = (await label.locator(".cert-label-number").text_content() or "").strip()
        assert re.fullmatch(r"\d{2}-2026-[A-Z2-9]{9}", number), number

        await page.emulate_media(media="print")  # only the label is printed
        assert not await page.locator("form[action$='/revoke']").is_visible()
        assert await label.is_visible()
        await page.emulate_media(media="screen")

        await page.locator("a.verify-link").click()
        await page.wait_for_url(console.url(f"/verify/{number}"))
        assert await page.get_by_role("heading", level=1).text_content() == (
            "Giấy chứng nhận OCOP còn hiệu lực"
        )
        text = await page.locator("main").text_content() or ""
        assert "HTX Mật ong Đa Mai" in text and "4★" in text and "Mật ong bạc hà" in text
        assert await fits_the_screen(page, PHONE)
        await page.get_by_role("link", name="English").click()
        assert await page.get_by_role("heading", level=1).text_content() == (
            "Valid OCOP certificate"
        )
    finally:
        await context.close()
