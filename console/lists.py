"""The lists of producers and products (``/console/producers``, ``/console/products``): a
search form, the rows the official's scope allows, keyset pager links, and the same list as
CSV or XLSX (``/console/producers.csv``, ``.xlsx``; ``/console/products.csv``, ``.xlsx``).

What the query string holds is read by :mod:`console.list_filters`; every query is limited by
the official's scope in SQL (:mod:`storage.search`), so an area id outside it finds nothing,
and the area selects offer only the areas of the scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.rules import rules
from console import list_exports
from console.config import CONFIG
from console.layout import signed_in_page
from console.list_filters import (
    PRODUCER_STATES,
    PRODUCT_STATES,
    STATE_LABELS,
    group_label,
    number,
    producer_filter,
    product_filter,
    set_label,
)
from console.security import signed_in
from storage.areas import communes_of, list_provinces
from storage.clock import local_date
from storage.models import Area, Official
from storage.officials import Scope, areas_of, scope_of
from storage.search import (
    Count,
    Page,
    ProductRow,
    count_producers,
    count_products,
    producer_page,
    product_page,
)
from storage.states import OfficialRole

__all__ = ["AreaChoices", "add_routes", "area_choices"]


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/producers", producers_page, name="producers")
    router.add_get("/products", products_page, name="products")
    router.add_get("/producers.csv", list_exports.producers_csv, name="producers_csv")
    router.add_get("/producers.xlsx", list_exports.producers_xlsx, name="producers_xlsx")
    router.add_get("/products.csv", list_exports.products_csv, name="products_csv")
    router.add_get("/products.xlsx", list_exports.products_xlsx, name="products_xlsx")


# -- areas the official may choose --------------------------------------------------------


@dataclass(frozen=True)
class AreaChoices:
    """The provinces and communes the area selects offer (those of the official's scope)."""

    provinces: list[Area]
    communes: list[Area]
    province_id: int | None
    commune_id: int | None


async def area_choices(
    session: AsyncSession, official: Official, province_id: int | None, commune_id: int | None
) -> AreaChoices:
    """A commune official chooses among their communes; a province official among their
    provinces and the chosen (or only) province's communes; an administrator among every
    province and the chosen province's communes. Ids not offered are dropped."""
    role = OfficialRole(official.role)
    if role is OfficialRole.COMMUNE:
        provinces: list[Area] = []
        communes = await areas_of(session, official.id)
        province_id = None
    else:
        if role is OfficialRole.PROVINCE:
            provinces = await areas_of(session, official.id)
        else:
            provinces = await list_provinces(session)
        if province_id not in {p.id for p in provinces}:
            only = role is OfficialRole.PROVINCE and len(provinces) == 1
            province_id = provinces[0].id if only else None
        communes = await communes_of(session, province_id) if province_id else []
    if commune_id not in {c.id for c in communes}:
        commune_id = None
    return AreaChoices(provinces, communes, province_id, commune_id)


# -- pages --------------------------------------------------------------------------------


def _links(base: str, query: Any, page: Page[Any]) -> dict[str, str | None]:
    """The pager's links: the same filters, another key."""
    kept = {k: v for k, v in query.items() if k not in ("older", "newer") and v}

    def link(**key: int) -> str:
        return f"{base}?{urlencode({**kept, **key})}" if {**kept, **key} else base

    return {
        "first": f"{base}?{urlencode(kept)}" if kept else base,
        "older": link(older=page.older_than) if page.older_than is not None else None,
        "newer": link(newer=page.newer_than) if page.newer_than is not None else None,
        "export": urlencode(kept),
    }


async def _scope(session: AsyncSession, request: web.Request) -> Scope:
    return await scope_of(session, signed_in(request).official)


async def producers_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    rule_set = rules(on=local_date(config.clock))
    query = request.query
    async with config.db.sessions() as session:
        scope = await _scope(session, request)
        choices = await area_choices(
            session, official, number(query.get("province")), number(query.get("commune"))
        )
        wanted = producer_filter(query, rule_set)
        page = await producer_page(
            session, scope, wanted,
            older_than=number(query.get("older")), newer_than=number(query.get("newer")),
        )  # fmt: skip
        count = await count_producers(session, scope, wanted)
    return signed_in_page(
        request,
        "lists_producers.html",
        section="producers",
        wanted=wanted,
        choices=choices,
        page=page,
        count=count,
        links=_links("/console/producers", query, page),
        org_types=[(o.code, o.name(official.locale)) for o in rule_set.org_types],
        org_type_names={o.code: o.name(official.locale) for o in rule_set.org_types},
        states=[(s, STATE_LABELS[s]) for s in PRODUCER_STATES],
        state_labels=STATE_LABELS,
        national=list_exports.national_phone,
    )


async def products_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    locale = official.locale
    rule_set = rules(on=local_date(config.clock))
    query = request.query
    async with config.db.sessions() as session:
        scope = await _scope(session, request)
        choices = await area_choices(
            session, official, number(query.get("province")), number(query.get("commune"))
        )
        wanted = product_filter(query, rule_set)
        page: Page[ProductRow] = await product_page(
            session, scope, wanted,
            older_than=number(query.get("older")), newer_than=number(query.get("newer")),
        )  # fmt: skip
        count: Count = await count_products(session, scope, wanted)
    chosen_set = number(query.get("set"))
    return signed_in_page(
        request,
        "lists_products.html",
        section="products",
        wanted=wanted,
        choices=choices,
        page=page,
        count=count,
        links=_links("/console/products", query, page),
        groups=[(g.code, g.name(locale)) for g in rule_set.groups],
        sets=[(s.number, set_label(rule_set, s.number, locale)) for s in rule_set.product_sets],
        chosen_set=chosen_set if len(wanted.product_sets) == 1 else None,
        chosen_group=query.get("group", "") if chosen_set is None else "",
        set_label=lambda n: set_label(rule_set, n, locale),
        group_label=lambda n: group_label(rule_set, n, locale),
        states=[(s, STATE_LABELS[s]) for s in PRODUCT_STATES],
        state_labels=STATE_LABELS,
    )
