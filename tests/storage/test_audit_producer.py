"""Every audit entry about a producer's things names the producer (``audit_log.producer_id``,
which the console's audit log filters and scopes by): written by the chat's and the officials'
own functions, and filled in by migration 0015 for the entries written before it; on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.dossiers import create_product, set_document_status, set_dossier_status
from storage.migrate import upgrade
from storage.models import (
    AuditEntry,
    ChannelIdentity,
    Dossier,
    DossierDocument,
    Producer,
    ProducerMember,
    Product,
    User,
)
from storage.states import DocumentStatus, DossierStatus
from tests.engine.conftest import database  # noqa: F401
from tests.postgres import POSTGRES_URL, temporary_database
from tests.storage.test_dossiers import producer_with_people, upload

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def another_producer() -> Producer:
    return Producer(
        org_type="cooperative",
        name="HTX khác",
        tax_code="0100109106",
        rep_name="Minh",
        rep_position="Giám đốc",
        rep_gender="male",
        rep_ethnicity="Kinh",
        phone="+84912345679",
        province_id=1,
    )


async def things_of_a_producer(db: Database) -> tuple[int, int, int, int]:
    """A producer with a product, its dossier and one uploaded document: their ids (another
    producer is added first, so that the producer's id differs from the others)."""
    async with db.transaction() as session:
        session.add(
            Producer(
                org_type="cooperative",
                name="HTX khác",
                tax_code="0100109106",
                rep_name="Minh",
                rep_position="Giám đốc",
                rep_gender="male",
                rep_ethnicity="Kinh",
                phone="+84912345679",
                province_id=1,
            )
        )
        await session.flush()
        producer, people = await producer_with_people(session)
        product, dossier = await create_product(
            session,
            producer_id=producer.id,
            user_id=people[0].id,
            values={"product_set": 21, "name": "Giỏ mây tre"},
            dossier_kind="first",
            certificate_ref=None,
            rules_version="2026.1",
        )
        document = await upload(session, dossier, "registration_form", people[0])
        return producer.id, product.id, dossier.id, document


async def test_entries_name_the_producer_of_their_entity(database: Database) -> None:  # noqa: F811
    producer, _product, dossier, document = await things_of_a_producer(database)
    async with database.transaction() as session:
        await set_document_status(
            session, document, DocumentStatus.HAS_ISSUES, official_id=5, reason="Thiếu chữ ký"
        )
        await set_dossier_status(
            session, dossier, DossierStatus.REJECTED, official_id=5, reason="Hồ sơ không đủ"
        )
    async with database.sessions() as session:
        rows = (await session.execute(select(AuditEntry.action, AuditEntry.producer_id))).all()
    assert sorted(rows) == sorted(
        [
            ("product.registered", producer),
            ("document.uploaded", producer),
            ("document.has_issues", producer),
            ("dossier.rejected", producer),
        ]
    )


async def old_producer_with_people(session: AsyncSession) -> tuple[Producer, list[int]]:
    """A producer with two people, written in a schema older than the models: the people by
    Core inserts (the ORM would also ask for the columns later migrations add to ``users``)."""
    people: list[int] = []
    for name, locale in (("Lan", "vi"), ("Binh", "en")):
        user_id = await session.scalar(
            insert(User).values(display_name=name, locale=locale).returning(User.id)
        )
        assert user_id is not None
        people.append(user_id)
    producer = another_producer()
    session.add(producer)
    await session.flush()
    for n, user_id in enumerate(people):
        session.add(ProducerMember(producer_id=producer.id, user_id=user_id, role="member"))
        session.add(ChannelIdentity(user_id=user_id, channel="telegram", chat_id=str(100 + n)))
    await session.flush()
    return producer, people


async def rows_without_audit(db: Database) -> tuple[int, int, int, int]:
    """The same things written as rows alone (the schema of 0009 has no producer_id)."""
    async with db.transaction() as session:
        session.add(another_producer())
        producer, people = await old_producer_with_people(session)
        product = Product(
            producer_id=producer.id, product_set=21, name="Giỏ mây tre", created_by=people[0]
        )
        session.add(product)
        await session.flush()
        # Core inserts: the ORM would also ask for the columns later migrations add.
        dossier = await session.scalar(
            insert(Dossier)
            .values(product_id=product.id, kind="first", rules_version="2026.1")
            .returning(Dossier.id)
        )
        assert dossier is not None
        document = await session.scalar(
            insert(DossierDocument)
            .values(dossier_id=dossier, doc_type="registration_form")
            .returning(DossierDocument.id)
        )
        assert document is not None
        return producer.id, product.id, dossier, document


@asynccontextmanager
async def empty_database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database on ``backend``, for a migration's backfill test."""
    if backend == "postgres":
        if not POSTGRES_URL:
            pytest.skip("OCOP_TEST_POSTGRES_URL is not set")
        async with temporary_database(POSTGRES_URL, "ocop_test_backfill") as url:
            yield url
        return
    yield f"sqlite+aiosqlite:///{tmp_path / 'backfill.sqlite3'}"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_migration_fills_in_the_entries_written_before(
    backend: str, tmp_path: Path
) -> None:
    async with empty_database(backend, tmp_path) as url:
        db = Database(url)
        try:
            await upgrade(db.engine, "0015_official_chats")  # the one before 0016_audit_indexes
            producer, product, dossier, document = await rows_without_audit(db)
            assert producer not in (product, dossier, document)
            async with db.transaction() as session:
                for entity, entity_id in (
                    ("producer", producer),
                    ("product", product),
                    ("dossier", dossier),
                    ("dossier_document", document),
                    ("official", 1),
                    ("dossier", 999),
                ):
                    await session.execute(
                        text(
                            "INSERT INTO audit_log (at, actor_kind, actor_id, action, entity, "
                            "entity_id, details) VALUES (CURRENT_TIMESTAMP, 'system', NULL, "
                            "'old', :entity, :entity_id, '{}')"
                        ),
                        {"entity": entity, "entity_id": entity_id},
                    )
            await upgrade(db.engine)
            async with db.sessions() as session:
                rows = (
                    await session.execute(
                        select(AuditEntry.entity, AuditEntry.entity_id, AuditEntry.producer_id)
                        .where(AuditEntry.action == "old")
                        .order_by(AuditEntry.id)
                    )
                ).all()
        finally:
            await db.dispose()
    assert [r.producer_id for r in rows] == [producer] * 4 + [None, None]
