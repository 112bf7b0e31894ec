"""The console in a real browser (headless Chromium), at desktop and at 360 px phone width:
signing in, the first page, signing out; a wrong password; a hostile name shown as text."""

from __future__ import annotations

import os
from typing import Any

from storage.states import OfficialRole
from tests.console.conftest import BROWSER_LOOP, PASSWORD, Console, Screen

pytestmark = BROWSER_LOOP

SCREENSHOTS = os.environ.get("OCOP_CONSOLE_SCREENSHOTS")  # a folder, to look at the pages


async def fits_the_screen(page: Any, screen: Screen) -> bool:
    width = await page.evaluate("document.documentElement.scrollWidth")
    return bool(width <= screen.width)


async def sign_in(page: Any, console: Console, username: str, password: str = PASSWORD) -> None:
    await page.goto(console.url("/console/"))
    assert page.url == console.url("/console/login")
    await page.get_by_label("Tên đăng nhập").fill(username)
    await page.get_by_label("Mật khẩu").fill(password)
    await page.get_by_role("button", name="Đăng nhập").click()


async def test_sign_in_see_the_first_page_and_sign_out(
    page: Any, screen: Screen, sqlite_console: Console
) -> None:
    console = sqlite_console
    bac_ninh = await console.area("bac ninh")
    da_mai = await console.area("bac ninh", "Đa Mai")
    await console.producer("HTX Đa Mai", bac_ninh, da_mai)
    await console.official("xa.damai", OfficialRole.COMMUNE, [da_mai], name="Lê Văn Minh")

    await sign_in(page, console, "Xa.DaMai")
    await page.wait_for_url(console.url("/console/"))
    heading = page.get_by_role("heading", level=1)
    assert await heading.text_content() == "Xin chào, Lê Văn Minh"
    main = await page.locator("main").inner_text()
    assert "UBND xã/phường" in main and "Phường Đa Mai, Tỉnh Bắc Ninh" in main
    header = await page.evaluate(
        "getComputedStyle(document.querySelector('.top')).backgroundColor"
    )
    assert header == "rgb(11, 93, 59)"  # the style sheet was loaded
    assert await fits_the_screen(page, screen)
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/home-{screen.name}.png", full_page=True)

    await page.get_by_role("button", name="English").click()
    await page.wait_for_load_state()
    assert await heading.text_content() == "Hello, Lê Văn Minh"
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(console.url("/console/login"))
    await page.goto(console.url("/console/"))
    assert page.url == console.url("/console/login")


async def test_wrong_password_is_announced(
    page: Any, screen: Screen, sqlite_console: Console
) -> None:
    await sqlite_console.official("admin")
    await sign_in(page, sqlite_console, "admin", "not the password")
    alert = page.get_by_role("alert")
    assert await alert.text_content() == "Sai tên đăng nhập hoặc mật khẩu."
    assert await page.get_by_label("Tên đăng nhập").input_value() == "admin"
    assert await page.get_by_label("Mật khẩu").input_value() == ""
    assert await fits_the_screen(page, screen)
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/login-{screen.name}.png", full_page=True)


async def test_a_script_in_a_name_shows_as_text(
    page: Any, screen: Screen, sqlite_console: Console
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await sqlite_console.official("admin", name="<script>alert(1)</script>")
    await sign_in(page, sqlite_console, "admin")
    await page.wait_for_url(sqlite_console.url("/console/"))
    heading = page.get_by_role("heading", level=1)
    assert await heading.text_content() == "Xin chào, <script>alert(1)</script>"
    assert await page.locator("main script").count() == 0
    assert dialogs == []
    assert await fits_the_screen(page, screen)
