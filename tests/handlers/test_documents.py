"""Uploading a dossier from the phone: every allowed type, every bad file, albums, duplicates,
what an official sends back, re-upload and submission."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from bot.review import decide_document
from storage.blobs import LocalBlobStore
from storage.models import AuditEntry, DocumentFile, Dossier, DossierDocument, ProducerMember
from storage.text import fold
from tests.fakes.telegram_api import SentMessage
from tests.files import make_docx, make_exe, make_jpeg, make_pdf, make_png, make_zip
from tests.harness import Producer, RunningBot, hand_in, register

CHAT = 7_300_000_001
HANDICRAFT_REQUIRED = ("Registration form", "Production and business plan")


async def handicraft_dossier(phone: Producer) -> None:
    """Registers a producer and a handicraft product; ends at the product's checklist."""
    await register(phone, language="English", confirm=True)
    await handicraft_product(phone, typed=False)


async def handicraft_product(phone: Producer, *, typed: bool) -> None:
    """From the main menu, a handicraft product (set 21) picked by buttons or typed words."""
    await phone.tap("New product")
    if typed:
        await phone.say("thu cong my nghe gia dung")
    else:
        await phone.tap("Handicrafts")
        await phone.tap("21.")
    for answer in ("Gio may tre", "Hand-woven bamboo baskets", "Paper box", "3000 pieces"):
        await phone.say(answer)
    await phone.tap("Skip")
    await phone.tap("First evaluation")
    await phone.tap("Confirm")


async def open_document(phone: Producer, label: str) -> list[SentMessage]:
    """Taps a document at the checklist, turning its pages to find it."""
    while "Previous" in " ".join(phone.buttons()):
        await phone.tap("Previous")
    while not any(fold(label) in fold(button) for button in phone.buttons()):
        await phone.tap("Next page")
    return await phone.tap(label)


async def upload(
    phone: Producer, label: str, content: bytes, name: str, mime: str = "application/pdf"
) -> list[str]:
    """Taps a document, sends one file, and taps Done where the document takes several."""
    await open_document(phone, label)
    replies = await hand_in(phone, content, name, mime)
    if "Done" in " ".join(phone.buttons()):
        replies += await phone.tap("Done")
    return [m.plain for m in replies]


async def files(bot: RunningBot) -> list[DocumentFile]:
    async with bot.db.sessions() as session:
        return list((await session.scalars(select(DocumentFile).order_by(DocumentFile.id))).all())


async def test_each_allowed_type_is_stored_intact(bot: RunningBot, tmp_path: Path) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    uploads = [
        ("Registration form", make_pdf(), "phieu-dang-ky.pdf", "application/pdf", "pdf"),
        ("Product story", make_docx(), "cau-chuyen.docx", "application/msword", "docx"),
        ("Trademark", make_jpeg(), "nhan-hieu.jpg", "image/jpeg", "jpeg"),
    ]
    for label, content, name, mime, _kind in uploads:
        replies = await upload(phone, label, content, name, mime)
        assert any("received" in text for text in replies), replies
        assert any("Needed to file" in text for text in replies), replies
    stored = await files(bot)
    assert [f.kind for f in stored] == [kind for *_, kind in uploads]
    assert [f.original_name for f in stored] == [name for _, _, name, _, _ in uploads]
    blobs = LocalBlobStore(tmp_path / "blobs")
    for record, (_, content, *_rest) in zip(stored, uploads, strict=True):
        assert await blobs.get(record.sha256) == content  # hash checked on read
        assert record.sha256 in str(blobs.path_for(record.sha256))
    assert "Needed to file 1/2 · for 3★ 2/2 · extra points 0/12" in phone.last.plain
    # While each file was downloaded, the chat showed "sending a file…".
    actions = [a for a in bot.api.actions if int(a["chat_id"]) == CHAT]
    assert [a["action"] for a in actions] == ["upload_document"] * 3


async def test_bad_files_get_a_clear_answer_and_nothing_is_stored(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    await phone.tap("Registration form")
    replies = await phone.send_document(make_exe(), "ho-so.pdf", "application/pdf")
    assert "a program, not a document" in replies[0].plain
    replies = await phone.send_document(make_zip(), "ho-so.zip", "application/zip")
    assert "compressed archive" in replies[0].plain
    replies = await phone.send_document(b"", "trong.pdf", "application/pdf")
    assert "empty" in replies[0].plain
    replies = await phone.send_document(b"just some text", "note.txt", "text/plain")
    assert "cannot open that kind of file" in replies[0].plain
    replies = await phone.send_document(make_pdf(), "lon.pdf", declared_size=25 * 1024 * 1024)
    assert "too large" in replies[0].plain and "20 MB" in replies[0].plain
    replies = await phone.send_document(make_pdf() + b"x" * 5000, "dut.pdf", fail_after=100)
    assert "connection broke" in replies[0].plain
    assert await files(bot) == []
    replies = await phone.send_document(make_pdf(), "ok.pdf")
    assert any("Registration form (Form 01): 1 file received." in m.plain for m in replies)


async def test_same_file_twice_is_stored_once(bot: RunningBot, tmp_path: Path) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    content = make_pdf("Giay dang ky kinh doanh")
    await upload(phone, "Business registration", content, "dkkd.pdf")
    await upload(phone, "Product story", content, "dkkd-copy.pdf")
    stored = await files(bot)
    assert len(stored) == 2 and stored[0].sha256 == stored[1].sha256
    blob_files = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert len(blob_files) == 1


async def test_photo_album_makes_one_document(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    await open_document(phone, "Label and packaging photos")
    replies = await phone.send_album([make_jpeg(1), make_jpeg(2), make_png()])
    acknowledgements = [m.plain for m in replies if "received" in m.plain]
    assert acknowledgements == [
        "📄 Label and packaging photos: 3 files received. Send the next page, or tap ✅ Done."
    ]
    await phone.tap("Done")
    async with bot.db.sessions() as session:
        documents = (await session.scalars(select(DossierDocument))).all()
    assert len(documents) == 1 and len(await files(bot)) == 3
    assert "Needed to file 0/2 · for 3★ 0/2 · extra points 1/12" in phone.last.plain


async def test_out_of_context_file_and_text(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await register(phone, language="English", confirm=True)
    replies = await phone.send_document(make_pdf(), "ho-so.pdf")
    assert "Please choose from the menu" in replies[0].plain
    await handicraft_product(phone, typed=True)
    replies = await phone.send_document(make_pdf(), "ho-so.pdf")
    assert "First tap the document" in replies[0].plain
    await open_document(phone, "Trademark")
    replies = await phone.say("here it is")
    assert "waiting for a file" in replies[0].plain
    assert await files(bot) == []


async def test_sent_back_reupload_and_submit(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    for n, label in enumerate((*HANDICRAFT_REQUIRED, "Trademark")):
        await upload(phone, label, make_pdf(f"document {n}"), f"doc{n}.pdf")
    assert "The dossier can be submitted now." in phone.last.plain
    await phone.tap("Submit the dossier")
    replies = await phone.tap("Submit")
    assert "is submitted" in replies[0].plain
    assert "5 samples" in replies[0].plain
    async with bot.db.sessions() as session:
        dossier = await session.scalar(select(Dossier))
        trademark = await session.scalar(
            select(DossierDocument).where(DossierDocument.doc_type == "trademark")
        )
    assert dossier is not None and dossier.status == "submitted"
    assert trademark is not None

    # An official sends the trademark back; the producer is told and sees the reason.
    async with bot.db.transaction() as session:
        await decide_document(
            session, trademark.id, "has_issues", official_id=1, reason="Ảnh bị mờ, chụp lại"
        )
    bot.pushed += 0
    await bot.settle()
    notice = phone.new_messages()[-1]
    assert "sent back “Trademark application or certificate”" in notice.plain
    assert "Ảnh bị mờ, chụp lại" in notice.plain
    replies = await phone.tap("Open the dossier")
    checklist = replies[-1].plain
    assert "1 document sent back" in checklist
    assert "Next: send Trademark application or certificate again (Ảnh bị mờ, chụp lại)" in (
        checklist
    )
    assert "⚠️ Trademark application or certificate" in phone.buttons()
    await phone.tap("My products")
    assert "2/4 documents, 1 sent back · needs corrections" in " ".join(phone.buttons())
    await phone.tap("Gio may tre")
    await upload(phone, "Trademark", make_jpeg(9), "nhan-hieu-moi.jpg", "image/jpeg")
    async with bot.db.sessions() as session:
        trademark = await session.get_one(DossierDocument, trademark.id)
        dossier = await session.get_one(Dossier, dossier.id)
        current = (
            await session.scalars(
                select(DocumentFile).where(
                    DocumentFile.document_id == trademark.id, DocumentFile.current.is_(True)
                )
            )
        ).all()
        actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert trademark.status == "edited" and dossier.status == "edited"
    assert [f.kind for f in current] == ["jpeg"]
    assert actions.count("document.uploaded") == 4
    assert "document.has_issues" in actions and "dossier.submitted" in actions


async def test_second_member_joins_and_others_cannot_touch(bot: RunningBot) -> None:
    owner = bot.producer(CHAT)
    await handicraft_dossier(owner)
    await owner.say("/menu")
    replies = await owner.tap("Invite")
    code = replies[-1].plain.split("colleague: ")[1].split()[0]

    colleague = bot.producer(CHAT + 1)
    await colleague.say("/start")
    await colleague.tap("English")
    await colleague.say("/menu")
    await colleague.tap("join code")
    replies = await colleague.say("ABCD-EFGH-JKMN")
    assert "not right" in replies[0].plain
    replies = await colleague.say(code.lower())
    assert "manage the OCOP dossiers of Hop tac xa Nong nghiep Luc Ngan" in replies[0].plain
    await colleague.tap("My products")
    assert any("Gio may tre" in label for label in colleague.buttons())

    stranger = bot.producer(CHAT + 2)
    await register(stranger, language="English", confirm=True)
    async with bot.db.sessions() as session:
        product_id = (await session.scalars(select(Dossier.product_id))).first()
    replies = await stranger.say(f"/product {product_id}")
    assert "cannot find that product" in replies[0].plain
    assert "My products" in replies[-1].plain
    signature = stranger.button_data("New product").split("|")[0]
    replies = await stranger.push(stranger.make.callback(CHAT + 2, f"{signature}|p:{product_id}"))
    assert "cannot find that product" in replies[0].plain
    assert "My products" in replies[-1].plain
    async with bot.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DocumentFile)) == 0
        members = await session.scalar(select(func.count()).select_from(ProducerMember))
    assert members == 3  # owner, colleague, the stranger's own organisation; nobody else

    # The code worked once: a fourth person cannot reuse it.
    late = bot.producer(CHAT + 3)
    await late.say("/start")
    await late.tap("English")
    await late.say("/menu")
    await late.tap("join code")
    replies = await late.say(code)
    assert "already used" in replies[0].plain


async def test_pages_and_a_submitted_dossier(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    signature = phone.button_data("Full list").split("|")[0]
    for forged in ("pg:²", "pg:999", "pg:-1"):
        replies = await phone.push(phone.make.callback(CHAT, f"{signature}|{forged}"))
        assert "Needed to file (page 1 of 4)" in replies[-1].plain or "Tap a document" in (
            replies[-1].plain
        )
    for n, label in enumerate(HANDICRAFT_REQUIRED):
        await upload(phone, label, make_pdf(f"document {n}"), f"doc{n}.pdf")
    await phone.tap("Submit the dossier")
    await phone.tap("Submit")
    await phone.tap("Gio may tre")
    status = phone.last.plain
    assert "The dossier was submitted on" in status and "page" not in status
    assert phone.buttons() == ["📋 Full list", "⬅️ My products", "🏠 Menu"]
    signature = phone.button_data("Full list").split("|")[0]
    replies = await phone.push(phone.make.callback(CHAT, f"{signature}|d:trademark"))
    assert replies[-1].plain.startswith("📦 Gio may tre\nThis dossier cannot be changed now.")
    replies = await phone.say("hello")
    assert replies[-1].plain == "Tap 📋 Full list to see the documents, or ⬅️ My products."
