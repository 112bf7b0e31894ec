"""A refused file (too large, a program, an archive…) is answered with what to send instead,
never with "send the next page"."""

from __future__ import annotations

from tests.files import make_exe, make_pdf
from tests.handlers.test_documents import handicraft_dossier
from tests.harness import RunningBot

CHAT = 7_730_000_001


async def test_refused_file_is_not_followed_by_next_page(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    await phone.tap("Registration form")
    replies = await phone.send_document(make_exe(), "ho-so.pdf", "application/pdf")
    texts = [m.plain for m in replies]
    assert len(texts) == 1 and "a program, not a document" in texts[0]
    assert "PDF" in texts[0] and "next page" not in texts[0]
    assert phone.buttons() == ["⬅️ Back"]

    replies = await phone.send_document(make_pdf(), "lon.pdf", declared_size=25 * 1024 * 1024)
    texts = [m.plain for m in replies]
    assert len(texts) == 1 and "photos of the pages" in texts[0]
    assert "next page" not in texts[0]

    # A page that was received, then a refused one: Done stays, still no "next page".
    await phone.send_document(make_pdf("page 1"), "trang1.pdf")
    replies = await phone.send_document(make_exe(), "trang2.pdf", "application/pdf")
    texts = [m.plain for m in replies]
    assert len(texts) == 1 and "next page" not in texts[0]
    assert phone.buttons() == ["✅ Done"]
