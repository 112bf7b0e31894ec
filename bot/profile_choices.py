"""Answers offered when a producer registers: organisation types, genders, ethnic groups.

Organisation types are the rules' (Art. 2.3: who may file), named in the data; labels of
genders and positions are msgids (translated where shown); ethnic group names are proper names,
the same in every language, read from ``bot/data/ethnicities.json``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from bot.flow import StepContext
from bot.i18n import N_
from bot.rules import OrgType, rules

__all__ = [
    "GENDERS",
    "POSITIONS",
    "all_ethnicities",
    "common_ethnicities",
    "org_type",
    "org_type_name",
    "sets_allowed",
]

GENDERS: dict[str, str] = {
    "female": N_("Female"),
    "male": N_("Male"),
    "other": N_("Other"),
}

# Shortcuts for the representative's position; any other position may be typed.
POSITIONS: dict[str, str] = {
    "director": N_("Director"),
    "chair": N_("Chair of the cooperative's board"),
    "head": N_("Household head"),
    "leader": N_("Group leader"),
}


def org_type(ctx: StepContext, code: str) -> OrgType | None:
    """The organisation type ``code`` in the rules in force; None for an unknown (old) code."""
    try:
        return rules(on=ctx.today).org_type(code)
    except KeyError:
        return None


def org_type_name(ctx: StepContext, code: str) -> str:
    """The name of the organisation type ``code``; an unknown code as it is."""
    found = org_type(ctx, code)
    return found.name(ctx.user.locale) if found else code


def sets_allowed(ctx: StepContext, kind: OrgType) -> str:
    """What Art. 2.3 lets an organisation of this kind register when it may not register every
    product set ("" when it may)."""
    if kind.only_sets is None:
        return ""
    rule_set = rules(on=ctx.today)
    locale = ctx.user.locale
    sets = ", ".join(
        f"{n} ({rule_set.product_set(n).name(locale)})" for n in sorted(kind.only_sets)
    )
    return ctx.t.ngettext(
        "Under Art. 2.3 of {decision}, “{org_type}” may register only products of set {sets}.",
        "Under Art. 2.3 of {decision}, “{org_type}” may register only products of sets {sets}.",
        len(kind.only_sets),
    ).format(decision=rule_set.legal_basis.get(locale), org_type=kind.name(locale), sets=sets)


_DATA = Path(__file__).parent / "data" / "ethnicities.json"


@cache
def _ethnicities() -> dict[str, list[str]]:
    data: dict[str, list[str]] = json.loads(_DATA.read_text(encoding="utf-8"))
    return data


def all_ethnicities() -> list[str]:
    """The 54 ethnic groups of Vietnam."""
    return list(_ethnicities()["all"])


def common_ethnicities() -> list[str]:
    """The groups offered as buttons; others are typed."""
    return list(_ethnicities()["common"])
