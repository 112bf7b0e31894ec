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
LISTED_PRODUCERS = 5_000  # above this, the scope's producers stay a subquery


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

    def conditions(self, *, action_index: bool = True) -> list[ColumnElement[bool]]:
        """The filter in SQL. Without ``action_index`` the action is compared in a form no
        index serves, so that the database looks entries up by producer (a few producers'
        entries, sorted) rather than walk every entry of that action for the few of theirs."""
        found: list[ColumnElement[bool]] = []
        if self.official_id is not None:
            found.append(_by_official(self.official_id))
        if self.producer_id is not None:
            found.append(AuditEntry.producer_id == self.producer_id)
        if self.action:
            action = AuditEntry.action if action_index else AuditEntry.action.concat("")
            found.append(action == self.action)
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


@dataclass(frozen=True)
class _Branch:
    """Part of what a scope sees: a condition (None: every entry), and whether the filter's
    action may pick the index (not when a list of producers does better)."""

    condition: ColumnElement[bool] | None
    action_index: bool = True


async def _scope_branches(session: AsyncSession, scope: Scope) -> list[_Branch]:
    """The entries a scope sees, as branches whose union it is.

    Not everything: entries about the producers in the official's areas, and their own
    actions; kept as two queries, so that each walks its own index and stops at a page. The
    producers are listed by id when they are few (a commune, most provinces): the database
    then looks each one's entries up in ``ix_audit_producer`` instead of walking the whole
    log for the few that are theirs."""
    if scope.everything:
        return [_Branch(None)]
    in_scope = select(Producer.id).where(scope.producers())
    listed = list(await session.scalars(in_scope.limit(LISTED_PRODUCERS + 1)))
    mine = _Branch(_by_official(scope.official_id))
    if not listed:
        return [mine]
    if len(listed) <= LISTED_PRODUCERS:
        return [_Branch(AuditEntry.producer_id.in_(listed), action_index=False), mine]
    return [_Branch(AuditEntry.producer_id.in_(in_scope)), mine]


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
    ids: set[int] = set()
    for branch in await _scope_branches(session, scope):
        conditions = wanted.conditions(action_index=branch.action_index)
        if before is not None:
            conditions.append(AuditEntry.id < before)
        if branch.condition is not None:
            conditions.append(branch.condition)
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
