"""What the console's dashboard counts, always within one official's :class:`Scope`: producers,
products and dossiers by state, the documents waiting for review (oldest first) and the
dossiers that count towards a plan's target.

A document waits for review when an official has not decided on it (``received`` or
``edited``) and its dossier has been filed and not yet decided (``submitted``, ``has_issues``
or ``edited``). It has waited since the later of its last upload and the dossier's last filing
(a document uploaded before filing waits from the filing). Both are stored where they change
(``storage/dossiers.py``): each document's ``waiting_since`` and the ``latest`` mark of each
product's newest dossier, so an administrator's dashboard counts and walks indexes instead of
grouping every dossier and sorting every document.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, and_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.clock import LOCAL_TIMEZONE
from storage.models import Area, Dossier, DossierDocument, Producer, Product
from storage.officials import Scope
from storage.states import DossierStatus

Ts = TypeVarTuple("Ts")

__all__ = [
    "Overview",
    "TargetCount",
    "TargetFilter",
    "WaitingDocument",
    "count_for_targets",
    "overview",
    "waiting_documents",
]


@dataclass(frozen=True)
class Overview:
    """The official's numbers: producers, products, and dossiers by state; a product counts
    under the state of its latest dossier."""

    producers: int
    products: int
    products_by_state: dict[str, int]
    dossiers_by_state: dict[str, int]

    @property
    def dossiers(self) -> int:
        return sum(self.dossiers_by_state.values())


@dataclass(frozen=True)
class WaitingDocument:
    """A document waiting for an official's review, and since when."""

    document_id: int
    dossier_id: int
    doc_type: str
    status: str
    product_name: str
    producer_name: str
    since: datetime


@dataclass(frozen=True)
class TargetFilter:
    """Which of a province's dossiers a target counts: of an area (a commune's code; None for
    the whole province) and of some product sets (None for any)."""

    area_code: str | None
    product_sets: Collection[int] | None


@dataclass(frozen=True)
class TargetCount:
    """Dossiers counting towards a target: filed (not drafts) and accepted as valid."""

    submitted: int
    accepted: int


def _by_state(rows: Iterable[tuple[str, int]]) -> dict[str, int]:
    counts = {str(state): 0 for state in DossierStatus}
    for state, count in rows:
        counts[str(state)] = int(count)
    return counts


def _seen(query: Select[*Ts], scope: Scope) -> Select[*Ts]:
    """``query`` (on dossiers) kept to the dossiers the official may see; an administrator sees
    them all, without joining their products and producers."""
    if scope.everything:
        return query
    return (
        query.join(Product, Product.id == Dossier.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .where(scope.producers())
    )


async def overview(session: AsyncSession, scope: Scope) -> Overview:
    """Counts of what the official may see. A product's state is that of its dossier marked
    ``latest``; the dossiers are counted in one pass, by state."""
    producers = await scope.count_producers(session)
    products = select(func.count()).select_from(Product)
    if not scope.everything:
        products = products.join(Producer, Producer.id == Product.producer_id).where(
            scope.producers()
        )
    by_state = await session.execute(
        _seen(
            select(Dossier.status, func.count(), func.count().filter(Dossier.latest))
            .select_from(Dossier)
            .group_by(Dossier.status),
            scope,
        )
    )
    rows = by_state.all()
    return Overview(
        producers=producers,
        products=int(await session.scalar(products) or 0),
        products_by_state=_by_state((state, latest) for state, _, latest in rows),
        dossiers_by_state=_by_state((state, count) for state, count, _ in rows),
    )


async def waiting_documents(
    session: AsyncSession, scope: Scope, limit: int = 20
) -> tuple[list[WaitingDocument], int]:
    """The documents waiting for review that the official may see, oldest first (at most
    ``limit``), and how many wait in all. A waiting document has its ``waiting_since`` set
    (``storage.dossiers.waiting_since``): an administrator's oldest are a walk of its index and
    their number a count of it; an area's are found from its producers, counted in the same
    pass (a window over the rows before the limit)."""
    waiting = DossierDocument.waiting_since.is_not(None)
    in_all = func.count().over() if not scope.everything else literal(0)
    rows = (
        await session.execute(
            select(
                DossierDocument.id,
                DossierDocument.dossier_id,
                DossierDocument.doc_type,
                DossierDocument.status,
                Product.name,
                Producer.name,
                DossierDocument.waiting_since,
                in_all,
            )
            .join(Dossier, Dossier.id == DossierDocument.dossier_id)
            .join(Product, Product.id == Dossier.product_id)
            .join(Producer, Producer.id == Product.producer_id)
            .where(waiting, scope.producers())
            .order_by(DossierDocument.waiting_since, DossierDocument.id)
            .limit(limit)
        )
    ).all()
    if scope.everything:
        total = await session.scalar(
            select(func.count()).select_from(DossierDocument).where(waiting)
        )
    else:
        total = rows[0][7] if rows else 0
    documents = []
    for document_id, dossier_id, doc_type, status, product, producer, since, _ in rows:
        assert since is not None  # by the query's condition
        documents.append(
            WaitingDocument(document_id, dossier_id, doc_type, status, product, producer, since)
        )
    return documents, int(total or 0)


def _codes(column: InstrumentedAttribute[Any], code: str) -> ColumnElement[bool]:
    """``column`` (an area id) is a version of the area with ``code``."""
    return column.in_(select(Area.id).where(Area.code == code))


async def count_for_targets(
    session: AsyncSession,
    scope: Scope,
    *,
    year: int,
    province_code: str,
    targets: Sequence[TargetFilter],
) -> list[TargetCount]:
    """For each target: the dossiers filed in ``year`` (Vietnam time) by producers of the
    province (and of the target's area, if any) that the official may see, of the target's
    product sets (any for None).

    One pass over the province's producers that the official may see, whatever the number of
    targets: only the producers are chosen in the WHERE clause, and each target's dossiers are
    a filter of its two counts, so the query walks the area's producers (an index) and never
    starts from a product set or a state, which match a large share of the country."""
    if not targets:
        return []
    start = datetime.combine(datetime(year, 1, 1).date(), time(), LOCAL_TIMEZONE)
    end = datetime.combine(datetime(year + 1, 1, 1).date(), time(), LOCAL_TIMEZONE)
    counts: list[ColumnElement[int]] = []
    for target in targets:
        counted = [
            Dossier.status != DossierStatus.DRAFT,
            Dossier.submitted_at >= start,
            Dossier.submitted_at < end,
        ]
        if target.area_code is not None:
            counted.append(_codes(Producer.commune_id, target.area_code))
        if target.product_sets is not None:
            counted.append(Product.product_set.in_(sorted(target.product_sets)))
        filed = and_(*counted)
        counts.append(func.count().filter(filed))
        counts.append(func.count().filter(filed, Dossier.status == DossierStatus.APPROVED))
    row = (
        await session.execute(
            select(*counts)
            .select_from(Producer)
            .join(Product, Product.producer_id == Producer.id)
            .join(Dossier, Dossier.product_id == Product.id)
            .where(scope.producers(), _codes(Producer.province_id, province_code))
        )
    ).one()
    return [
        TargetCount(submitted=int(row[2 * n]), accepted=int(row[2 * n + 1]))
        for n in range(len(targets))
    ]
