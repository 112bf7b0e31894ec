"""Scoring in a real browser (headless Chromium), at desktop and 360 px phone width: three
council members find the entry from their councils page and submit their sheets, the chair
closes the scores with the confirmation, and the outcome and every sheet show."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.models import RoundEntry
from storage.states import OfficialRole
from tests.console.conftest import BROWSER_LOOP, PASSWORD, Console, Screen
from tests.console.test_browser_sign_in import SCREENSHOTS, fits_the_screen, sign_in
from tests.scoring_data import council_official, make_entry, make_round, seat

pytestmark = BROWSER_LOOP

# (username, name, points A/B/C, ticks every star minimum)
MEMBERS = [
    ("hd.lan", "Nguyễn Thị Lan", ("30", "20", "30"), True),
    ("hd.minh", "Lê Văn Minh", ("35", "20", "30"), True),
    ("hd.hoa", "Trần Thị Hoa", ("25", "15,5", "19.5"), False),
]


async def test_three_members_score_and_the_chair_closes(
    page: Any, screen: Screen, sqlite_console: Console
) -> None:
    console = sqlite_console
    bac_ninh = await console.area("bac ninh")
    da_mai = await console.area("bac ninh", "Đa Mai")
    manager = await council_official(
        console.db, "tinh.bacninh", OfficialRole.PROVINCE, [bac_ninh], password=PASSWORD,
        council=False,
    )  # fmt: skip
    round_id = await make_round(console.db, bac_ninh, manager.id, name="Đợt 2 năm 2026")
    entry = await make_entry(console.db, round_id, bac_ninh, product="Chè Lục Ngạn", product_set=5)
    for i, (username, name, _, _) in enumerate(MEMBERS):
        member = await council_official(
            console.db, username, OfficialRole.COMMUNE, [da_mai], password=PASSWORD, name=name
        )
        await seat(console.db, round_id, member.id, chair=i == 0)

    for username, _, (a, b, c), ticks in MEMBERS:
        await page.context.clear_cookies()
        await sign_in(page, console, username)
        await page.wait_for_url(console.url("/console/"))
        await page.get_by_role("link", name="Hội đồng", exact=True).click()
        await page.get_by_role("link", name="Đợt 2 năm 2026").click()
        await page.wait_for_url(console.url(f"/console/rounds/{round_id}/council"))
        await page.get_by_role("link", name="Chè Lục Ngạn").click()
        await page.wait_for_url(console.url(f"/console/entries/{entry}/score"))
        main = await page.locator("main").inner_text()
        assert "A. Sản phẩm và sức mạnh cộng đồng (từ 0 đến 40)" in main
        assert "Đạt: Nhãn hiệu được bảo hộ hoặc đơn đăng ký được chấp nhận" in main
        assert "Nguyễn Thị Lan" not in main or username == "hd.lan"
        await page.locator("#points-A").fill(a)
        # The browser's number field takes a dot; a comma typed is the server's to read.
        await page.locator("#points-B").fill(b.replace(",", "."))
        await page.locator("#points-C").fill(c)
        if ticks:
            for box in await page.get_by_role("checkbox", name="Đạt:").all():
                await box.check()
        assert await fits_the_screen(page, screen)
        if SCREENSHOTS and username == "hd.lan":
            await page.screenshot(path=f"{SCREENSHOTS}/score-{screen.name}.png", full_page=True)
        await page.get_by_role("button", name="Nộp phiếu").click()
        await page.wait_for_url(console.url(f"/console/entries/{entry}/score?saved=submitted"))
        assert "Đã nộp phiếu." in await page.locator("main").inner_text()

    # The chair (Lan) closes, after ticking the confirmation.
    await page.context.clear_cookies()
    await sign_in(page, console, "hd.lan")
    await page.wait_for_url(console.url("/console/"))
    await page.goto(console.url(f"/console/rounds/{round_id}/council"))
    assert "Đã nộp: 1/1 · bản nháp: 0" in await page.locator("main").inner_text()
    await page.get_by_label("Điểm đã là cuối cùng: chốt điểm").check()
    await page.get_by_role("button", name="Chốt điểm").click()
    await page.wait_for_url(console.url(f"/console/rounds/{round_id}/council"))
    council = await page.locator("main").inner_text()
    assert "Đã chốt lúc" in council and "75,00 điểm, 4★" in council
    assert await fits_the_screen(page, screen)

    await page.get_by_role("link", name="Chè Lục Ngạn").click()
    outcome = await page.locator(".council-outcome").inner_text()
    # 80, 85 and 60 → 75: 4★, the star minimums met by two of three.
    assert "75,00" in outcome and "4★" in outcome and "Chấm theo quy định" in outcome
    assert "2026.1" in outcome
    sheets = await page.locator("main").inner_text()
    assert all(name in sheets for _, name, _, _ in MEMBERS)
    assert await fits_the_screen(page, screen)
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/outcome-{screen.name}.png", full_page=True)
    async with console.db.sessions() as session:
        scored = await session.get_one(RoundEntry, entry)
        assert (await session.scalars(select(RoundEntry.status))).all() == ["scored"]
    assert scored.stars == 4 and str(scored.score) == "75.00"
