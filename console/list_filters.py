"""What the lists of producers and products are filtered by, read from the query string, and
the labels they show (states, product sets, groups), for the pages and their exports alike.

Unknown or malformed values are ignored (never an error page); whatever is asked, every query
is limited by the official's scope in SQL (:mod:`storage.search`).
"""

from __future__ import annotations

from typing import Any

from bot.i18n import N_
from bot.rules import RuleSet
from console.labels import DOSSIER_STATES
from storage.search import NO_DOSSIER, NO_PRODUCT, ProducerFilter, ProductFilter
from storage.states import DossierStatus

__all__ = [
    "PRODUCER_STATES",
    "PRODUCT_STATES",
    "STATE_LABELS",
    "group_label",
    "number",
    "producer_filter",
    "product_filter",
    "set_label",
]

STATE_LABELS: dict[str, str] = {
    NO_PRODUCT: N_("Registered, no product yet"),
    NO_DOSSIER: N_("No dossier"),
    **DOSSIER_STATES,
}
PRODUCER_STATES = (NO_PRODUCT, *DossierStatus)
PRODUCT_STATES = (NO_DOSSIER, *DossierStatus)
_MAX_TEXT = 200


# -- the query string -------------------------------------------------------------------------


def number(value: str | None) -> int | None:
    """A positive integer typed in the query string, or None."""
    return (
        int(value) if value and value.isascii() and value.isdigit() and len(value) < 19 else None
    )


def _text(query: Any) -> str:
    return str(query.get("q", "")).strip()[:_MAX_TEXT]


def producer_filter(query: Any, rule_set: RuleSet) -> ProducerFilter:
    """The producers' filter from a query string (``q``, ``province``, ``commune``,
    ``org_type``, ``state``)."""
    org_type = query.get("org_type", "")
    state = query.get("state", "")
    return ProducerFilter(
        text=_text(query),
        province_id=number(query.get("province")),
        commune_id=number(query.get("commune")),
        org_type=org_type if org_type in {o.code for o in rule_set.org_types} else "",
        state=state if state in PRODUCER_STATES else "",
    )


def product_filter(query: Any, rule_set: RuleSet) -> ProductFilter:
    """The products' filter from a query string (``q``, ``province``, ``commune``, ``set``,
    ``group``, ``state``): a set wins over a group."""
    chosen = number(query.get("set"))
    group = query.get("group", "")
    if chosen is not None and chosen in {s.number for s in rule_set.product_sets}:
        sets: tuple[int, ...] = (chosen,)
    elif group in {g.code for g in rule_set.groups}:
        sets = tuple(s.number for s in rule_set.sets_in_group(group))
    else:
        sets = ()
    state = query.get("state", "")
    return ProductFilter(
        text=_text(query),
        province_id=number(query.get("province")),
        commune_id=number(query.get("commune")),
        product_sets=sets,
        state=state if state in PRODUCT_STATES else "",
    )


def set_label(rule_set: RuleSet, number: int, locale: str) -> str:
    """ "7. Chè…" for a product set of ``rule_set``; the number alone if it has no such set."""
    try:
        return f"{number}. {rule_set.product_set(number).name(locale)}"
    except KeyError:
        return str(number)


def group_label(rule_set: RuleSet, number: int, locale: str) -> str:
    """The name of a product set's group, or "" if the set is unknown."""
    try:
        return rule_set.group(rule_set.product_set(number).group).name(locale)
    except KeyError:
        return ""
