"""After an upload the producer gets a brief acknowledgement and the short status, not the
whole 2,400-character checklist; an unrecognised text gets a short hint; the full list is
there on request."""

from __future__ import annotations

from tests.files import make_pdf
from tests.handlers.test_documents import handicraft_dossier, upload
from tests.harness import RunningBot

CHAT = 7_720_000_001


async def test_checklist_is_short_after_an_upload(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    await phone.tap("Next page")
    replies = await upload(phone, "Trademark", make_pdf("trademark"), "trademark.pdf")
    assert replies[0].startswith("📄 Trademark application or certificate: 1 file received.")
    status = replies[-1]
    assert "Needed to file 0/2 · for 3★ 1/2 · extra points 0/12" in status
    assert "Next: Registration form (Form 01)." in status
    assert len("\n".join(replies)) < 400, replies
    assert len(phone.buttons()) <= 12


async def test_unrecognised_text_gets_a_short_hint(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    replies = await phone.say("xin chao")
    assert [m.plain for m in replies] == [
        "Tap a document below to send it, or 📋 Full list to see them all."
    ]
    assert "⬜ Registration form (Form 01)" in phone.buttons()


async def test_full_list_on_request(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    replies = [m.plain for m in await phone.tap("Full list")]
    assert replies[0].startswith("Needed to file: the dossier cannot be filed without these.")
    assert "⬜ Product story\n    The story of the product" in replies[1]
    assert "▫️ Awards" in replies[2]
    assert all(len(text) < 4096 for text in replies)
    assert "Needed to file 0/2" in replies[-1]  # the short status with its buttons again
