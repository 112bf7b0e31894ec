"""What the console's dashboard counts, always within one official's :class:`Scope`: producers,
products and dossiers by state, the documents waiting for review (oldest first) and the
dossiers that count towards a plan's target.

A document waits for review when an official has not decided on it (``received`` or
``edited``) and its dossier has been filed and not yet decided (``submitted``, ``has_issues``
or ``edited``). It has waited since the later of its last upload and the dossier's last filing
(a document uploaded before filing waits from the filing).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.clock import LOCAL_TIMEZONE
from storage.models import Area, Dossier, DossierDocument, Producer, Product
from storage.officials import Scope
from storage.states import AWAITING_REVIEW, UNDER_REVIEW, DossierStatus
from storage.types import UTCDateTime

__all__ = [
    "Overview",
    "TargetCount",
    "WaitingDocument",
    "count_for_target",
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
class TargetCount:
    """Dossiers counting towards a target: filed (not drafts) and accepted as valid."""

    submitted: int
    accepted: int


def _by_state(rows: object) -> dict[str, int]:
    counts = {str(state): 0 for state in DossierStatus}
    for state, count in rows:  # type: ignore[attr-defined]
        counts[str(state)] = int(count)
    return counts


async def overview(session: AsyncSession, scope: Scope) -> Overview:
    """Counts of what the official may see."""
    producers = await scope.count_producers(session)
    products = await session.scalar(
        select(func.count())
        .select_from(Product)
        .join(Producer, Producer.id == Product.producer_id)
        .where(scope.producers())
    )
    seen = (
        select(Dossier.status, Dossier.product_id, Dossier.id)
        .join(Product, Product.id == Dossier.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .where(scope.producers())
    )
    dossiers = await session.execute(
        select(Dossier.status, func.count())
        .where(Dossier.id.in_(seen.with_only_columns(Dossier.id)))
        .group_by(Dossier.status)
    )
    latest = (
        select(func.max(Dossier.id))
        .join(Product, Product.id == Dossier.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .where(scope.producers())
        .group_by(Dossier.product_id)
    )
    by_product = await session.execute(
        select(Dossier.status, func.count()).where(Dossier.id.in_(latest)).group_by(Dossier.status)
    )
    return Overview(
        producers=producers,
        products=int(products or 0),
        products_by_state=_by_state(by_product),
        dossiers_by_state=_by_state(dossiers),
    )


def _waiting_since() -> ColumnElement[datetime]:
    filed = func.coalesce(Dossier.submitted_at, DossierDocument.updated_at)
    later = case((DossierDocument.updated_at > filed, DossierDocument.updated_at), else_=filed)
    return type_coerce(later, UTCDateTime()).label("since")


def _waiting(scope: Scope) -> ColumnElement[bool]:
    return and_(
        DossierDocument.status.in_(AWAITING_REVIEW),
        Dossier.status.in_(UNDER_REVIEW),
        scope.producers(),
    )


async def waiting_documents(
    session: AsyncSession, scope: Scope, limit: int = 20
) -> tuple[list[WaitingDocument], int]:
    """The documents waiting for review that the official may see, oldest first (at most
    ``limit``), and how many wait in all."""
    joined = (
        select(
            DossierDocument.id,
            DossierDocument.dossier_id,
            DossierDocument.doc_type,
            DossierDocument.status,
            Product.name,
            Producer.name,
            _waiting_since(),
        )
        .join(Dossier, Dossier.id == DossierDocument.dossier_id)
        .join(Product, Product.id == Dossier.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .where(_waiting(scope))
    )
    since = _waiting_since()
    rows = await session.execute(joined.order_by(since, DossierDocument.id).limit(limit))
    total = await session.scalar(
        select(func.count())
        .select_from(DossierDocument)
        .join(Dossier, Dossier.id == DossierDocument.dossier_id)
        .join(Product, Product.id == Dossier.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .where(_waiting(scope))
    )
    documents = [
        WaitingDocument(
            document_id=row[0],
            dossier_id=row[1],
            doc_type=row[2],
            status=row[3],
            product_name=row[4],
            producer_name=row[5],
            since=row[6],
        )
        for row in rows
    ]
    return documents, int(total or 0)


def _codes(column: InstrumentedAttribute[Any], code: str) -> ColumnElement[bool]:
    """``column`` (an area id) is a version of the area with ``code``."""
    return column.in_(select(Area.id).where(Area.code == code))


async def count_for_target(
    session: AsyncSession,
    scope: Scope,
    *,
    year: int,
    province_code: str,
    area_code: str | None,
    product_sets: Collection[int] | None,
) -> TargetCount:
    """Dossiers filed in ``year`` (Vietnam time) by producers of the province (and of the
    area, if given) that the official may see, of the given product sets (any for None)."""
    start = datetime.combine(datetime(year, 1, 1).date(), time(), LOCAL_TIMEZONE)
    end = datetime.combine(datetime(year + 1, 1, 1).date(), time(), LOCAL_TIMEZONE)
    conditions = [
        scope.producers(),
        _codes(Producer.province_id, province_code),
        Dossier.status != DossierStatus.DRAFT,
        Dossier.submitted_at >= start,
        Dossier.submitted_at < end,
    ]
    if area_code is not None:
        conditions.append(_codes(Producer.commune_id, area_code))
    if product_sets is not None:
        conditions.append(Product.product_set.in_(sorted(product_sets)))
    accepted = func.count().filter(Dossier.status == DossierStatus.APPROVED)
    row = (
        await session.execute(
            select(func.count(), accepted)
            .select_from(Dossier)
            .join(Product, Product.id == Dossier.product_id)
            .join(Producer, Producer.id == Product.producer_id)
            .where(*conditions)
        )
    ).one()
    return TargetCount(submitted=int(row[0]), accepted=int(row[1]))
