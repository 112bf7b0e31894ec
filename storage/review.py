"""What the console's producer and dossier pages read, always through the official's scope.

Every lookup by id takes the :class:`~storage.officials.Scope` and answers None for a producer,
dossier or file outside it, so a changed id in a URL finds nothing. A document's history is its
audit entries (uploads by the producer's people, decisions by officials) with who made each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Area,
    AuditEntry,
    ChannelIdentity,
    DocumentFile,
    Dossier,
    DossierDocument,
    Official,
    Producer,
    ProducerMember,
    Product,
    User,
)
from storage.officials import Scope
from storage.states import ActorKind

__all__ = [
    "HistoryLine",
    "Member",
    "ProducerProfile",
    "dossier_in_scope",
    "file_in_scope",
    "files_of",
    "history_of",
    "official_names",
    "producer_in_scope",
    "producer_profile",
    "products_with_dossiers",
]


@dataclass(frozen=True)
class Member:
    """A person who speaks for the producer, with the chats they use."""

    member: ProducerMember
    user: User
    channels: list[ChannelIdentity]


@dataclass(frozen=True)
class ProducerProfile:
    """A producer with its areas and people."""

    producer: Producer
    province: Area | None
    commune: Area | None
    members: list[Member]


@dataclass(frozen=True)
class HistoryLine:
    """One audited event of a document or dossier, with who did it."""

    at: datetime
    action: str
    actor_kind: str
    actor: str
    details: dict[str, Any]

    @property
    def reason(self) -> str | None:
        value = self.details.get("reason")
        return value if isinstance(value, str) else None


async def producer_in_scope(
    session: AsyncSession, scope: Scope, producer_id: int
) -> Producer | None:
    """The producer, if the official may see it."""
    return await session.scalar(
        select(Producer).where(Producer.id == producer_id, scope.producers())
    )


async def producer_profile(session: AsyncSession, producer: Producer) -> ProducerProfile:
    """The producer's areas and members (oldest first) with their chats."""
    province = await session.get(Area, producer.province_id)
    commune = await session.get(Area, producer.commune_id) if producer.commune_id else None
    rows = await session.execute(
        select(ProducerMember, User)
        .join(User, User.id == ProducerMember.user_id)
        .where(ProducerMember.producer_id == producer.id)
        .order_by(ProducerMember.id)
    )
    members = []
    for member, user in rows:
        channels = await session.scalars(
            select(ChannelIdentity)
            .where(ChannelIdentity.user_id == user.id)
            .order_by(ChannelIdentity.id)
        )
        members.append(Member(member, user, list(channels)))
    return ProducerProfile(producer, province, commune, members)


async def products_with_dossiers(
    session: AsyncSession, producer_id: int
) -> list[tuple[Product, Dossier | None]]:
    """The producer's products (oldest first), each with its latest dossier."""
    products = list(
        await session.scalars(
            select(Product).where(Product.producer_id == producer_id).order_by(Product.id)
        )
    )
    latest: dict[int, Dossier] = {}
    if products:
        dossiers = await session.scalars(
            select(Dossier)
            .where(Dossier.product_id.in_([p.id for p in products]))
            .order_by(Dossier.id)
        )
        latest = {d.product_id: d for d in dossiers}
    return [(p, latest.get(p.id)) for p in products]


async def dossier_in_scope(
    session: AsyncSession, scope: Scope, dossier_id: int
) -> tuple[Dossier, Product, Producer] | None:
    """The dossier with its product and producer, if the official may see the producer."""
    row = (
        await session.execute(
            select(Dossier, Product, Producer)
            .join(Product, Product.id == Dossier.product_id)
            .join(Producer, Producer.id == Product.producer_id)
            .where(Dossier.id == dossier_id, scope.producers())
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


async def file_in_scope(
    session: AsyncSession, scope: Scope, file_id: int
) -> tuple[DocumentFile, DossierDocument] | None:
    """An uploaded file with its document, if the official may see its producer."""
    row = (
        await session.execute(
            select(DocumentFile, DossierDocument)
            .join(DossierDocument, DossierDocument.id == DocumentFile.document_id)
            .join(Dossier, Dossier.id == DossierDocument.dossier_id)
            .join(Product, Product.id == Dossier.product_id)
            .join(Producer, Producer.id == Product.producer_id)
            .where(DocumentFile.id == file_id, scope.producers())
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def files_of(
    session: AsyncSession, document_ids: Sequence[int]
) -> dict[int, list[DocumentFile]]:
    """Every file of these documents (current and earlier rounds), oldest first."""
    found: dict[int, list[DocumentFile]] = {i: [] for i in document_ids}
    if document_ids:
        rows = await session.scalars(
            select(DocumentFile)
            .where(DocumentFile.document_id.in_(list(document_ids)))
            .order_by(DocumentFile.id)
        )
        for row in rows:
            found[row.document_id].append(row)
    return found


async def official_names(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    """Officials' display names by id."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Official.id, Official.display_name).where(Official.id.in_(list(set(ids))))
    )
    return {official_id: name for official_id, name in rows}


async def history_of(
    session: AsyncSession, entity: str, entity_ids: Sequence[int]
) -> dict[int, list[HistoryLine]]:
    """The audit entries of these rows of ``entity`` (``dossier_document``, ``dossier``),
    oldest first, each naming the official or the person who acted."""
    found: dict[int, list[HistoryLine]] = {i: [] for i in entity_ids}
    if not entity_ids:
        return found
    entries = list(
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == entity, AuditEntry.entity_id.in_(list(entity_ids)))
            .order_by(AuditEntry.id)
        )
    )
    officials = await official_names(
        session,
        [e.actor_id for e in entries if e.actor_kind == ActorKind.OFFICIAL and e.actor_id],
    )
    user_ids = {e.actor_id for e in entries if e.actor_kind == ActorKind.USER and e.actor_id}
    users: dict[int, str] = {}
    if user_ids:
        rows = await session.execute(
            select(User.id, User.display_name).where(User.id.in_(list(user_ids)))
        )
        users = {user_id: name for user_id, name in rows}
    for entry in entries:
        names = officials if entry.actor_kind == ActorKind.OFFICIAL else users
        actor = names.get(entry.actor_id or 0, "")
        if entry.entity_id is not None:
            found[entry.entity_id].append(
                HistoryLine(entry.at, entry.action, entry.actor_kind, actor, entry.details or {})
            )
    return found
