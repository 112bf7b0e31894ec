"""The lists in a real browser (headless Chromium) at desktop and 360 px phone width: searching
producers without diacritics, following a row to its page, paging, and downloading an export."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import openpyxl

from storage.states import DossierStatus, OfficialRole
from tests.console.conftest import BROWSER_LOOP, Console, Screen
from tests.console.lists_data import add_producer, add_product
from tests.console.test_browser_sign_in import SCREENSHOTS, fits_the_screen, sign_in

pytestmark = BROWSER_LOOP


async def test_search_producers_without_diacritics(
    page: Any, screen: Screen, sqlite_console: Console
) -> None:
    console = sqlite_console
    bac_ninh = await console.area("bac ninh")
    luc_ngan = await console.area("bac ninh", "Lục Ngạn")
    da_mai = await console.area("bac ninh", "Đa Mai")
    wanted = await add_producer(console.db, "Hợp tác xã Lục Ngạn", bac_ninh, luc_ngan)
    await add_product(console.db, wanted, "Vải thiều Lục Ngạn", 1, DossierStatus.SUBMITTED)
    await add_producer(console.db, "Hợp tác xã Đa Mai", bac_ninh, da_mai)
    for n in range(3):
        await add_producer(console.db, f"<script>alert({n})</script>", bac_ninh, luc_ngan)
    await console.official("tinh.bacninh", OfficialRole.PROVINCE, [bac_ninh])
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))

    await sign_in(page, console, "tinh.bacninh")
    await page.wait_for_url(console.url("/console/"))
    await page.get_by_role("link", name="Chủ thể", exact=True).click()
    await page.wait_for_url(console.url("/console/producers"))
    rows = page.locator("table.list tbody tr")
    assert await rows.count() == 5
    assert await fits_the_screen(page, screen)

    await page.get_by_label("Tên, mã số thuế hoặc số điện thoại").fill("hop tac xa luc ngan")
    await page.get_by_label("Xã/phường").select_option(label="Xã Lục Ngạn")
    await page.get_by_role("button", name="Tìm").click()
    await page.wait_for_url("**/console/producers?**")
    assert await rows.count() == 1
    row = await rows.first.inner_text()
    assert "Hợp tác xã Lục Ngạn" in row and "Đã nộp, chờ xem xét: 1" in row and "0912345678" in row
    assert await page.get_by_role("status").inner_text() == "Tìm thấy 1"
    assert await fits_the_screen(page, screen)
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/producers-{screen.name}.png", full_page=True)
    link = page.get_by_role("link", name="Hợp tác xã Lục Ngạn")
    assert await link.get_attribute("href") == f"/console/producers/{wanted}"

    await page.goto(console.url("/console/products?q=vai+thieu"))
    product_rows = page.locator("table.list tbody tr")
    assert await product_rows.count() == 1
    dossier = product_rows.first.get_by_role("link", name="Đã nộp")
    assert (await dossier.get_attribute("href") or "").startswith("/console/dossiers/")
    assert await fits_the_screen(page, screen)
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/products-{screen.name}.png", full_page=True)
    assert dialogs == []


async def test_download_the_list_as_csv_and_excel(
    page: Any, screen: Screen, sqlite_console: Console
) -> None:
    console = sqlite_console
    bac_ninh = await console.area("bac ninh")
    luc_ngan = await console.area("bac ninh", "Lục Ngạn")
    await add_producer(console.db, "Hợp tác xã Lục Ngạn", bac_ninh, luc_ngan)
    await add_producer(console.db, "=1+1 Tổ hợp tác", bac_ninh, luc_ngan)
    await console.official("admin")
    await sign_in(page, console, "admin")
    await page.wait_for_url(console.url("/console/"))
    await page.goto(console.url("/console/producers?q=luc+ngan"))

    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="CSV").click()
    download = await waiting.value
    assert download.suggested_filename.startswith("producers-")
    assert download.suggested_filename.endswith(".csv")
    data = Path(await download.path()).read_bytes()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert [row[1] for row in rows] == ["Tên", "Hợp tác xã Lục Ngạn"]  # the search kept

    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="Excel (XLSX)").click()
    download = await waiting.value
    assert download.suggested_filename.endswith(".xlsx")
    workbook = io.BytesIO(Path(await download.path()).read_bytes())
    sheet = openpyxl.load_workbook(workbook, read_only=True).worksheets[0]
    assert [row[1] for row in sheet.iter_rows(values_only=True)] == ["Tên", "Hợp tác xã Lục Ngạn"]
