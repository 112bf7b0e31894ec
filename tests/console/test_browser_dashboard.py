"""The dashboard and plans in a real browser (headless Chromium), at desktop and 360 px phone
width: a province official sees the waiting document (with its age and a link to the dossier)
and the plan's chart; an administrator enters the sample plan of the domain notes (Bắc Giang
2023: 25 products at 3★ or more, 1 at 5★, 2 tourism products; Lục Ngạn 1 for 5★, Sơn Động 1
tourism product; 2–3 per district, here one target per commune) through the forms, a mistake
included."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from storage.plans import TargetValues, add_target, create_plan
from storage.states import DocumentStatus, OfficialRole
from tests.console.conftest import BROWSER_LOOP, Console, Screen
from tests.console.dashboard_data import add_dossier
from tests.console.test_browser_sign_in import SCREENSHOTS, fits_the_screen, sign_in

pytestmark = BROWSER_LOOP


async def test_dashboard_shows_the_waiting_document_and_the_plan_chart(
    page: Any, screen: Screen, sqlite_console: Console
) -> None:
    console = sqlite_console
    bac_ninh = await console.area("bac ninh")
    da_mai = await console.area("bac ninh", "Đa Mai")
    producer = await console.producer("HTX Nước mắm Đa Mai", bac_ninh, da_mai)
    now = console.clock.now()
    dossier = await add_dossier(
        console, producer, name="Nước mắm cốt", submitted_at=now - timedelta(days=3),
        documents=[("registration_form", DocumentStatus.RECEIVED, now - timedelta(days=4))],
    )  # fmt: skip
    admin = await console.official("admin")
    await console.official("tinh.bn", OfficialRole.PROVINCE, [bac_ninh], name="Phạm Thu Hà")
    async with console.db.transaction() as session:
        plan = await create_plan(
            session, year=2026, province=bac_ninh, name="Kế hoạch OCOP 2026",
            official_id=admin.id, clock=console.clock,
        )  # fmt: skip
        await add_target(
            session, plan, TargetValues(25, min_stars=3), official_id=admin.id, clock=console.clock
        )

    await sign_in(page, console, "tinh.bn")
    await page.wait_for_url(console.url("/console/"))
    waiting = page.locator("section", has=page.get_by_role("heading", name="Tài liệu chờ xem xét"))
    item = waiting.get_by_role("listitem")
    assert await item.count() == 1
    text = await item.inner_text()
    assert "Nước mắm cốt" in text and "HTX Nước mắm Đa Mai" in text and "đã chờ 3 ngày" in text
    link = item.get_by_role("link")
    assert await link.get_attribute("href") == f"/console/dossiers/{dossier}"

    chart = page.get_by_role("img", name="Ít nhất 25 sản phẩm, từ 3★ trở lên")
    assert await chart.count() == 1
    box = await chart.bounding_box()
    assert box is not None and box["width"] > 100 and box["x"] + box["width"] <= screen.width
    numbers = "Chỉ tiêu 25; hồ sơ đã nộp 1; hồ sơ hợp lệ 0."
    assert await page.locator("p", has_text=numbers).count() == 1  # the numbers as text
    assert "Kết quả đánh giá, phân hạng (các đợt và số sao) chưa được ghi nhận" in (
        await page.locator("main").inner_text()
    )
    assert await fits_the_screen(page, screen)
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/dashboard-{screen.name}.png", full_page=True)


async def _add_target(page: Any, count: str, **choices: str) -> None:
    await page.get_by_label("At least how many products").fill(count)
    if "stars" in choices:
        await page.get_by_label("Stars (at least)").select_option(choices["stars"])
    if "area" in choices:
        await page.get_by_label("Area", exact=True).select_option(label=choices["area"])
    if choices.get("tourism"):
        await page.get_by_label("Tourism services only").check()
    await page.get_by_role("button", name="Add the target").click()
    await page.wait_for_load_state()


async def test_an_administrator_enters_the_sample_plan(
    page: Any, screen: Screen, sqlite_console: Console
) -> None:
    console = sqlite_console
    await console.official("admin", name="Quản trị", locale="en")
    await sign_in(page, console, "admin")
    await page.wait_for_url(console.url("/console/"))
    assert "No plan has been entered for this year." in (await page.locator("main").inner_text())
    await page.get_by_role("link", name="All plans").click()
    await page.get_by_label("Year").fill("2026")
    await page.get_by_label("Province").select_option(label="Tỉnh Bắc Ninh")
    await page.get_by_label("Name").fill("Kế hoạch OCOP tỉnh (mẫu Bắc Giang 2023)")
    await page.get_by_role("button", name="Create the plan").click()
    await page.wait_for_load_state()
    assert await page.get_by_role("heading", level=1).text_content() == (
        "Kế hoạch OCOP tỉnh (mẫu Bắc Giang 2023)"
    )

    await _add_target(page, "", stars="3")  # a mistake: no count
    assert await page.get_by_role("alert").count() == 1
    count_field = page.get_by_label("At least how many products")
    assert await count_field.get_attribute("aria-invalid") == "true"
    assert "Enter how many products: a whole number from 1." in (
        await page.locator("main").inner_text()
    )
    await _add_target(page, "25", stars="3")
    await _add_target(page, "1", stars="5")
    await _add_target(page, "2", tourism="1")
    await _add_target(page, "1", stars="5", area="Xã Lục Ngạn")
    await _add_target(page, "1", tourism="1", area="Xã Sơn Động")
    await _add_target(page, "2", stars="3", area="Phường Bắc Giang")  # 2–3 per district
    main = await page.locator("main").inner_text()
    for target in (
        "At least 25 products, 3★ or more",
        "At least 1 product, 5★ or more",
        "At least 2 products, tourism services",
        "At least 1 product, 5★ or more, in Xã Lục Ngạn",
        "At least 1 product, tourism services, in Xã Sơn Động",
        "At least 2 products, 3★ or more, in Phường Bắc Giang",
    ):
        assert target in main, target
    assert await page.locator("main svg[role=img]").count() == 6
    assert await fits_the_screen(page, screen)
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/plan-{screen.name}.png", full_page=True)

    await page.get_by_role("link", name="Dashboard").click()
    await page.wait_for_url(console.url("/console/"))
    assert await page.locator("main svg[role=img]").count() == 6
    assert (
        await page.locator(
            "p", has_text="Target 25; dossiers submitted 0; accepted as valid 0."
        ).count()
        == 1
    )
    assert await fits_the_screen(page, screen)
