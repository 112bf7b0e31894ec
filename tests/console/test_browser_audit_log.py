"""The audit log in a real browser at desktop and phone width: an administrator filters it by
action, reads the entries (a reason stays text) and the page fits the screen."""

from __future__ import annotations

from typing import Any

from storage.audit import audit
from storage.states import ActorKind
from tests.console.conftest import BROWSER_LOOP, Console, Screen
from tests.console.test_browser_sign_in import SCREENSHOTS, fits_the_screen, sign_in

pytestmark = BROWSER_LOOP

XSS = "<script>alert(1)</script>"


async def test_filter_the_log_by_action(
    page: Any, screen: Screen, sqlite_console: Console
) -> None:
    console = sqlite_console
    bac_ninh = await console.area("bac ninh")
    da_mai = await console.area("bac ninh", "Đa Mai")
    producer = await console.producer("HTX Đa Mai", bac_ninh, da_mai)
    official = await console.official("admin", name="Quản trị viên")
    async with console.db.transaction() as session:
        audit(
            session,
            actor_kind=ActorKind.USER,
            actor_id=1,
            action="producer.registered",
            entity="producer",
            entity_id=producer,
        )
        audit(
            session,
            actor_kind=ActorKind.OFFICIAL,
            actor_id=official.id,
            action="producer.updated",
            entity="producer",
            entity_id=producer,
            reason=XSS,
        )
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))

    await sign_in(page, console, "admin")
    await page.wait_for_url(console.url("/console/"))
    await page.get_by_role("link", name="Nhật ký thao tác").click()
    await page.wait_for_url(console.url("/console/audit"))
    entries = page.locator("li.audit-entry")
    assert await entries.count() == 3  # and the administrator being added
    await page.get_by_label("Thao tác", exact=True).select_option(label="Sửa hồ sơ chủ thể")
    await page.get_by_role("button", name="Xem").click()
    await page.wait_for_url("**/console/audit?*action=producer.updated*")
    assert await entries.count() == 1
    entry = await entries.first.inner_text()
    assert "Quản trị viên (admin)" in entry and XSS in entry and "HTX Đa Mai" in entry
    assert dialogs == []  # the reason was shown, not run
    assert await page.get_by_label("Thao tác", exact=True).input_value() == "producer.updated"
    assert await fits_the_screen(page, screen)
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/audit-{screen.name}.png", full_page=True)

    await page.get_by_role("link", name="Bỏ lọc").click()
    await page.wait_for_url(console.url("/console/audit"))
    assert await entries.count() == 3
