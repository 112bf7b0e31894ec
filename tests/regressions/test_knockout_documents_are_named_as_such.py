"""A knock-out document (its absence rejects the dossier) is named as such in the checklist,
the full list, its upload question and the refused submission."""

from __future__ import annotations

from tests.files import make_pdf
from tests.handlers.test_documents import open_document, upload
from tests.harness import RunningBot, register

CHAT = 7_740_000_001


async def test_knockout_documents_are_named_as_such(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register(phone, language="English", confirm=True)
    await phone.tap("New product")
    await phone.say("nuoc mam")  # set 9: the food-safety certificate is a knock-out
    for answer in ("Nuoc mam Cua Lo", "Fish sauce, 40 degrees", "Bottle 500 ml", "20000 bottles"):
        await phone.say(answer)
    await phone.tap("Skip")
    await phone.tap("First evaluation")
    await phone.tap("Confirm")
    for n, label in enumerate(("Registration form", "Production and business plan")):
        await upload(phone, label, make_pdf(f"document {n}"), f"doc{n}.pdf")
    assert (
        "Next: Food-safety facility certificate. Without this the dossier is rejected."
        in phone.last.plain
    )
    assert "Submit the dossier" not in " ".join(phone.buttons())

    replies = await phone.tap("Full list")
    needed = replies[0].plain
    food_safety = needed[needed.index("⬜ Food-safety facility certificate") :]
    assert "❗ Without this the dossier is rejected." in food_safety
    assert needed.count("Without this the dossier is rejected.") == 1

    replies = await open_document(phone, "Food-safety facility certificate")
    assert "❗ Without this the dossier is rejected." in replies[-1].plain
    await phone.tap("Back")

    # A forged or stale Submit tap is refused with the knock-out named.
    signature = phone.button_data("Full list").split("|")[0]
    replies = await phone.push(phone.make.callback(CHAT, f"{signature}|send"))
    refusal = replies[-1].plain
    assert "cannot be filed without: Food-safety facility certificate" in refusal
    assert "Without Food-safety facility certificate the dossier is rejected." in refusal
