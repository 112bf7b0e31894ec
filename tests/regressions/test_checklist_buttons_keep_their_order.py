"""The checklist's document buttons keep the checklist's order after each upload (they used to
move what was sent to the end, and a new user tapped the wrong document); they are grouped by
tier, a page each, and each shows its document's status."""

from __future__ import annotations

from storage.text import fold
from tests.files import make_pdf
from tests.handlers.test_documents import handicraft_dossier, upload
from tests.harness import Producer, RunningBot

CHAT = 7_710_000_001


def documents(phone: Producer) -> list[str]:
    """The document buttons of the latest keyboard, without their status icons."""
    skip = ("Submit", "Previous", "Next page", "Full list", "Estimate", "My products", "Menu")
    labels = [b for b in phone.buttons() if not any(fold(s) in fold(b) for s in skip)]
    return [label.split(" ", 1)[1] for label in labels]


async def test_checklist_buttons_keep_their_order(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    first_page = documents(phone)
    assert first_page == ["Registration form (Form 01)", "Production and business plan (Form 02)"]
    await upload(phone, "Registration form", make_pdf("form"), "form.pdf")
    assert documents(phone) == first_page
    assert phone.buttons()[0] == "✅ Registration form (Form 01)"
    assert phone.buttons()[1] == "⬜ Production and business plan (Form 02)"

    await phone.tap("Next page")
    assert "Needed for 3★ (page 2 of 4)" in phone.last.plain
    second_page = documents(phone)
    assert second_page == ["Trademark application or certificate", "Product story"]
    await upload(phone, "Product story", make_pdf("story"), "story.pdf")
    assert documents(phone) == second_page  # still page 2, same order
    assert "✅ Product story" in phone.buttons()

    await phone.tap("Next page")
    third_page = documents(phone)
    assert len(third_page) == 8
    await phone.tap("Next page")
    assert "Extra points (page 4 of 4)" in phone.last.plain
    assert len(third_page) + len(documents(phone)) == 12
    await phone.tap("Previous")
    assert documents(phone) == third_page
