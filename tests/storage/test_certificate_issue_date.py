"""A dossier keeps its certificate's issue date (migration 0007) on SQLite and PostgreSQL, and
submission refuses a dossier whose documents needed to file are not all in."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.dossiers import ReviewError, create_product, submit_dossier
from storage.models import AuditEntry, Dossier
from tests.engine.conftest import database  # noqa: F401
from tests.storage.test_dossiers import producer_with_people, upload


async def test_certificate_issue_date_is_kept(database: Database) -> None:  # noqa: F811
    async with database.transaction() as session:
        producer, people = await producer_with_people(session)
        _product, dossier = await create_product(
            session,
            producer_id=producer.id,
            user_id=people[0].id,
            values={"product_set": 21, "name": "Gio may tre"},
            dossier_kind="rerating",
            certificate_ref="125/QĐ-UBND",
            certificate_issued=date(2024, 5, 1),
            rules_version="2026.1",
        )
        dossier_id = dossier.id
    async with database.sessions() as session:
        stored = await session.get_one(Dossier, dossier_id)
        audit = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "product.registered")
        )
    assert (stored.certificate_ref, stored.certificate_issued) == ("125/QĐ-UBND", date(2024, 5, 1))
    assert audit is not None and "2024-05-01" in str(audit.details)


async def test_submission_needs_every_document_needed_to_file(
    database: Database,  # noqa: F811
) -> None:
    async with database.transaction() as session:
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
        assert dossier.certificate_issued is None
        needed = {"registration_form", "self_assessment"}
        await upload(session, dossier, "registration_form", people[0])
        with pytest.raises(ReviewError, match="self_assessment"):
            await submit_dossier(session, dossier, people[0].id, needed)
        with pytest.raises(ReviewError, match="no required documents"):
            await submit_dossier(session, dossier, people[0].id, set())
        await upload(session, dossier, "self_assessment", people[0], sha="b" * 64)
        await submit_dossier(session, dossier, people[0].id, needed)
        assert dossier.status == "submitted"
