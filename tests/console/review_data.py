"""A filed dossier for the review tests: a producer's person with a Telegram chat, a honey
product (set 1) and its three documents needed to file, uploaded as a PDF, a PNG and a Word
file whose bytes are in the blob store."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from storage.blobs import BlobStore
from storage.db import Database
from storage.dossiers import add_file, create_product, submit_dossier
from storage.models import ChannelIdentity, DocumentFile, ProducerMember, User
from tests.files import make_docx, make_pdf, make_png

REGISTRATION, SELF_ASSESSMENT, FOOD_SAFETY = (
    "registration_form",
    "self_assessment",
    "food_safety_cert",
)
# (document, bytes, detected kind, the type the upload claimed, the producer's file name)
UPLOADS = [
    (REGISTRATION, make_pdf("Phieu dang ky"), "pdf", "text/html", 'phiếu "đăng ký"<x>.pdf'),
    (SELF_ASSESSMENT, make_png(), "png", "image/png", "tự đánh giá.png"),
    (FOOD_SAFETY, make_docx(), "docx", "application/msword", "../../etc/passwd.docx"),
]


@dataclass(frozen=True)
class Filed:
    """The ids of what :func:`filed_dossier` made."""

    user_id: int
    product_id: int
    dossier_id: int
    documents: dict[str, int]
    files: dict[str, int]


def chat_of(producer_id: int) -> str:
    """The Telegram chat of the person :func:`person_of` makes."""
    return str(7_300_000_000 + producer_id)


async def person_of(db: Database, producer_id: int, locale: str = "vi") -> int:
    """A person who speaks for the producer, with a Telegram chat; their user id."""
    chat_id = chat_of(producer_id)
    async with db.transaction() as session:
        user = User(display_name="Lan", locale=locale)
        session.add(user)
        await session.flush()
        session.add(ProducerMember(producer_id=producer_id, user_id=user.id, role="owner"))
        session.add(ChannelIdentity(user_id=user.id, channel="telegram", chat_id=chat_id))
        return user.id


async def filed_dossier(
    db: Database,
    blobs: BlobStore,
    producer_id: int,
    *,
    product: str = "Mật ong bạc hà",
    user_id: int | None = None,
    submit: bool = True,
) -> Filed:
    """A product of ``producer_id`` with a dossier holding the three documents needed to file
    (submitted unless told otherwise)."""
    user = user_id if user_id is not None else await person_of(db, producer_id)
    documents: dict[str, int] = {}
    files: dict[str, int] = {}
    async with db.transaction() as session:
        made, dossier = await create_product(
            session, producer_id=producer_id, user_id=user,
            values={"product_set": 1, "name": product}, dossier_kind="first",
            certificate_ref=None, rules_version="2026.1",
        )  # fmt: skip
        for code, data, kind, claimed, name in UPLOADS:
            ref = await blobs.put(data)
            added = await add_file(
                session, dossier, code, user_id=user, sha256=ref.sha256, size=ref.size,
                kind=kind, mime_type=claimed, original_name=name, new_round=True,
            )  # fmt: skip
            await session.flush()
            documents[code] = added.document.id
        if submit:
            await submit_dossier(session, dossier, user, set(documents))
        await session.flush()
        for code, document_id in documents.items():
            files[code] = (
                await session.scalars(
                    select(DocumentFile.id).where(DocumentFile.document_id == document_id)
                )
            ).one()
        return Filed(user, made.id, dossier.id, documents, files)
