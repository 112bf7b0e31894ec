"""A dossier can be submitted with only the documents needed to file (Art. 6.1); what is still
missing for 3★ is named first in a plain warning."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Dossier
from tests.files import make_pdf
from tests.handlers.test_documents import handicraft_dossier, upload
from tests.harness import RunningBot

CHAT = 7_750_000_001


async def test_dossier_files_without_3_star_papers_with_a_warning(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    assert "Submit the dossier" not in " ".join(phone.buttons())
    for n, label in enumerate(("Registration form", "Production and business plan")):
        await upload(phone, label, make_pdf(f"document {n}"), f"doc{n}.pdf")
    assert "The dossier can be submitted now." in phone.last.plain
    assert "Next: Trademark application or certificate." in phone.last.plain
    replies = await phone.tap("Submit the dossier")
    assert (
        "⚠️ Without these the product cannot reach 3 stars: "
        "Trademark application or certificate; Product story." in replies[-1].plain
    )
    replies = await phone.tap("Submit")
    assert "is submitted" in replies[0].plain
    async with bot.db.sessions() as session:
        dossier = await session.scalar(select(Dossier))
    assert dossier is not None and dossier.status == "submitted"
