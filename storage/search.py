"""The console's lists of producers and products: search, filters, keyset pages, capped counts.

Every query is limited by the official's :class:`~storage.officials.Scope` (a condition in the
SQL, never a filter in Python). Lists go newest first (by id, descending) and are paged by key
("after id N" / "before id N", never OFFSET), so a page costs the same at the first row or the
100,000th and rows added meanwhile neither repeat nor hide rows on later pages. Counts stop at
:data:`COUNT_CAP` (a page never counts the whole table).

What an official types in the search box is read as:

- a tax code (10 digits, or 13 with a branch, or a 12-digit personal id) and a phone number in
  any typing (``0987 654 321``, ``+84 987654321``, ``84987654321``), looked up by index; or
- words of the name, with or without diacritics, in any order: each folded word must appear in
  the folded name (``search_name``, see :func:`storage.text.fold`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Area, Dossier, Producer, Product
from storage.officials import Scope
from storage.states import DossierStatus
from storage.text import fold

__all__ = [
    "COUNT_CAP",
    "NO_DOSSIER",
    "NO_PRODUCT",
    "PAGE_SIZE",
    "Count",
    "Page",
    "ProducerFilter",
    "ProducerRow",
    "ProductFilter",
    "ProductRow",
    "count_producers",
    "count_products",
    "dossier_states",
    "iterate_producers",
    "iterate_products",
    "producer_page",
    "product_page",
    "search_condition",
]

PAGE_SIZE = 50
COUNT_CAP = 1000
"""Counts stop here: "more than 1,000" is all a list needs to say."""
NO_PRODUCT = "no_product"
"""The producers' state filter: registered, without any product yet."""
NO_DOSSIER = "no_dossier"
"""The products' state filter: a product without a dossier."""

_SEPARATORS = re.compile(r"[\s.\-()/]+")

T = TypeVar("T")
AnySelect = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class ProducerFilter:
    """What the producers' list shows: typed text, area, organisation type and state
    (:data:`NO_PRODUCT` or a dossier state: a producer with a dossier in that state)."""

    text: str = ""
    province_id: int | None = None
    commune_id: int | None = None
    org_type: str = ""
    state: str = ""


@dataclass(frozen=True)
class ProductFilter:
    """What the products' list shows: typed name, area, product sets (one, or those of a
    group) and the state of the product's latest dossier (or :data:`NO_DOSSIER`)."""

    text: str = ""
    province_id: int | None = None
    commune_id: int | None = None
    product_sets: tuple[int, ...] = ()
    state: str = ""


@dataclass(frozen=True)
class ProducerRow:
    id: int
    name: str
    org_type: str
    tax_code: str
    phone: str
    province: str
    commune: str
    created_at: Any
    dossiers: dict[str, int] = field(default_factory=dict)  # state (or NO_DOSSIER) → products
    products: int = 0


@dataclass(frozen=True)
class ProductRow:
    id: int
    name: str
    product_set: int
    producer_id: int
    producer: str
    province: str
    commune: str
    dossier_id: int | None
    dossier_state: str | None
    created_at: Any


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page, newest first, with the keys of the pages around it (None: no such page)."""

    rows: list[T]
    older_than: int | None  # the next page: rows with a smaller id
    newer_than: int | None  # the previous page: rows with a larger id


@dataclass(frozen=True)
class Count:
    """How many rows match, counted up to :data:`COUNT_CAP` (``capped``: at least that)."""

    value: int
    capped: bool


# -- conditions -------------------------------------------------------------------------------


def _phone_forms(digits: str) -> list[str]:
    """The ways a Vietnamese mobile number may be stored, from its typed digits ([] if not one)."""
    if len(digits) == 11 and digits.startswith("84"):
        national = digits[2:]
    elif len(digits) == 10 and digits.startswith("0"):
        national = digits[1:]
    elif len(digits) == 9 and not digits.startswith("0"):
        national = digits
    else:
        return []
    return [f"+84{national}", f"0{national}", f"84{national}", national]


def _number_condition(typed: str) -> ColumnElement[bool] | None:
    """A tax code or phone number typed (None when ``typed`` is not all digits)."""
    compact = _SEPARATORS.sub("", typed.strip())
    plus = compact.startswith("+")
    digits = compact.removeprefix("+")
    if not digits.isdigit():
        return None
    conditions: list[ColumnElement[bool]] = []
    if not plus and len(digits) == 10:
        # the company, and its branches (0101234567-001…): a range the index serves whatever
        # the collation (some ignore the hyphen), then the exact pattern on what it found
        conditions.append(Producer.tax_code == digits)
        conditions.append(
            and_(
                Producer.tax_code >= f"{digits}-000",
                Producer.tax_code <= f"{digits}-9999",
                Producer.tax_code.like(f"{digits}-%"),
            )
        )
    elif not plus and len(digits) == 13:
        conditions.append(Producer.tax_code == f"{digits[:10]}-{digits[10:]}")
    elif not plus and len(digits) == 12:
        conditions.append(Producer.tax_code == digits)
    if phones := _phone_forms(digits):
        conditions.append(Producer.phone.in_(phones))
    return or_(*conditions) if conditions else None


def _name_condition(column: Any, typed: str) -> ColumnElement[bool]:
    """Each folded word of ``typed`` inside the folded name (fold leaves no LIKE wildcards)."""
    words = fold(typed).split()
    return and_(true(), *(column.like(f"%{word}%") for word in words))


def search_condition(typed: str) -> ColumnElement[bool]:
    """Producers matching what was typed: a tax code or phone, else words of the name."""
    number = _number_condition(typed)
    if number is not None:
        return number
    return _name_condition(Producer.search_name, typed)


def _area_condition(column: Any, area_id: int | None) -> ColumnElement[bool]:
    """Rows whose area is ``area_id`` in any of its versions (areas are matched by code)."""
    if area_id is None:
        return true()
    same_code = aliased(Area)
    codes = select(same_code.code).where(same_code.id == area_id).scalar_subquery()
    return column.in_(select(Area.id).where(Area.code == codes))


def _latest_dossier() -> Any:
    """The id of a product's latest dossier (correlated to :class:`Product`)."""
    return (
        select(func.max(Dossier.id))
        .where(Dossier.product_id == Product.id)
        .correlate(Product)
        .scalar_subquery()
    )


def _producer_state(state: str) -> ColumnElement[bool]:
    if not state:
        return true()
    if state == NO_PRODUCT:
        return ~select(Product.id).where(Product.producer_id == Producer.id).exists()
    return Producer.id.in_(
        select(Product.producer_id)
        .join(Dossier, Dossier.product_id == Product.id)
        .where(Dossier.status == DossierStatus(state))
    )


def _producer_conditions(scope: Scope, wanted: ProducerFilter) -> list[ColumnElement[bool]]:
    conditions = [
        scope.producers(),
        _area_condition(Producer.province_id, wanted.province_id),
        _area_condition(Producer.commune_id, wanted.commune_id),
        _producer_state(wanted.state),
    ]
    if wanted.text.strip():
        conditions.append(search_condition(wanted.text))
    if wanted.org_type:
        conditions.append(Producer.org_type == wanted.org_type)
    return conditions


def _product_conditions(scope: Scope, wanted: ProductFilter) -> list[ColumnElement[bool]]:
    conditions = [
        scope.producers(),
        _area_condition(Producer.province_id, wanted.province_id),
        _area_condition(Producer.commune_id, wanted.commune_id),
    ]
    if wanted.text.strip():
        conditions.append(_name_condition(Product.search_name, wanted.text))
    if wanted.product_sets:
        conditions.append(Product.product_set.in_(wanted.product_sets))
    if wanted.state == NO_DOSSIER:
        conditions.append(Dossier.id.is_(None))
    elif wanted.state:
        conditions.append(Dossier.status == DossierStatus(wanted.state))
    return conditions


# -- pages ------------------------------------------------------------------------------------


def _keyset(stmt: AnySelect, key: Any, older_than: int | None, newer_than: int | None,
            limit: int) -> AnySelect:  # fmt: skip
    if newer_than is not None:
        return stmt.where(key > newer_than).order_by(key.asc()).limit(limit + 1)
    if older_than is not None:
        stmt = stmt.where(key < older_than)
    return stmt.order_by(key.desc()).limit(limit + 1)


def _page(rows: list[T], ids: list[int], older_than: int | None, newer_than: int | None,
          limit: int) -> Page[T]:  # fmt: skip
    more = len(rows) > limit
    if newer_than is not None:  # fetched oldest first: the extra row is the newest
        rows, ids = rows[:limit][::-1], ids[:limit][::-1]
        return Page(rows, ids[-1] if ids else None, ids[0] if more and ids else None)
    rows, ids = rows[:limit], ids[:limit]
    return Page(
        rows,
        ids[-1] if more else None,
        ids[0] if older_than is not None and ids else None,
    )


def _producers_select(scope: Scope, wanted: ProducerFilter) -> AnySelect:
    province = aliased(Area)
    return (
        select(
            Producer.id,
            Producer.name,
            Producer.org_type,
            Producer.tax_code,
            Producer.phone,
            province.name,
            Producer.commune_name,
            Producer.created_at,
        )
        .join(province, province.id == Producer.province_id)
        .where(*_producer_conditions(scope, wanted))
    )


async def dossier_states(
    session: AsyncSession, producer_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """For each producer, how many of its products' latest dossiers are in each state
    (:data:`NO_DOSSIER` for a product without one)."""
    found: dict[int, dict[str, int]] = {pid: {} for pid in producer_ids}
    if not producer_ids:
        return found
    rows = await session.execute(
        select(Product.producer_id, Dossier.status, func.count())
        .outerjoin(Dossier, Dossier.id == _latest_dossier())
        .where(Product.producer_id.in_(producer_ids))
        .group_by(Product.producer_id, Dossier.status)
    )
    for producer_id, status, count in rows:
        found[producer_id][status or NO_DOSSIER] = int(count)
    return found


async def _producer_rows(session: AsyncSession, rows: Sequence[Any]) -> list[ProducerRow]:
    states = await dossier_states(session, [row[0] for row in rows])
    return [
        ProducerRow(
            id=row[0],
            name=row[1],
            org_type=row[2],
            tax_code=row[3],
            phone=row[4],
            province=row[5],
            commune=row[6],
            created_at=row[7],
            dossiers=states[row[0]],
            products=sum(states[row[0]].values()),
        )
        for row in rows
    ]


async def producer_page(
    session: AsyncSession,
    scope: Scope,
    wanted: ProducerFilter,
    *,
    older_than: int | None = None,
    newer_than: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page[ProducerRow]:
    """One page of the producers the official may see that match ``wanted``, newest first."""
    stmt = _keyset(_producers_select(scope, wanted), Producer.id, older_than, newer_than, limit)
    rows = list((await session.execute(stmt)).all())
    return _page(await _producer_rows(session, rows), [r[0] for r in rows], older_than,
                 newer_than, limit)  # fmt: skip


async def iterate_producers(
    session: AsyncSession, scope: Scope, wanted: ProducerFilter, batch: int = 1000
) -> AsyncIterator[ProducerRow]:
    """Every matching producer, newest first, fetched a page at a time (for exports)."""
    older_than: int | None = None
    while True:
        page = await producer_page(session, scope, wanted, older_than=older_than, limit=batch)
        for row in page.rows:
            yield row
        if page.older_than is None:
            return
        older_than = page.older_than


def _products_select(scope: Scope, wanted: ProductFilter) -> AnySelect:
    province = aliased(Area)
    return (
        select(
            Product.id,
            Product.name,
            Product.product_set,
            Producer.id,
            Producer.name,
            province.name,
            Producer.commune_name,
            Dossier.id,
            Dossier.status,
            Product.created_at,
        )
        .join(Producer, Producer.id == Product.producer_id)
        .join(province, province.id == Producer.province_id)
        .outerjoin(Dossier, Dossier.id == _latest_dossier())
        .where(*_product_conditions(scope, wanted))
    )


async def product_page(
    session: AsyncSession,
    scope: Scope,
    wanted: ProductFilter,
    *,
    older_than: int | None = None,
    newer_than: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page[ProductRow]:
    """One page of the products the official may see that match ``wanted``, newest first."""
    stmt = _keyset(_products_select(scope, wanted), Product.id, older_than, newer_than, limit)
    rows = list((await session.execute(stmt)).all())
    return _page([ProductRow(*row) for row in rows], [r[0] for r in rows], older_than,
                 newer_than, limit)  # fmt: skip


async def iterate_products(
    session: AsyncSession, scope: Scope, wanted: ProductFilter, batch: int = 1000
) -> AsyncIterator[ProductRow]:
    """Every matching product, newest first, a page at a time (for exports)."""
    older_than: int | None = None
    while True:
        page = await product_page(session, scope, wanted, older_than=older_than, limit=batch)
        for row in page.rows:
            yield row
        if page.older_than is None:
            return
        older_than = page.older_than


async def _capped_count(session: AsyncSession, stmt: AnySelect) -> Count:
    inner = stmt.limit(COUNT_CAP + 1).subquery()
    value = int(await session.scalar(select(func.count()).select_from(inner)) or 0)
    return Count(min(value, COUNT_CAP), value > COUNT_CAP)


async def count_producers(session: AsyncSession, scope: Scope, wanted: ProducerFilter) -> Count:
    """How many producers match, up to :data:`COUNT_CAP`."""
    stmt = select(Producer.id).where(*_producer_conditions(scope, wanted))
    return await _capped_count(session, stmt)


async def count_products(session: AsyncSession, scope: Scope, wanted: ProductFilter) -> Count:
    """How many products match, up to :data:`COUNT_CAP`."""
    stmt = (
        select(Product.id)
        .join(Producer, Producer.id == Product.producer_id)
        .outerjoin(Dossier, Dossier.id == _latest_dossier())
        .where(*_product_conditions(scope, wanted))
    )
    return await _capped_count(session, stmt)
