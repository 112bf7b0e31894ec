"""Conversations in a real browser (headless Chromium), at desktop and at 360 px phone width:
an official reads a producer's transcript, answers from it, and answers a question from the
queue; a script typed by a producer shows as text."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from storage.models import OutboxMessage, Question, TranscriptEntry
from storage.states import OfficialRole, QuestionStatus
from tests.console.conftest import BROWSER_LOOP, Console, Screen
from tests.console.test_browser_sign_in import SCREENSHOTS, fits_the_screen, sign_in
from tests.console.test_conversations import XSS, exchange, member

pytestmark = BROWSER_LOOP

LONG = "Xin hỏi thủ tục " + "rất-dài-không-có-khoảng-trắng-" * 8


async def da_mai(console: Console) -> tuple[int, int]:
    bac_ninh = await console.area("bac ninh")
    commune = await console.area("bac ninh", "Đa Mai")
    producer = await console.producer("HTX Đa Mai", bac_ninh, commune)
    await console.official("xa.damai", OfficialRole.COMMUNE, [commune], name="Lê Văn Minh")
    return producer, await member(console, producer, "601", "Nguyễn Thị Lan")


async def test_read_a_transcript_and_answer_from_it(
    page: Any, screen: Screen, sqlite_console: Console
) -> None:
    console = sqlite_console
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    producer, user_id = await da_mai(console)
    await exchange(console, user_id, "601", XSS, "Anh/chị chọn loại hình tổ chức")
    await exchange(console, user_id, "601", LONG, "Anh/chị chờ cán bộ trả lời")
    await sign_in(page, console, "xa.damai")
    await page.wait_for_url(console.url("/console/"))

    await page.goto(console.url(f"/console/producers/{producer}/transcript"))
    heading = page.get_by_role("heading", level=1)
    assert await heading.text_content() == "Hội thoại với HTX Đa Mai"
    lines = page.locator(".talk-line")
    assert await lines.count() == 4
    assert await lines.nth(0).locator(".talk-text").text_content() == XSS
    assert await page.locator("main script").count() == 0
    assert "Đang chờ gửi" in (await lines.nth(3).inner_text())
    assert await fits_the_screen(page, screen)
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/transcript-{screen.name}.png", full_page=True)

    await page.get_by_label("Trả lời chủ thể qua tin nhắn").fill("Tuần sau cán bộ xuống xã.")
    await page.get_by_role("button", name="Gửi câu trả lời").click()
    await page.wait_for_url(console.url(f"/console/producers/{producer}/transcript#latest"))
    assert await lines.count() == 5
    last = lines.nth(4)
    assert "Lê Văn Minh (UBND phường Đa Mai)" in await last.inner_text()
    assert "Trả lời của UBND phường Đa Mai:\nTuần sau cán bộ xuống xã." in (
        await last.locator(".talk-text").inner_text()
    )
    assert await fits_the_screen(page, screen)
    assert dialogs == []
    async with console.db.sessions() as session:
        official = await session.scalar(
            select(TranscriptEntry.official_id).order_by(TranscriptEntry.id.desc()).limit(1)
        )
        queued = len(list(await session.scalars(select(OutboxMessage))))
    assert official is not None and queued == 3


async def test_answer_a_question_from_the_queue(
    page: Any, screen: Screen, sqlite_console: Console
) -> None:
    console = sqlite_console
    producer, user_id = await da_mai(console)
    async with console.db.transaction() as session:
        for text, ago in (
            (LONG, timedelta(days=2)),
            ("Phí đánh giá bao nhiêu?", timedelta(hours=1)),
        ):
            session.add(
                Question(
                    producer_id=producer, user_id=user_id, text=text,
                    status=QuestionStatus.OPEN, created_at=console.clock.now() - ago,
                )
            )  # fmt: skip
    await sign_in(page, console, "xa.damai")
    await page.wait_for_url(console.url("/console/"))
    await page.get_by_role("link", name="Câu hỏi", exact=True).click()
    await page.wait_for_url(console.url("/console/questions"))
    cards = page.locator(".talk-queue > li")
    assert await cards.count() == 2
    first = cards.nth(0)
    assert "đã chờ 2 ngày" in await first.inner_text()
    assert await fits_the_screen(page, screen)
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/questions-{screen.name}.png", full_page=True)

    await first.get_by_label("Câu trả lời").fill("Anh/chị mang hồ sơ lên xã thứ Hai.")
    await first.get_by_role("button", name="Gửi câu trả lời").click()
    await page.wait_for_url(console.url("/console/questions"))
    assert await cards.count() == 1
    assert "Phí đánh giá bao nhiêu?" in await cards.nth(0).inner_text()

    await cards.nth(0).get_by_role("link", name="Xem hội thoại").click()
    await page.wait_for_url(console.url(f"/console/producers/{producer}/transcript#latest"))
    answered = page.locator(".talk-official")
    assert await answered.count() == 1
    assert "Anh/chị mang hồ sơ lên xã thứ Hai." in await answered.inner_text()
    assert await fits_the_screen(page, screen)
