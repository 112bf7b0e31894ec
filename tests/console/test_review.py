"""The producer page, the dossier page, files, the ZIP and the review decisions, on both
backends: what an official sees, what they may not see (another commune's ids are 404), the
headers files are served with, decisions recorded with the official and the reason, the
producer's notice queued, and a decision on a stale page refused."""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from pathlib import Path

import pytest
from aiohttp import ClientSession, CookieJar
from sqlalchemy import select

from console.security import HEADERS
from storage.blobs import LocalBlobStore
from storage.dossiers import add_file
from storage.models import AuditEntry, DocumentFile, Dossier, DossierDocument, OutboxMessage
from storage.states import OfficialRole
from tests.console.conftest import Console, csrf_of
from tests.console.review_data import (
    FOOD_SAFETY,
    REGISTRATION,
    SELF_ASSESSMENT,
    UPLOADS,
    chat_of,
    filed_dossier,
)
from tests.files import make_png

XSS = "<script>alert(1)</script>"


def blobs_of(tmp_path: Path) -> LocalBlobStore:
    """The blob store the console under test reads (``Settings.blob_dir``)."""
    return LocalBlobStore(tmp_path / "blobs")


async def two_communes(console: Console) -> tuple[int, int]:
    """A producer in Đa Mai and one in Xuân Lương (Bắc Ninh); their ids."""
    bac_ninh = await console.area("bac ninh")
    da_mai = await console.area("bac ninh", "Đa Mai")
    xuan_luong = await console.area("bac ninh", "Xuân Lương")
    ours = await console.producer(f"HTX {XSS}", bac_ninh, da_mai)
    theirs = await console.producer("HTX Xuân Lương", bac_ninh, xuan_luong)
    await console.official("damai", OfficialRole.COMMUNE, [da_mai], name="Cán bộ Đa Mai")
    return ours, theirs


async def signed_in_page(console: Console, path: str) -> str:
    response = await console.get(path)
    assert response.status == 200, (path, response.status)
    return await response.text()


async def decide(
    console: Console, path: str, page: str, decision: str, reason: str = "", action: str = ""
) -> int:
    """Posts the decision form of ``action`` (its path) as shown on ``page``."""
    form = re.search(
        rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S
    )
    assert form, f"no form for {action}"
    version = re.search(r'name="version" value="(\d+)"', form.group(1))
    assert version
    response = await console.post(
        action,
        {
            "csrf_token": csrf_of(page),
            "version": version.group(1),
            "decision": decision,
            "reason": reason,
        },
    )
    return response.status


@pytest.fixture
def tmp_blobs(tmp_path: Path) -> LocalBlobStore:
    return blobs_of(tmp_path)


async def test_producer_page_shows_the_profile_and_products(
    console: Console, tmp_blobs: LocalBlobStore
) -> None:
    ours, _theirs = await two_communes(console)
    filed = await filed_dossier(console.db, tmp_blobs, ours, product=f"Mật ong {XSS}")
    await console.sign_in("damai")
    page = await signed_in_page(console, f"/console/producers/{ours}")
    assert XSS not in page and "HTX &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Mật ong &lt;script&gt;" in page
    for shown in ("0101234567", "Trần Văn B", "Giám đốc", "0912345678", "Đa Mai", "Telegram"):
        assert shown in page
    assert "<dd>Nam</dd>" in page  # the gender in the official's language
    assert f'href="/console/dossiers/{filed.dossier_id}"' in page
    assert f'href="/console/producers/{ours}/transcript"' in page
    assert "Đã nộp, chờ xem xét" in page or "Filed, to review" in page


async def test_dossier_page_shows_the_checklist_by_tier(
    console: Console, tmp_blobs: LocalBlobStore
) -> None:
    ours, _theirs = await two_communes(console)
    filed = await filed_dossier(console.db, tmp_blobs, ours)
    await console.official("admin", locale="en")
    await console.sign_in("admin")
    page = await signed_in_page(console, f"/console/dossiers/{filed.dossier_id}")
    tiers = [
        page.index(h) for h in ("Needed to file (3/3)", "Needed for 3★ (0/4)", "Extra points")
    ]
    assert tiers == sorted(tiers)
    assert page.count("Knock-out: without this document the dossier is rejected.") == 1
    knockout = page.index("Knock-out")
    assert page.rindex("<h3>", 0, knockout) == page.index("<h3>Food-safety facility certificate")
    for code, file_id in filed.files.items():
        assert f'href="/console/files/{file_id}"' in page, code
    # PDF and images are viewed, Word is downloaded; the producer's file name is text.
    assert f'href="/console/files/{filed.files[REGISTRATION]}">View' in page
    assert f'href="/console/files/{filed.files[FOOD_SAFETY]}" download>Download' in page
    assert "phiếu &#34;đăng ký&#34;&lt;x&gt;.pdf" in page
    assert "File uploaded · Lan" in page and "Dossier filed · Lan" in page
    assert f'href="/console/dossiers/{filed.dossier_id}.zip"' in page


async def test_another_communes_ids_are_not_found(
    console: Console, tmp_blobs: LocalBlobStore
) -> None:
    ours, theirs = await two_communes(console)
    mine = await filed_dossier(console.db, tmp_blobs, ours)
    other = await filed_dossier(console.db, tmp_blobs, theirs, user_id=None)
    await console.sign_in("damai")
    mine_paths = [
        f"/console/producers/{ours}",
        f"/console/dossiers/{mine.dossier_id}",
        f"/console/dossiers/{mine.dossier_id}.zip",
        f"/console/files/{mine.files[REGISTRATION]}",
    ]
    other_paths = [
        f"/console/producers/{theirs}",
        f"/console/dossiers/{other.dossier_id}",
        f"/console/dossiers/{other.dossier_id}.zip",
        f"/console/files/{other.files[REGISTRATION]}",
        "/console/dossiers/99999999999999999999",
        "/console/files/0",
    ]
    for path in mine_paths:
        assert (await console.get(path)).status == 200, path
    for path in other_paths:
        response = await console.get(path)
        assert response.status == 404, path
        assert "HTX Xuân Lương" not in await response.text()
    token = csrf_of(await signed_in_page(console, mine_paths[1]))
    document = other.documents[REGISTRATION]
    for path in (
        f"/console/documents/{document}/decision",
        f"/console/dossiers/{other.dossier_id}/decision",
    ):
        data = {"csrf_token": token, "version": "2", "decision": "approved"}
        assert (await console.post(path, data)).status == 404, path
    async with console.db.sessions() as session:
        untouched = await session.get_one(DossierDocument, document)
    assert untouched.status == "received"


async def test_no_page_without_sign_in_and_no_decision_without_csrf(
    console: Console, tmp_blobs: LocalBlobStore
) -> None:
    ours, _theirs = await two_communes(console)
    filed = await filed_dossier(console.db, tmp_blobs, ours)
    for path in (
        f"/console/producers/{ours}",
        f"/console/dossiers/{filed.dossier_id}",
        f"/console/dossiers/{filed.dossier_id}.zip",
        f"/console/files/{filed.files[REGISTRATION]}",
    ):
        response = await console.get(path)
        assert response.status == 302 and response.headers["Location"] == "/console/login"
    await console.sign_in("damai")
    page = await signed_in_page(console, f"/console/dossiers/{filed.dossier_id}")
    document = filed.documents[REGISTRATION]
    for data in ({}, {"csrf_token": ""}, {"csrf_token": csrf_of(page) + "x"}):
        for path in (
            f"/console/documents/{document}/decision",
            f"/console/dossiers/{filed.dossier_id}/decision",
        ):
            body = {**data, "version": "2", "decision": "approved"}
            assert (await console.post(path, body)).status == 403, (path, data)
    async with console.db.sessions() as session:
        assert (await session.get_one(DossierDocument, document)).status == "received"
        assert (await session.get_one(Dossier, filed.dossier_id)).status == "submitted"


async def test_files_are_served_by_their_detected_kind(
    console: Console, tmp_blobs: LocalBlobStore
) -> None:
    ours, _theirs = await two_communes(console)
    filed = await filed_dossier(console.db, tmp_blobs, ours)
    await console.sign_in("damai")
    expected = {
        REGISTRATION: ("application/pdf", "inline", ".pdf"),
        SELF_ASSESSMENT: ("image/png", "inline", ".png"),
        FOOD_SAFETY: (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "attachment",
            ".docx",
        ),
    }
    contents = {code: data for code, data, *_rest in UPLOADS}
    for code, (content_type, disposition, extension) in expected.items():
        response = await console.get(f"/console/files/{filed.files[code]}")
        assert response.status == 200
        # The upload claimed text/html for the PDF: the detected kind decides.
        assert response.headers["Content-Type"] == content_type
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        header = response.headers["Content-Disposition"]
        name = re.fullmatch(rf'{disposition}; filename="([A-Za-z0-9._-]+)"', header)
        assert name and name.group(1).endswith(extension) and ".." not in name.group(1), header
        assert await response.read() == contents[code]
    header = (await console.get(f"/console/files/{filed.files[REGISTRATION]}")).headers
    assert header["Content-Disposition"].startswith('inline; filename="phieu_dang_ky_x-')


async def test_a_damaged_blob_is_not_served(console: Console, tmp_blobs: LocalBlobStore) -> None:
    ours, _theirs = await two_communes(console)
    filed = await filed_dossier(console.db, tmp_blobs, ours)
    await console.sign_in("damai")
    path = tmp_blobs.path_for(tmp_blobs_sha(UPLOADS[0][1]))
    path.write_bytes(b"%PDF-1.4 forged")
    response = await console.get(f"/console/files/{filed.files[REGISTRATION]}")
    assert response.status == 500
    assert b"forged" not in await response.read()
    zipped = await console.get(f"/console/dossiers/{filed.dossier_id}.zip")
    assert zipped.status == 500


def tmp_blobs_sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


async def test_the_dossier_zip_holds_the_current_documents(
    console: Console, tmp_blobs: LocalBlobStore
) -> None:
    ours, _theirs = await two_communes(console)
    filed = await filed_dossier(console.db, tmp_blobs, ours)
    await console.sign_in("damai")
    response = await console.get(f"/console/dossiers/{filed.dossier_id}.zip")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="dossier-{filed.dossier_id}.zip"'
    )
    assert all(response.headers.get(k) == v for k, v in HEADERS.items())
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    names = sorted(archive.namelist())
    assert names == [
        "01_registration_form/01_phieu_dang_ky_x.pdf",
        "02_self_assessment/01_tu_danh_gia.png",
        "03_food_safety_cert/01_etc_passwd.docx",
    ]
    contents = {code: data for code, data, *_rest in UPLOADS}
    assert archive.read(names[0]) == contents[REGISTRATION]
    assert archive.read(names[2]) == contents[FOOD_SAFETY]


async def test_sending_a_document_back_records_the_official_and_tells_the_producer(
    console: Console, tmp_blobs: LocalBlobStore
) -> None:
    ours, _theirs = await two_communes(console)
    filed = await filed_dossier(console.db, tmp_blobs, ours)
    await console.sign_in("damai")
    path = f"/console/dossiers/{filed.dossier_id}"
    document = filed.documents[SELF_ASSESSMENT]
    action = f"/console/documents/{document}/decision"
    page = await signed_in_page(console, path)
    # A reason is required: nothing changes without one.
    assert await decide(console, path, page, "has_issues", "   ", action=action) == 400
    reason = f"Thiếu chữ ký {XSS}"
    assert await decide(console, path, page, "has_issues", reason, action=action) == 303
    async with console.db.sessions() as session:
        row = await session.get_one(DossierDocument, document)
        dossier = await session.get_one(Dossier, filed.dossier_id)
        entry = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "document.has_issues")
            )
        ).one()
        outbox = (await session.scalars(select(OutboxMessage))).all()
    assert row.status == "has_issues" and row.review_reason == reason
    assert dossier.status == "has_issues"
    official_id = row.reviewed_by
    assert official_id is not None
    assert (entry.actor_kind, entry.actor_id, entry.entity_id) == (
        "official",
        official_id,
        document,
    )
    assert entry.details["reason"] == reason
    (notice,) = outbox
    assert notice.chat_id == chat_of(ours) and notice.kind == "notification"
    assert reason in notice.payload["text"]
    buttons = [b for row in notice.payload["buttons"] for b in row]
    assert buttons[0][1] == f"g|/product {filed.product_id} {document}"
    page = await signed_in_page(console, path)
    assert "Thiếu chữ ký &lt;script&gt;" in page and reason not in page
    assert "Cán bộ Đa Mai" in page
    # The dossier cannot be accepted while a document is sent back; it can be rejected.
    assert 'value="approved">' in page
    assert "Chấp nhận hợp lệ" not in page or "pass on" not in page
    dossier_action = f"/console/dossiers/{filed.dossier_id}/decision"
    assert await decide(console, path, page, "approved", action=dossier_action) == 409
    assert await decide(console, path, page, "rejected", "", action=dossier_action) == 400
    assert await decide(console, path, page, "rejected", "Sai nhóm", action=dossier_action) == 303
    async with console.db.sessions() as session:
        dossier = await session.get_one(Dossier, filed.dossier_id)
        last = (
            await session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
        ).one()
    assert dossier.status == "rejected" and dossier.review_reason == "Sai nhóm"
    assert (last.action, last.actor_kind, last.actor_id) == (
        "dossier.rejected",
        "official",
        official_id,
    )


async def test_accepting_the_dossier_passes_it_on(
    console: Console, tmp_blobs: LocalBlobStore
) -> None:
    ours, _theirs = await two_communes(console)
    filed = await filed_dossier(console.db, tmp_blobs, ours)
    await console.sign_in("damai")
    path = f"/console/dossiers/{filed.dossier_id}"
    page = await signed_in_page(console, path)
    action = f"/console/dossiers/{filed.dossier_id}/decision"
    assert await decide(console, path, page, "approved", action=action) == 303
    async with console.db.sessions() as session:
        dossier = await session.get_one(Dossier, filed.dossier_id)
        (notice,) = (await session.scalars(select(OutboxMessage))).all()
    assert dossier.status == "approved"
    assert "hợp lệ, được chuyển Hội đồng đánh giá, phân hạng" in notice.payload["text"]
    page = await signed_in_page(console, path)
    assert 'name="decision"' not in page  # decided: no more forms


async def test_a_decision_on_a_stale_page_is_refused(
    console: Console, tmp_blobs: LocalBlobStore
) -> None:
    """Two officials open the same dossier; the first sends a document back, the second
    (still looking at the old page) approves it: refused and told what changed."""
    ours, _theirs = await two_communes(console)
    filed = await filed_dossier(console.db, tmp_blobs, ours)
    da_mai = await console.area("bac ninh", "Đa Mai")
    await console.official("damai2", OfficialRole.COMMUNE, [da_mai], name="Cán bộ Hai")
    path = f"/console/dossiers/{filed.dossier_id}"
    document = filed.documents[REGISTRATION]
    action = f"/console/documents/{document}/decision"

    await console.sign_in("damai")
    first_page = await signed_in_page(console, path)
    first_cookies = console.client.session.cookie_jar.filter_cookies(
        console.client.make_url("/console/")
    )
    console.client.session.cookie_jar.clear()
    await console.sign_in("damai2")
    second_page = await signed_in_page(console, path)
    second_cookies = console.client.session.cookie_jar.filter_cookies(
        console.client.make_url("/console/")
    )

    def use(cookies: object) -> None:
        console.client.session.cookie_jar.clear()
        console.client.session.cookie_jar.update_cookies(cookies)  # type: ignore[arg-type]

    use(first_cookies)
    assert await decide(console, path, first_page, "has_issues", "Mờ", action=action) == 303
    use(second_cookies)
    refused = await console.post(
        action,
        {
            "csrf_token": csrf_of(second_page),
            "version": re.search(
                rf'action="{action}".*?name="version" value="(\d+)"', second_page, re.S
            ).group(1),  # type: ignore[union-attr]
            "decision": "approved",
        },
    )
    assert refused.status == 409
    text = await refused.text()
    assert "Chưa lưu" in text and "Cán bộ Đa Mai" in text and "Bị trả lại" in text
    async with console.db.sessions() as session:
        row = await session.get_one(DossierDocument, document)
        decisions = (
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.entity == "dossier_document",
                                                AuditEntry.action != "document.uploaded")
            )
        ).all()  # fmt: skip
        notices = (await session.scalars(select(OutboxMessage))).all()
    assert row.status == "has_issues" and row.review_reason == "Mờ"
    assert list(decisions) == ["document.has_issues"] and len(notices) == 1
    # The page the refusal shows has the new version: deciding again there works.
    assert await decide(console, path, text, "approved", action=action) == 303


async def test_two_officials_deciding_at_once_do_not_both_win(
    console: Console, tmp_blobs: LocalBlobStore
) -> None:
    ours, _theirs = await two_communes(console)
    filed = await filed_dossier(console.db, tmp_blobs, ours)
    da_mai = await console.area("bac ninh", "Đa Mai")
    await console.official("damai2", OfficialRole.COMMUNE, [da_mai], name="Cán bộ Hai")
    path = f"/console/dossiers/{filed.dossier_id}"
    document = filed.documents[REGISTRATION]
    action = console.url(f"/console/documents/{document}/decision")

    async def browser(username: str) -> tuple[ClientSession, str]:
        session = ClientSession(cookie_jar=CookieJar(unsafe=True))  # the server is 127.0.0.1
        login = await session.get(console.url("/console/login"))
        token = csrf_of(await login.text())
        await session.post(
            console.url("/console/login"),
            data={"csrf_token": token, "username": username, "password": "a long enough password"},
        )
        page = await session.get(console.url(path), allow_redirects=False)
        assert page.status == 200
        return session, await page.text()

    first, first_page = await browser("damai")
    second, second_page = await browser("damai2")
    try:
        version = re.search(r'name="version" value="(\d+)"', first_page)
        assert version
        responses = await asyncio.gather(
            first.post(action, allow_redirects=False, data={
                "csrf_token": csrf_of(first_page), "version": version.group(1),
                "decision": "has_issues", "reason": "Thiếu trang 2"}),
            second.post(action, allow_redirects=False, data={
                "csrf_token": csrf_of(second_page), "version": version.group(1),
                "decision": "approved"}),
        )  # fmt: skip
        assert sorted(r.status for r in responses) == [303, 409]
    finally:
        await first.close()
        await second.close()
    async with console.db.sessions() as session:
        decisions = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.entity == "dossier_document",
                                         AuditEntry.action != "document.uploaded")
            )
        ).all()  # fmt: skip
        row = await session.get_one(DossierDocument, document)
    assert len(decisions) == 1 and decisions[0].action == f"document.{row.status}"


async def test_a_file_sent_after_the_page_was_opened_makes_the_decision_stale(
    console: Console, tmp_blobs: LocalBlobStore
) -> None:
    """The producer sends a new file while the official looks at the old one: approving what
    the official saw is refused, and the new file is on the page that says so."""
    ours, _theirs = await two_communes(console)
    filed = await filed_dossier(console.db, tmp_blobs, ours)
    await console.sign_in("damai")
    path = f"/console/dossiers/{filed.dossier_id}"
    page = await signed_in_page(console, path)
    document = filed.documents[SELF_ASSESSMENT]
    newer = make_png(8, 8)
    ref = await tmp_blobs.put(newer)
    async with console.db.transaction() as session:
        dossier = await session.get_one(Dossier, filed.dossier_id)
        dossier.status = "has_issues"  # as after an earlier send-back: it takes uploads
        added = await add_file(
            session, dossier, SELF_ASSESSMENT, user_id=filed.user_id, sha256=ref.sha256,
            size=ref.size, kind="png", mime_type="image/png", new_round=True,
        )  # fmt: skip
        await session.flush()
        new_file = (
            await session.scalars(
                select(DocumentFile.id).where(
                    DocumentFile.document_id == added.document.id, DocumentFile.current
                )
            )
        ).one()
    action = f"/console/documents/{document}/decision"
    assert await decide(console, path, page, "approved", action=action) == 409
    async with console.db.sessions() as session:
        assert (await session.get_one(DossierDocument, document)).status == "received"
    malformed = await console.post(action, {"csrf_token": csrf_of(page), "decision": "approved"})
    assert malformed.status == 400  # no version: refused, nothing changes
    page = await signed_in_page(console, path)
    assert f'href="/console/files/{new_file}"' in page
    assert f'href="/console/files/{filed.files[SELF_ASSESSMENT]}"' in page  # an earlier file


async def test_a_dossier_changed_meanwhile_is_not_decided_on_the_old_page(
    console: Console, tmp_blobs: LocalBlobStore
) -> None:
    """A document of the dossier is sent back (the dossier now has issues) while another
    page still shows it filed: rejecting the dossier there is refused, saying its state."""
    ours, _theirs = await two_communes(console)
    filed = await filed_dossier(console.db, tmp_blobs, ours)
    path = f"/console/dossiers/{filed.dossier_id}"
    action = f"/console/dossiers/{filed.dossier_id}/decision"
    await console.sign_in("damai")
    stale = await signed_in_page(console, path)
    document = f"/console/documents/{filed.documents[FOOD_SAFETY]}/decision"
    assert await decide(console, path, stale, "has_issues", "Hết hạn", action=document) == 303
    refused = await console.post(
        action,
        {
            "csrf_token": csrf_of(stale),
            "version": re.findall(r'name="version" value="(\d+)"', stale)[-1],
            "decision": "rejected",
            "reason": "Sai nhóm sản phẩm",
        },
    )
    assert refused.status == 409
    text = await refused.text()
    assert "Chưa lưu: hồ sơ này đã thay đổi" in text and "“Đã trả lại để bổ sung”" in text
    async with console.db.sessions() as session:
        dossier = await session.get_one(Dossier, filed.dossier_id)
        notices = (await session.scalars(select(OutboxMessage))).all()
    assert dossier.status == "has_issues" and dossier.review_reason is None
    assert len(notices) == 1  # only the document's
