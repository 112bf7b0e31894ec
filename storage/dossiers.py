"""Products, dossiers and their documents: queries and every state change, each audited.

Review states follow ODK Central. A document is ``received`` when first uploaded; an official
may mark it ``has_issues`` (with a reason), ``approved`` or ``rejected``; a re-upload after
``has_issues`` (or ``rejected``) makes it ``edited``. A dossier is a ``draft`` until the producer
submits it; then ``submitted``, and the officials move it on the same way.

Each change here also keeps what the dashboard reads stored: a document's ``waiting_since``
(:func:`waiting_since`, refreshed for all of a dossier's documents whenever the dossier or one of
them changes) and the ``latest`` mark of a product's newest dossier.

Access is always scoped by producer: :func:`product_of` answers only for the producer's own
products, so a guessed id in a button payload finds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import audit
from storage.clock import utcnow
from storage.models import DocumentFile, Dossier, DossierDocument, Product
from storage.states import (
    AWAITING_REVIEW,
    DECISIONS,
    EDITABLE_DOSSIER,
    SENDS_DOSSIER_BACK,
    SENT_BACK,
    UNDER_REVIEW,
    ActorKind,
    DocumentStatus,
    DossierStatus,
)
from storage.versions import claim_version

__all__ = [
    "AddedFile",
    "ReviewError",
    "StaleDecision",
    "add_file",
    "create_product",
    "current_dossier",
    "current_files",
    "documents_of",
    "product_of",
    "products_of",
    "refresh_waiting",
    "set_document_status",
    "set_dossier_status",
    "submit_dossier",
    "waiting_since",
]


class ReviewError(ValueError):
    """A state change that the rules of the review do not allow."""


class StaleDecision(ReviewError):
    """A decision made on an older state of a document or dossier (someone changed it since:
    another official decided, or the producer uploaded again); nothing was changed."""

    def __init__(self, entity: str, entity_id: int, expected: int) -> None:
        super().__init__(f"{entity} {entity_id} is no longer at version {expected}")
        self.entity = entity
        self.entity_id = entity_id
        self.expected = expected


async def _claim_version(
    session: AsyncSession, model: type[Dossier] | type[DossierDocument], row_id: int, expected: int
) -> None:
    """Moves the row from version ``expected`` to the next one, or raises StaleDecision."""
    if not await claim_version(session, model, row_id, expected):
        raise StaleDecision(model.__tablename__, row_id, expected)


def waiting_since(
    document_status: str, uploaded_at: datetime, dossier_status: str, submitted_at: datetime | None
) -> datetime | None:
    """Since when a document has waited for an official's review, or None if it does not wait.

    It waits when no official has decided on it since its last upload (``received`` or
    ``edited``) and its dossier is filed and not yet decided (``submitted``, ``has_issues`` or
    ``edited``), since the later of its last upload (``uploaded_at``: the document's
    ``updated_at``) and the dossier's last filing."""
    if document_status not in AWAITING_REVIEW or dossier_status not in UNDER_REVIEW:
        return None
    if submitted_at is None or uploaded_at > submitted_at:
        return uploaded_at
    return submitted_at


async def refresh_waiting(session: AsyncSession, dossier: Dossier) -> None:
    """Stores :func:`waiting_since` for each of the dossier's documents: called by every change
    of a dossier or a document (and by whatever writes them another way)."""
    for document in (await documents_of(session, dossier.id)).values():
        document.waiting_since = waiting_since(
            document.status, document.updated_at, dossier.status, dossier.submitted_at
        )


@dataclass(frozen=True)
class AddedFile:
    """What :func:`add_file` did."""

    document: DossierDocument
    duplicate: bool  # the same content was already part of this document
    files: int  # how many current files the document has now
    reopened: bool = False  # a document sent back (to correct, or rejected) got a new upload


async def products_of(session: AsyncSession, producer_id: int) -> list[Product]:
    """A producer's products, oldest first."""
    rows = await session.scalars(
        select(Product).where(Product.producer_id == producer_id).order_by(Product.id)
    )
    return list(rows)


async def product_of(session: AsyncSession, producer_id: int, product_id: int) -> Product | None:
    """The product with ``product_id`` if it belongs to ``producer_id``; None otherwise."""
    return await session.scalar(
        select(Product).where(Product.id == product_id, Product.producer_id == producer_id)
    )


async def create_product(
    session: AsyncSession,
    *,
    producer_id: int,
    user_id: int,
    values: dict[str, Any],
    dossier_kind: str,
    certificate_ref: str | None,
    rules_version: str,
    certificate_issued: date | None = None,
) -> tuple[Product, Dossier]:
    """A new product with its first (draft) dossier; audited. A dossier that concerns a
    certificate keeps its number (``certificate_ref``) and issue date."""
    product = Product(producer_id=producer_id, created_by=user_id, **values)
    session.add(product)
    await session.flush()
    dossier = Dossier(
        product_id=product.id,
        kind=dossier_kind,
        certificate_ref=certificate_ref,
        certificate_issued=certificate_issued,
        rules_version=rules_version,
        status=DossierStatus.DRAFT,
        latest=True,  # the product's only dossier
    )
    session.add(dossier)
    await session.flush()
    audit(
        session,
        actor_kind=ActorKind.USER,
        actor_id=user_id,
        action="product.registered",
        entity="product",
        entity_id=product.id,
        values=values,
        dossier_id=dossier.id,
        dossier_kind=dossier_kind,
        certificate_issued=certificate_issued.isoformat() if certificate_issued else None,
        rules_version=rules_version,
    )
    return product, dossier


async def current_dossier(session: AsyncSession, product_id: int) -> Dossier | None:
    """The product's latest dossier."""
    return await session.scalar(
        select(Dossier).where(Dossier.product_id == product_id).order_by(Dossier.id.desc())
    )


async def documents_of(session: AsyncSession, dossier_id: int) -> dict[str, DossierDocument]:
    """The dossier's documents by document type."""
    rows = await session.scalars(
        select(DossierDocument).where(DossierDocument.dossier_id == dossier_id)
    )
    return {d.doc_type: d for d in rows}


async def current_files(session: AsyncSession, document_id: int) -> list[DocumentFile]:
    """The files that make up a document now (older rounds are kept but not current)."""
    rows = await session.scalars(
        select(DocumentFile)
        .where(DocumentFile.document_id == document_id, DocumentFile.current.is_(True))
        .order_by(DocumentFile.id)
    )
    return list(rows)


async def add_file(
    session: AsyncSession,
    dossier: Dossier,
    doc_type: str,
    *,
    user_id: int,
    sha256: str,
    size: int,
    kind: str,
    mime_type: str,
    original_name: str = "",
    platform_unique_id: str = "",
    new_round: bool,
) -> AddedFile:
    """Add an uploaded file to a dossier's document; audited.

    ``new_round`` starts the document afresh (the previous files stop being current), as when
    a producer re-uploads a document that was sent back; otherwise the file is appended (the
    next photo of a paper document).
    """
    if dossier.status not in EDITABLE_DOSSIER:
        raise ReviewError(f"dossier {dossier.id} is {dossier.status}; it takes no uploads")
    document = (await documents_of(session, dossier.id)).get(doc_type)
    if document is None:
        document = DossierDocument(
            dossier_id=dossier.id, doc_type=doc_type, status=DocumentStatus.RECEIVED, version=0
        )
        session.add(document)
        await session.flush()
    elif document.status == DocumentStatus.APPROVED:
        raise ReviewError(f"document {document.id} is approved; it takes no uploads")
    files = await current_files(session, document.id)
    if not new_round and any(f.sha256 == sha256 for f in files):
        return AddedFile(document, duplicate=True, files=len(files))
    if new_round and files:
        await session.execute(
            update(DocumentFile)
            .where(DocumentFile.document_id == document.id)
            .values(current=False)
        )
        files = []
    reopened = document.status in SENT_BACK
    if reopened:
        document.status = DocumentStatus.EDITED
        if dossier.status == DossierStatus.HAS_ISSUES:
            dossier.status = DossierStatus.EDITED
            dossier.version += 1
    document.version += 1  # a decision made before this file no longer applies
    session.add(
        DocumentFile(
            document_id=document.id,
            sha256=sha256,
            size=size,
            kind=kind,
            mime_type=mime_type,
            original_name=original_name[:255],
            platform_unique_id=platform_unique_id[:100],
            uploaded_by=user_id,
            current=True,
        )
    )
    document.updated_at = dossier.updated_at = utcnow()
    await refresh_waiting(session, dossier)
    audit(
        session,
        actor_kind=ActorKind.USER,
        actor_id=user_id,
        action="document.uploaded",
        entity="dossier_document",
        entity_id=document.id,
        dossier_id=dossier.id,
        doc_type=doc_type,
        sha256=sha256,
        size=size,
        kind=kind,
        status=document.status,
    )
    return AddedFile(document, duplicate=False, files=len(files) + 1, reopened=reopened)


async def submit_dossier(
    session: AsyncSession, dossier: Dossier, user_id: int, required: set[str]
) -> None:
    """The producer files the dossier: every type in ``required`` (the documents needed to
    file; never none) must be in, and nothing may be waiting to be sent again."""
    if not required:
        raise ReviewError(f"dossier {dossier.id}: no required documents given")
    if dossier.status not in EDITABLE_DOSSIER:
        raise ReviewError(f"dossier {dossier.id} is {dossier.status}; it cannot be submitted")
    documents = await documents_of(session, dossier.id)
    missing = sorted(t for t in required if t not in documents)
    sent_back = sorted(t for t, d in documents.items() if d.status in SENT_BACK)
    if missing or sent_back:
        raise ReviewError(f"missing {missing}, sent back {sent_back}")
    previous = dossier.status
    dossier.status = (
        DossierStatus.SUBMITTED if previous == DossierStatus.DRAFT else DossierStatus.EDITED
    )
    dossier.submitted_at = dossier.updated_at = utcnow()
    dossier.version += 1
    await refresh_waiting(session, dossier)
    audit(
        session,
        actor_kind=ActorKind.USER,
        actor_id=user_id,
        action="dossier.submitted",
        entity="dossier",
        entity_id=dossier.id,
        previous=previous,
        status=dossier.status,
    )


def _check_decision(what: str, status: str, reason: str | None) -> None:
    """A reviewer may approve, send back or reject, and must say why unless approving."""
    if status not in DECISIONS:
        raise ReviewError(f"a reviewer cannot set a {what} to {status!r}")
    if status in SENT_BACK and not (reason and reason.strip()):
        raise ReviewError(f"a reason is required to send a {what} back or reject it")


async def set_document_status(
    session: AsyncSession,
    document_id: int,
    status: str,
    *,
    official_id: int,
    reason: str | None = None,
    expected_version: int | None = None,
) -> DossierDocument:
    """An official's decision on one document; ``has_issues`` and ``rejected`` need a reason.

    A document with issues puts its dossier in ``has_issues`` too. With ``expected_version``
    (the version the official was shown) a document changed since raises StaleDecision.
    """
    _check_decision("document", status, reason)
    if expected_version is not None:
        await _claim_version(session, DossierDocument, document_id, expected_version)
    document = await session.get(DossierDocument, document_id, populate_existing=True)
    if document is None:
        raise ReviewError(f"no document {document_id}")
    if expected_version is None:
        document.version += 1
    dossier = await session.get_one(Dossier, document.dossier_id)
    previous = document.status
    document.status = status
    document.review_reason = reason.strip() if reason else None
    document.reviewed_by = official_id
    document.reviewed_at = document.updated_at = utcnow()
    if status in SENT_BACK and dossier.status in SENDS_DOSSIER_BACK:
        dossier.status = DossierStatus.HAS_ISSUES
        dossier.updated_at = utcnow()
        dossier.version += 1
    await refresh_waiting(session, dossier)
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=official_id,
        action=f"document.{status}",
        entity="dossier_document",
        entity_id=document.id,
        dossier_id=dossier.id,
        previous=previous,
        reason=document.review_reason,
    )
    return document


async def set_dossier_status(
    session: AsyncSession,
    dossier_id: int,
    status: str,
    *,
    official_id: int,
    reason: str | None = None,
    expected_version: int | None = None,
) -> Dossier:
    """An official's decision on a whole dossier (approve, send back, reject); with
    ``expected_version``, a dossier changed since raises StaleDecision."""
    _check_decision("dossier", status, reason)
    if expected_version is not None:
        await _claim_version(session, Dossier, dossier_id, expected_version)
    dossier = await session.get(Dossier, dossier_id, populate_existing=True)
    if dossier is None:
        raise ReviewError(f"no dossier {dossier_id}")
    if dossier.status == DossierStatus.DRAFT:
        raise ReviewError(f"dossier {dossier_id} has not been submitted")
    if expected_version is None:
        dossier.version += 1
    previous = dossier.status
    dossier.status = status
    dossier.review_reason = reason.strip() if reason else None
    dossier.updated_at = utcnow()
    await refresh_waiting(session, dossier)
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=official_id,
        action=f"dossier.{status}",
        entity="dossier",
        entity_id=dossier.id,
        previous=previous,
        reason=dossier.review_reason,
    )
    return dossier
