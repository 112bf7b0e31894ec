"""Answers offered when a producer registers: organisation types, genders, ethnic groups.

Labels of organisation types and genders are msgids (translated where shown); ethnic group
names are proper names, the same in every language, read from ``bot/data/ethnicities.json``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from bot.i18n import N_

__all__ = ["GENDERS", "ORG_TYPES", "POSITIONS", "all_ethnicities", "common_ethnicities"]

ORG_TYPES: dict[str, str] = {
    "cooperative": N_("Cooperative (HTX)"),
    "coop_group": N_("Cooperative group (THT)"),
    "enterprise": N_("Enterprise"),
    "household": N_("Household business (registered)"),
}

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
