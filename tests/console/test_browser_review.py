"""Reviewing in a real browser (headless Chromium), at desktop and 360 px phone width: from the
producer's page to the dossier, a PDF viewed inline, a document sent back with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from storage.blobs import LocalBlobStore
from storage.models import DossierDocument, OutboxMessage
from storage.states import OfficialRole
from tests.console.conftest import BROWSER_LOOP, Console, Screen
from tests.console.review_data import REGISTRATION, SELF_ASSESSMENT, UPLOADS, filed_dossier
from tests.console.test_browser_sign_in import SCREENSHOTS, fits_the_screen, sign_in

pytestmark = BROWSER_LOOP


async def test_open_a_dossier_view_a_pdf_and_send_a_document_back(
    page: Any, screen: Screen, sqlite_console: Console, tmp_path: Path
) -> None:
    console = sqlite_console
    bac_ninh = await console.area("bac ninh")
    da_mai = await console.area("bac ninh", "Đa Mai")
    producer = await console.producer("HTX <b>Đa Mai</b>", bac_ninh, da_mai)
    filed = await filed_dossier(console.db, LocalBlobStore(tmp_path / "blobs"), producer)
    await console.official("xa.damai", OfficialRole.COMMUNE, [da_mai], name="Lê Văn Minh")
    downloads: list[Any] = []
    page.on("download", lambda download: downloads.append(download))

    await sign_in(page, console, "xa.damai")
    await page.wait_for_url(console.url("/console/"))
    await page.goto(console.url(f"/console/producers/{producer}"))
    assert await page.get_by_role("heading", level=1).text_content() == "HTX <b>Đa Mai</b>"
    assert await fits_the_screen(page, screen)
    await page.get_by_role("link", name="Mở hồ sơ").click()
    await page.wait_for_url(console.url(f"/console/dossiers/{filed.dossier_id}"))
    assert await page.get_by_role("heading", level=1).text_content() == "Mật ong bạc hà"
    main = await page.locator("main").inner_text()
    assert "Cần để nộp hồ sơ (3/3)" in main or "(3/3)" in main
    assert "Điều kiện bắt buộc: thiếu giấy tờ này thì hồ sơ bị từ chối." in main
    assert await fits_the_screen(page, screen)
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/dossier-{screen.name}.png", full_page=True)

    # The registration form is a PDF: the browser gets it inline, as a PDF, not a download.
    pdf = UPLOADS[0][1]
    document = page.locator(f"#document-{filed.documents[REGISTRATION]}")
    async with page.expect_response(lambda r: "/console/files/" in r.url) as answered:
        await document.get_by_role("link", name="Xem").click()
    response = await answered.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline; ")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert downloads == []
    file_url = console.url(f"/console/files/{filed.files[REGISTRATION]}")
    assert page.url == file_url
    # Chromium's PDF viewer shows it in the tab (its extension's frame is in the page).
    viewer = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"
    for _ in range(50):
        if any(frame.url.startswith(viewer) for frame in page.frames):
            break
        await page.wait_for_timeout(100)
    assert any(frame.url.startswith(viewer) for frame in page.frames), page.frames
    if SCREENSHOTS:
        await page.wait_for_timeout(1000)  # the viewer draws the page
        await page.screenshot(path=f"{SCREENSHOTS}/pdf-{screen.name}.png")
    fetched = await page.request.get(file_url)  # the same bytes, with the browser's session
    assert await fetched.body() == pdf
    await page.goto(console.url(f"/console/dossiers/{filed.dossier_id}"))

    # Send the self-assessment back with a reason.
    document_id = filed.documents[SELF_ASSESSMENT]
    card = page.locator(f"#document-{document_id}")
    await card.get_by_label("Nội dung chưa đạt (chủ thể sẽ đọc được)").fill(
        "Thiếu chữ ký <i>người đại diện</i>"
    )
    await card.get_by_role("button", name="Trả lại cho chủ thể").click()
    await page.wait_for_url(
        console.url(f"/console/dossiers/{filed.dossier_id}") + f"#document-{document_id}"
    )
    card = page.locator(f"#document-{document_id}")
    text = await card.inner_text()
    assert "Bị trả lại" in text and "Thiếu chữ ký <i>người đại diện</i>" in text
    assert "Lê Văn Minh" in text
    assert await fits_the_screen(page, screen)
    async with console.db.sessions() as session:
        row = await session.get_one(DossierDocument, document_id)
        (notice,) = (await session.scalars(select(OutboxMessage))).all()
    assert row.status == "has_issues"
    assert "Thiếu chữ ký <i>người đại diện</i>" in notice.payload["text"]
