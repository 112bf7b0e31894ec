"""Review states of documents and dossiers (ODK Central style), each change audited, and the
producer told in their language."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.review import decide_document, decide_dossier
from storage.db import Database
from storage.dossiers import ReviewError, add_file, create_product, submit_dossier
from storage.models import (
    AuditEntry,
    ChannelIdentity,
    Dossier,
    OutboxMessage,
    Producer,
    ProducerMember,
    TranscriptEntry,
    User,
)

SHA = "a" * 64


async def producer_with_people(session: AsyncSession) -> tuple[Producer, list[User]]:
    """A producer with a Vietnamese-speaking owner and an English-speaking member."""
    people = [User(display_name="Lan", locale="vi"), User(display_name="Binh", locale="en")]
    session.add_all(people)
    await session.flush()
    producer = Producer(
        org_type="cooperative", name="HTX Luc Ngan", tax_code="0100109106", rep_name="Lan",
        rep_position="Giám đốc", rep_gender="female", rep_ethnicity="Tày", phone="+84912345678",
        province_id=1,
    )  # fmt: skip
    session.add(producer)
    await session.flush()
    for n, user in enumerate(people):
        session.add(ProducerMember(producer_id=producer.id, user_id=user.id, role="member"))
        session.add(ChannelIdentity(user_id=user.id, channel="telegram", chat_id=str(100 + n)))
    await session.flush()
    return producer, people


async def draft(session: AsyncSession) -> tuple[Dossier, list[User]]:
    producer, people = await producer_with_people(session)
    _product, dossier = await create_product(
        session,
        producer_id=producer.id,
        user_id=people[0].id,
        values={"product_set": 21, "name": "Gio may tre"},
        dossier_kind="first",
        certificate_ref=None,
        rules_version="2026.1",
    )
    return dossier, people


async def upload(
    session: AsyncSession, dossier: Dossier, doc: str, user: User, **kw: object
) -> int:
    added = await add_file(
        session, dossier, doc, user_id=user.id, sha256=str(kw.get("sha", SHA)), size=10,
        kind="pdf", mime_type="application/pdf", new_round=bool(kw.get("new_round", True)),
    )  # fmt: skip
    return added.document.id


async def test_document_states_and_audit(db: Database) -> None:
    async with db.transaction() as session:
        dossier, people = await draft(session)
        doc_id = await upload(session, dossier, "trademark", people[0])
        await submit_dossier(session, dossier, people[0].id, {"trademark"})
        assert dossier.status == "submitted"

        with pytest.raises(ReviewError, match="reason is required"):
            await decide_document(session, doc_id, "has_issues", official_id=9, reason="  ")
        with pytest.raises(ReviewError, match="cannot set"):
            await decide_document(session, doc_id, "received", official_id=9)
        document = await decide_document(
            session, doc_id, "has_issues", official_id=9, reason="Ảnh mờ"
        )
        assert (document.status, dossier.status) == ("has_issues", "has_issues")
        with pytest.raises(ReviewError, match="missing"):
            await submit_dossier(session, dossier, people[0].id, {"trademark"})

        await upload(session, dossier, "trademark", people[1], sha="b" * 64)
        assert (document.status, dossier.status) == ("edited", "edited")
        await submit_dossier(session, dossier, people[1].id, {"trademark"})
        await decide_document(session, doc_id, "approved", official_id=9)
        with pytest.raises(ReviewError, match="approved"):
            await upload(session, dossier, "trademark", people[0], sha="c" * 64)
        await decide_dossier(session, dossier.id, "approved", official_id=9)
        assert dossier.status == "approved"
        with pytest.raises(ReviewError, match="takes no uploads"):
            await upload(session, dossier, "awards", people[0])

    async with db.sessions() as session:
        actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
        notices = (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "notification")
                .order_by(OutboxMessage.id)
            )
        ).all()
        transcript = (
            await session.scalars(
                select(TranscriptEntry).where(TranscriptEntry.kind == "notification")
            )
        ).all()
    assert actions == [
        "product.registered", "document.uploaded", "dossier.submitted", "document.has_issues",
        "document.uploaded", "dossier.submitted", "document.approved", "dossier.approved",
    ]  # fmt: skip
    # Three decisions, each told to both people, each in their own language.
    assert len(notices) == 6 and len(transcript) == 6
    by_chat = {n.chat_id: n.payload["text"] for n in notices[:2]}
    assert "Cán bộ đã trả lại" in by_chat["100"] and "Ảnh mờ" in by_chat["100"]
    assert "An official sent back" in by_chat["101"]
    assert all(n.priority > 0 for n in notices)
    button = notices[0].payload["buttons"][0][0]
    assert button[1].startswith("g|/product ")


async def test_undecidable_dossiers(db: Database) -> None:
    async with db.transaction() as session:
        dossier, people = await draft(session)
        with pytest.raises(ReviewError, match="not been submitted"):
            await decide_dossier(session, dossier.id, "approved", official_id=9)
        with pytest.raises(ReviewError, match="missing"):
            await submit_dossier(session, dossier, people[0].id, {"trademark"})
        with pytest.raises(ReviewError, match="no document"):
            await decide_document(session, 999, "approved", official_id=9)


async def test_same_file_twice_in_one_document_is_kept_once(db: Database) -> None:
    async with db.transaction() as session:
        dossier, people = await draft(session)
        first = await add_file(
            session, dossier, "label_packaging_photos", user_id=people[0].id, sha256=SHA, size=1,
            kind="jpeg", mime_type="image/jpeg", new_round=True,
        )  # fmt: skip
        again = await add_file(
            session, dossier, "label_packaging_photos", user_id=people[0].id, sha256=SHA, size=1,
            kind="jpeg", mime_type="image/jpeg", new_round=False,
        )  # fmt: skip
    assert (first.duplicate, again.duplicate, again.files) == (False, True, 1)
