"""Products, dossiers and documents written straight into the console's database, with the
times a test chooses (the dashboard's counts and waiting times are read from them); what the
storage layer keeps stored beside them (each document's ``waiting_since``) is refreshed as its
own changes do."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.dossiers import refresh_waiting
from storage.models import Dossier, DossierDocument, Product, User
from storage.states import DocumentStatus, DossierStatus
from tests.console.conftest import Console


async def add_dossier(
    console: Console,
    producer_id: int,
    *,
    name: str = "Nước mắm cốt",
    product_set: int = 9,
    status: DossierStatus = DossierStatus.SUBMITTED,
    submitted_at: datetime | None = None,
    documents: Sequence[tuple[str, DocumentStatus, datetime]] = (),
) -> int:
    """A product with one dossier and its documents (type, state, last upload); the dossier's
    id. A filed dossier without ``submitted_at`` was filed at the Clock's now."""
    now = console.clock.now()
    if submitted_at is None and status != DossierStatus.DRAFT:
        submitted_at = now
    async with console.db.transaction() as session:
        user = User(display_name="Chủ thể", created_at=now)
        session.add(user)
        await session.flush()
        product = Product(
            producer_id=producer_id, product_set=product_set, name=name, created_by=user.id,
            created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(product)
        await session.flush()
        dossier = Dossier(
            product_id=product.id, kind="new", rules_version="2026.1", status=status,
            submitted_at=submitted_at, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(dossier)
        await session.flush()
        for doc_type, doc_status, uploaded in documents:
            session.add(
                DossierDocument(
                    dossier_id=dossier.id,
                    doc_type=doc_type,
                    status=doc_status,
                    created_at=uploaded,
                    updated_at=uploaded,
                )
            )
        await refresh_waiting(session, dossier)
        return dossier.id
