"""What the producer sees of a review: the whole bot on the fake Telegram server and the console
on the same application and database. An official sends a document back with a reason; the
producer reads the reason in Vietnamese at once, taps the button and is asked for that very
document; what they send makes it "uploaded again" on the official's page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import http_app
from bot.review import decide_document
from storage.blobs import LocalBlobStore
from storage.clock import ManualClock
from storage.models import Dossier, DossierDocument, ProducerMember
from storage.states import OfficialRole
from tests.console.conftest import Console, csrf_of
from tests.console.review_data import SELF_ASSESSMENT, filed_dossier
from tests.files import make_pdf
from tests.harness import RunningBot, copy_database, register, running_bot

CHAT = 7_300_000_081
XSS = "<script>alert(1)</script>"


@pytest.fixture
async def bot(prepared_console_database: Path, tmp_path: Path) -> AsyncIterator[RunningBot]:
    url = copy_database(prepared_console_database, tmp_path / "ocop.sqlite3")
    async with running_bot(url, tmp_path / "blobs") as running:
        yield running


async def test_the_producer_reads_the_reason_and_sends_the_document_again(
    bot: RunningBot, tmp_path: Path
) -> None:
    phone = bot.producer(CHAT)
    await register(phone, confirm=True)
    async with bot.db.sessions() as session:
        member = (await session.scalars(select(ProducerMember))).one()
    filed = await filed_dossier(
        bot.db, LocalBlobStore(tmp_path / "blobs"), member.producer_id, user_id=member.user_id
    )
    phone.new_messages()

    async with TestClient(TestServer(http_app(bot.app))) as client:
        console = Console(client, bot.db, ManualClock())
        tan_son = await console.area("bac ninh", "Tân Sơn")
        await console.official("tanson", OfficialRole.COMMUNE, [tan_son], name="Cán bộ Tân Sơn")
        assert (await console.sign_in("tanson")).status == 303
        path = f"/console/dossiers/{filed.dossier_id}"
        page = await (await console.get(path)).text()
        document = filed.documents[SELF_ASSESSMENT]
        version = re.search(
            rf'action="/console/documents/{document}/decision".*?name="version" value="(\d+)"',
            page,
            re.S,
        )
        assert version
        reason = f"Thiếu chữ ký và dấu {XSS}"
        response = await console.post(
            f"/console/documents/{document}/decision",
            {
                "csrf_token": csrf_of(page),
                "version": version.group(1),
                "decision": "has_issues",
                "reason": reason,
            },
        )
        assert response.status == 303

        await bot.settle()
        (notice,) = phone.new_messages()
        assert "Cán bộ đã trả lại “Phương án sản xuất kinh doanh (Mẫu 02)”" in notice.plain
        assert reason in notice.plain  # the producer reads the reason as written…
        assert XSS not in notice.text  # …sent as text, not markup
        replies = await phone.tap("Gui lai giay to nay")
        asked = replies[-1].plain
        assert "Phương án sản xuất kinh doanh (Mẫu 02)" in replies[-1].text, asked
        assert reason in asked  # the upload prompt repeats what was wrong
        await phone.send_document(make_pdf("Tu danh gia co chu ky"), "tu-danh-gia.pdf")
        if "Xong" in " ".join(phone.buttons()):
            await phone.tap("Xong")
        async with bot.db.sessions() as session:
            row = await session.get_one(DossierDocument, document)
            dossier = await session.get_one(Dossier, filed.dossier_id)
        assert row.status == "edited" and dossier.status == "edited"

        page = await (await console.get(path)).text()
        assert "Đã gửi lại, chờ xem xét" in page
        assert "Thiếu chữ ký và dấu &lt;script&gt;" in page


async def test_the_upload_command_opens_only_a_document_of_that_dossier(
    bot: RunningBot, tmp_path: Path
) -> None:
    """``/product P D`` with a document of another dossier (or none) opens the checklist,
    never an upload; with a document of its own sent back, that document's upload."""
    phone = bot.producer(CHAT)
    await register(phone, confirm=True)
    async with bot.db.sessions() as session:
        member = (await session.scalars(select(ProducerMember))).one()
    blobs = LocalBlobStore(tmp_path / "blobs")
    mine = await filed_dossier(bot.db, blobs, member.producer_id, user_id=member.user_id)
    other = await filed_dossier(
        bot.db, blobs, member.producer_id, user_id=member.user_id, product="Trà xanh"
    )
    async with bot.db.transaction() as session:
        await decide_document(
            session, mine.documents[SELF_ASSESSMENT], "has_issues", official_id=1, reason="Mờ"
        )
    await bot.settle()
    phone.new_messages()
    for document in (other.documents[SELF_ASSESSMENT], 99_999_999, "x"):
        replies = await phone.say(f"/product {mine.product_id} {document}")
        assert "📎" not in replies[-1].text, document
        assert "Mật ong bạc hà" in replies[-1].text  # the checklist of the product
    replies = await phone.say(f"/product {mine.product_id} {mine.documents[SELF_ASSESSMENT]}")
    assert "📎 Phương án sản xuất kinh doanh (Mẫu 02)" in replies[-1].text
