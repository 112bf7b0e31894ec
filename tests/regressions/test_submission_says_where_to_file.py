"""The checklist and the submission say where and how to file (Art. 7.1): at the commune's
People's Committee, a signed and stamped paper set and the electronic set, with 5 samples;
never an unnamed "OCOP office"."""

from __future__ import annotations

from tests.files import make_pdf
from tests.handlers.test_documents import handicraft_dossier, upload
from tests.harness import RunningBot

CHAT = 7_760_000_001
WHERE = (
    "File the dossier at the People's Committee of the commune or ward where the producer "
    "works: one paper set, signed and stamped by the producer, and the same set in electronic "
    "form. Bring 5 samples of the product with it."
)


async def test_submission_says_where_to_file(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    for n, label in enumerate(("Registration form", "Production and business plan")):
        await upload(phone, label, make_pdf(f"document {n}"), f"doc{n}.pdf")
    assert WHERE in phone.last.plain  # the checklist, once the dossier can be filed
    replies = await phone.tap("Submit the dossier")
    assert WHERE in replies[-1].plain
    replies = await phone.tap("Submit")
    assert WHERE in replies[0].plain
    said = " ".join(m.plain for m in phone.messages())
    assert "OCOP office" not in said


async def test_vietnamese_submission_names_the_commune_office(bot: RunningBot) -> None:
    phone = bot.producer(CHAT + 1)
    await handicraft_dossier(phone)
    replies = await phone.tap("Full list")
    assert "People's Committee of the commune or ward" in replies[-2].plain
    await phone.say("/language")
    await phone.tap("Tiếng Việt")
    await phone.say("/menu")
    await phone.tap("San pham cua toi")
    await phone.tap("Gio may tre")
    replies = await phone.tap("Danh sach day du")
    assert "Nộp hồ sơ tại UBND xã/phường nơi chủ thể sản xuất" in replies[-2].plain
    assert "Kèm theo 5 mẫu sản phẩm." in replies[-2].plain
