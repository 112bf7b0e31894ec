"""The audit log: one entry next to every change, in the change's own transaction; and the
log as the console reads it (filtered, newest first, a page at a time, within an official's
scope).

Every entry names the producer it is about (``producer_id``): given by the caller, or found
from the entity (a producer, product, dossier or dossier document) in the same INSERT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, ScalarSelect, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry, Dossier, DossierDocument, Official, Producer, Product
from storage.states import ActorKind

if TYPE_CHECKING:
    from storage.officials import Scope

__all__ = ["AuditFilter", "AuditPage", "AuditRow", "audit", "officials_by_name", "read_audit"]

PAGE_SIZE = 50


def _producer_of(entity: str, entity_id: int | None) -> int | ScalarSelect[Any] | None:
    """The producer an entity belongs to: its id, a subquery that finds it, or None."""
    if entity_id is None:
        return None
    if entity == "producer":
        return entity_id
    if entity == "product":
        found = select(Product.producer_id).where(Product.id == entity_id)
    elif entity == "dossier":
        found = (
            select(Product.producer_id)
            .join(Dossier, Dossier.product_id == Product.id)
            .where(Dossier.id == entity_id)
        )
    elif entity == "dossier_document":
        found = (
            select(Product.producer_id)
            .join(Dossier, Dossier.product_id == Product.id)
            .join(DossierDocument, DossierDocument.dossier_id == Dossier.id)
            .where(DossierDocument.id == entity_id)
        )
    else:
        return None
    return found.scalar_subquery()


def audit(
    session: AsyncSession,
    *,
    actor_kind: ActorKind,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    producer_id: int | None = None,
    at: datetime | None = None,
    **details: Any,
) -> AuditEntry:
    """Add an audit entry to ``session`` (committed with the change it describes).

    ``producer_id`` defaults to the producer of the entity; ``at`` (from the caller's clock)
    to now.
    """
    columns: dict[str, Any] = {
        "producer_id": producer_id if producer_id is not None else _producer_of(entity, entity_id)
    }
    if at is not None:
        columns["at"] = at
    entry = AuditEntry(
        actor_kind=actor_kind,
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        details=details,
        **columns,
    )
    session.add(entry)
    return entry


# --- reading the log -------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """What the reader asks for; None is "any". ``since`` is inclusive, ``until`` exclusive."""

    official_id: int | None = None
    producer_id: int | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.official_id is not None:
            found.append(_by_official(self.official_id))
        if self.producer_id is not None:
            found.append(AuditEntry.producer_id == self.producer_id)
        if self.action:
            found.append(AuditEntry.action == self.action)
        if self.since is not None:
            found.append(AuditEntry.at >= self.since)
        if self.until is not None:
            found.append(AuditEntry.at < self.until)
        return found


@dataclass(frozen=True)
class AuditRow:
    """An entry with the names a reader needs: the official who acted, the producer."""

    entry: AuditEntry
    official_name: str | None
    official_username: str | None
    producer_name: str | None


@dataclass(frozen=True)
class AuditPage:
    """Entries newest first; ``older`` continues the list (entries with a smaller id)."""

    rows: list[AuditRow]
    older: int | None


def _by_official(official_id: int) -> ColumnElement[bool]:
    return and_(AuditEntry.actor_kind == ActorKind.OFFICIAL, AuditEntry.actor_id == official_id)


def _scope_branches(scope: Scope) -> list[ColumnElement[bool] | None]:
    """The entries a scope sees, as conditions whose union it is (None: every entry).

    Not everything: entries about the producers in the official's areas, and their own
    actions. Kept as two queries, so that each walks its own index and stops at a page."""
    if scope.everything:
        return [None]
    return [
        AuditEntry.producer_id.in_(select(Producer.id).where(scope.producers())),
        _by_official(scope.official_id),
    ]


async def read_audit(
    session: AsyncSession,
    scope: Scope,
    wanted: AuditFilter,
    *,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> AuditPage:
    """One page of the entries ``scope`` may see that match ``wanted``, newest (highest id)
    first, those with an id below ``before`` when given."""
    common = wanted.conditions()
    if before is not None:
        common.append(AuditEntry.id < before)
    ids: set[int] = set()
    for branch in _scope_branches(scope):
        conditions = [*common, branch] if branch is not None else common
        found = await session.scalars(
            select(AuditEntry.id)
            .where(*conditions)
            .order_by(AuditEntry.id.desc())
            .limit(limit + 1)
        )
        ids.update(found)
    chosen = sorted(ids, reverse=True)[: limit + 1]
    if not chosen:
        return AuditPage([], None)
    rows = await session.execute(
        select(AuditEntry, Official.display_name, Official.username, Producer.name)
        .outerjoin(
            Official,
            and_(AuditEntry.actor_kind == ActorKind.OFFICIAL, Official.id == AuditEntry.actor_id),
        )
        .outerjoin(Producer, Producer.id == AuditEntry.producer_id)
        .where(AuditEntry.id.in_(chosen[:limit]))
        .order_by(AuditEntry.id.desc())
    )
    page = [AuditRow(entry, name, username, producer) for entry, name, username, producer in rows]
    return AuditPage(page, chosen[limit - 1] if len(chosen) > limit else None)


async def officials_by_name(session: AsyncSession) -> list[Official]:
    """Every official, by display name (the log's filter by official)."""
    return list(
        await session.scalars(select(Official).order_by(Official.display_name, Official.username))
    )
