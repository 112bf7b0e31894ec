"""In a real browser, at desktop and at 360 px: an official shows a linking code on their
account page, sends it to the bot from their Telegram chat (the fake Bot API, the real bot on
the same database), and the page then shows the chat as linked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from storage.states import OfficialRole
from tests.console.conftest import BROWSER_LOOP, Console, Screen
from tests.console.test_browser_sign_in import fits_the_screen, sign_in
from tests.harness import running_bot

pytestmark = BROWSER_LOOP

OFFICIAL_CHAT = 7_700_000_001
COMMAND = re.compile(r"^/official [A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$")


async def test_an_official_links_their_chat_with_the_code_shown(
    page: Any, screen: Screen, sqlite_console: Console, tmp_path: Path
) -> None:
    console = sqlite_console
    da_mai = await console.area("bac ninh", "Đa Mai")
    await console.official("xa.damai", OfficialRole.COMMUNE, [da_mai], name="Lê Văn Minh")
    await sign_in(page, console, "xa.damai")
    await page.wait_for_url(console.url("/console/"))
    await page.get_by_role("link", name="Tài khoản của tôi").click()
    await page.wait_for_url(console.url("/console/account"))
    assert "Chưa liên kết" in (await page.locator("#link-state").text_content() or "")
    await page.get_by_role("button", name="Hiển thị mã liên kết").click()
    command = (await page.locator("#link-command").text_content() or "").strip()
    assert COMMAND.match(command), command
    assert await fits_the_screen(page, screen)

    async with running_bot(console.db.url, tmp_path / "blobs", clock=console.clock) as bot:
        phone = bot.producer(OFFICIAL_CHAT)
        replies = await phone.say(command)
    assert "Lê Văn Minh" in replies[0].plain

    await page.goto(console.url("/console/account"))
    state = await page.locator("#link-state").text_content() or ""
    assert state.startswith("Đã liên kết: cuộc trò chuyện Telegram nhận thông báo")
    await page.get_by_label("Một bản tổng hợp mỗi ngày").check()
    await page.get_by_label("Giờ gửi bản tổng hợp hằng ngày (giờ Việt Nam)").select_option("9")
    await page.get_by_role("button", name="Lưu").click()
    await page.wait_for_url(re.compile(r".*/console/account\?done=saved$"))
    assert await page.get_by_label("Một bản tổng hợp mỗi ngày").is_checked()
    assert await page.get_by_role("status").first.text_content() == (
        "Đã lưu lựa chọn nhận thông báo."
    )
    await page.get_by_role("button", name="Hủy liên kết cuộc trò chuyện").click()
    await page.wait_for_url(re.compile(r".*/console/account\?done=unlinked$"))
    assert "Chưa liên kết" in (await page.locator("#link-state").text_content() or "")
    assert await fits_the_screen(page, screen)
