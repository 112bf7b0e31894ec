"""What the dashboard reads stored beside the review states (``storage/dossiers.py``): each
document's ``waiting_since`` and each product's ``latest`` dossier stay what the rows say
through every state change (uploads, more photos, filing, decisions on documents and on the
whole dossier, re-uploads, filing again), and migration 0018 fills them in for the rows written
before it; on SQLite and PostgreSQL.

"What the rows say" is computed afresh here in SQL, as the dashboard did before it was stored:
a document waits when it is ``received`` or ``edited`` in a ``submitted``, ``has_issues`` or
``edited`` dossier, since the later of its last upload and the dossier's last filing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.dossiers import set_document_status, set_dossier_status, submit_dossier
from storage.migrate import upgrade
from storage.models import Dossier, DossierDocument
from storage.states import AWAITING_REVIEW, UNDER_REVIEW, DocumentStatus, DossierStatus
from storage.types import UTCDateTime
from tests.engine.conftest import database  # noqa: F401
from tests.storage.test_audit_producer import empty_database, old_producer_with_people
from tests.storage.test_dossiers import draft, upload

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
FORM, LICENCE = "registration_form", "business_registration"


async def recomputed(db: Database) -> dict[int, datetime | None]:
    """Each document's waiting time, computed from the review states and times."""
    filed = func.coalesce(Dossier.submitted_at, DossierDocument.updated_at)
    later = case((DossierDocument.updated_at > filed, DossierDocument.updated_at), else_=filed)
    waits = sa.and_(DossierDocument.status.in_(AWAITING_REVIEW), Dossier.status.in_(UNDER_REVIEW))
    since = sa.type_coerce(case((waits, later), else_=None), UTCDateTime())
    async with db.sessions() as session:
        rows = await session.execute(
            select(DossierDocument.id, since).join(
                Dossier, Dossier.id == DossierDocument.dossier_id
            )
        )
        return {row[0]: row[1] for row in rows}


async def stored(db: Database) -> dict[int, datetime | None]:
    async with db.sessions() as session:
        rows = await session.execute(select(DossierDocument.id, DossierDocument.waiting_since))
        return {row[0]: row[1] for row in rows}


async def latest_marks(db: Database) -> tuple[set[int], set[int]]:
    """The dossiers marked latest, and the newest dossier of each product."""
    async with db.sessions() as session:
        marked = set(await session.scalars(select(Dossier.id).where(Dossier.latest)))
        newest = set(
            await session.scalars(select(func.max(Dossier.id)).group_by(Dossier.product_id))
        )
    return marked, newest


async def waiting(db: Database) -> dict[int, datetime | None]:
    """The stored waiting times, after checking them (and the latest marks) against the rows."""
    found = await stored(db)
    assert found == await recomputed(db)
    marked, newest = await latest_marks(db)
    assert marked == newest
    return found


async def dossier_row(db: Database, dossier_id: int) -> Dossier:
    async with db.sessions() as session:
        return await session.get_one(Dossier, dossier_id)


async def document_row(db: Database, document_id: int) -> DossierDocument:
    async with db.sessions() as session:
        return await session.get_one(DossierDocument, document_id)


async def test_waiting_since_follows_every_state_change(database: Database) -> None:  # noqa: F811
    db = database
    async with db.transaction() as session:
        dossier, people = await draft(session)
        owner = people[0]
        dossier_id = dossier.id
    assert await waiting(db) == {}

    async with db.transaction() as session:  # uploads to a draft wait for nobody
        dossier = await session.get_one(Dossier, dossier_id)
        form = await upload(session, dossier, FORM, owner)
        licence = await upload(session, dossier, LICENCE, owner)
    assert await waiting(db) == {form: None, licence: None}

    async with db.transaction() as session:  # filed: both wait since the filing
        dossier = await session.get_one(Dossier, dossier_id)
        await submit_dossier(session, dossier, owner.id, {FORM, LICENCE})
    filed = (await dossier_row(db, dossier_id)).submitted_at
    assert filed is not None
    assert await waiting(db) == {form: filed, licence: filed}

    async with db.transaction() as session:  # the form sent back; the licence still waits
        await set_document_status(
            session, form, DocumentStatus.HAS_ISSUES, official_id=5, reason="Thiếu chữ ký"
        )
    assert (await dossier_row(db, dossier_id)).status == DossierStatus.HAS_ISSUES
    assert await waiting(db) == {form: None, licence: filed}

    async with db.transaction() as session:
        await set_document_status(session, licence, DocumentStatus.APPROVED, official_id=5)
    assert await waiting(db) == {form: None, licence: None}

    async with db.transaction() as session:  # uploaded again: it waits since the upload
        dossier = await session.get_one(Dossier, dossier_id)
        await upload(session, dossier, FORM, owner, sha="b" * 64)
    again = (await document_row(db, form)).updated_at
    assert again > filed
    assert (await dossier_row(db, dossier_id)).status == DossierStatus.EDITED
    assert await waiting(db) == {form: again, licence: None}

    async with db.transaction() as session:  # one more photo of it: since that one
        dossier = await session.get_one(Dossier, dossier_id)
        await upload(session, dossier, FORM, owner, sha="c" * 64, new_round=False)
    photo = (await document_row(db, form)).updated_at
    assert photo > again
    assert await waiting(db) == {form: photo, licence: None}

    async with db.transaction() as session:  # filed again: since the new filing
        dossier = await session.get_one(Dossier, dossier_id)
        await submit_dossier(session, dossier, owner.id, {FORM, LICENCE})
    refiled = (await dossier_row(db, dossier_id)).submitted_at
    assert refiled is not None and refiled > photo
    assert await waiting(db) == {form: refiled, licence: None}

    async with db.transaction() as session:  # decided as a whole: nothing waits
        await set_dossier_status(session, dossier_id, DossierStatus.APPROVED, official_id=5)
    assert await waiting(db) == {form: None, licence: None}

    async with db.transaction() as session:  # sent back after all: the form waits again
        await set_dossier_status(
            session, dossier_id, DossierStatus.HAS_ISSUES, official_id=5, reason="Xem lại"
        )
    assert await waiting(db) == {form: refiled, licence: None}

    async with db.transaction() as session:
        await set_dossier_status(
            session, dossier_id, DossierStatus.REJECTED, official_id=5, reason="Không đạt"
        )
    assert await waiting(db) == {form: None, licence: None}


async def test_a_document_sent_back_in_a_draft_makes_the_others_wait(
    database: Database,  # noqa: F811
) -> None:
    """A decision on a draft's document puts the dossier in ``has_issues`` (under review), so
    its other documents wait, since their upload (it was never filed)."""
    async with database.transaction() as session:
        dossier, people = await draft(session)
        form = await upload(session, dossier, FORM, people[0])
        licence = await upload(session, dossier, LICENCE, people[0])
    async with database.transaction() as session:
        await set_document_status(
            session, form, DocumentStatus.REJECTED, official_id=5, reason="Sai mẫu"
        )
    uploaded = (await document_row(database, licence)).updated_at
    assert await waiting(database) == {form: None, licence: uploaded}


async def test_one_latest_dossier_per_product(database: Database) -> None:  # noqa: F811
    async with database.transaction() as session:
        dossier, _people = await draft(session)
        product_id, first = dossier.product_id, dossier.id
    assert await latest_marks(database) == ({first}, {first})
    with pytest.raises(IntegrityError):  # a second dossier must take the mark from the first
        async with database.transaction() as session:
            session.add(Dossier(product_id=product_id, kind="re_rating", rules_version="2026.1"))
    async with database.transaction() as session:
        await session.execute(
            sa.update(Dossier).where(Dossier.product_id == product_id).values(latest=False)
        )
        second = Dossier(product_id=product_id, kind="re_rating", rules_version="2026.1")
        session.add(second)
        await session.flush()
        second_id = second.id
    assert await latest_marks(database) == ({second_id}, {second_id})


# -- migration 0018 ------------------------------------------------------------------------------

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
_products = sa.table(
    "products",
    sa.column("id", sa.Integer()),
    sa.column("producer_id", sa.Integer()),
    sa.column("product_set", sa.Integer()),
    sa.column("name", sa.String()),
    *(sa.column(c, sa.String()) for c in ("description", "packaging", "yearly_output")),
    sa.column("raw_material_area", sa.String()),
    sa.column("created_by", sa.Integer()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
_dossiers = sa.table(
    "dossiers",
    sa.column("id", sa.Integer()),
    sa.column("product_id", sa.Integer()),
    sa.column("kind", sa.String()),
    sa.column("rules_version", sa.String()),
    sa.column("status", sa.String()),
    sa.column("submitted_at", UTCDateTime()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
_documents = sa.table(
    "dossier_documents",
    sa.column("id", sa.Integer()),
    sa.column("dossier_id", sa.Integer()),
    sa.column("doc_type", sa.String()),
    sa.column("status", sa.String()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)


def _at(days: float) -> datetime:
    return T0 + timedelta(days=days)


# (dossier id, product id, state, filed on day), then (document id, dossier id, state, upload day)
OLD_DOSSIERS = [
    (1, 1, "rejected", 1.0),  # the product's first evaluation
    (2, 1, "submitted", 10.0),  # and its second: the latest
    (3, 2, "edited", 5.0),
    (4, 3, "draft", None),
    (5, 4, "approved", 2.0),
]
OLD_DOCUMENTS = [
    (10, 1, "received", 0.5),
    (20, 2, "received", 9.0),  # uploaded before the filing: waits since day 10
    (21, 2, "approved", 9.0),
    (30, 3, "edited", 7.5),  # corrected after the filing: waits since day 7.5
    (31, 3, "has_issues", 4.0),
    (32, 3, "received", 4.0),  # waits since day 5
    (40, 4, "received", 3.0),
    (50, 5, "received", 1.0),
]


async def _old_rows(db: Database) -> None:
    """The rows as written before 0018 (no ``latest``, no ``waiting_since``)."""
    async with db.transaction() as session:
        producer, people = await old_producer_with_people(session)
        product = {
            "producer_id": producer.id, "product_set": 21, "description": "", "packaging": "",
            "yearly_output": "", "raw_material_area": "", "created_by": people[0],
            "created_at": T0, "updated_at": T0,
        }  # fmt: skip
        await session.execute(
            sa.insert(_products),
            [{**product, "id": n, "name": f"Sản phẩm {n}"} for n in (1, 2, 3, 4)],
        )
        dossier = {"kind": "first", "rules_version": "2026.1", "created_at": T0, "updated_at": T0}
        await session.execute(
            sa.insert(_dossiers),
            [
                {
                    **dossier,
                    **dict(zip(("id", "product_id", "status"), (i, p, state), strict=True)),
                    "submitted_at": None if day is None else _at(day),
                }
                for i, p, state, day in OLD_DOSSIERS
            ],
        )
        await session.execute(
            sa.insert(_documents),
            [
                {
                    **dict(zip(("id", "dossier_id", "status"), (i, d, state), strict=True)),
                    "doc_type": f"type_{i}",
                    "created_at": _at(day),
                    "updated_at": _at(day),
                }
                for i, d, state, day in OLD_DOCUMENTS
            ],
        )


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_migration_fills_in_the_rows_written_before(
    backend: str, tmp_path: Path
) -> None:
    async with empty_database(backend, tmp_path) as url:
        db = Database(url)
        try:
            await upgrade(db.engine, "0018_timers")  # the one before 0019_dashboard_speed
            await _old_rows(db)
            await upgrade(db.engine)
            found = await waiting(db)
            marked, _newest = await latest_marks(db)
        finally:
            await db.dispose()
    assert found == {
        10: None,
        20: _at(10),
        21: None,
        30: _at(7.5),
        31: None,
        32: _at(5),
        40: None,
        50: None,
    }
    assert marked == {2, 3, 4, 5}
