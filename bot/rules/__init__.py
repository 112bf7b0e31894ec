"""The OCOP rules as versioned data: groups, product sets, dossier checklists, stars, certificates.

Every rule set is one JSON file under ``bot/rules/data/`` (``2026.json`` holds version ``2026.1``,
Decision 26/2026/QĐ-TTg). This module is the only reader of those files; handlers ask it and never
repeat a number. Names in the data are data, not gettext msgids: each carries its own Vietnamese
and English text, returned by ``.name(locale)``.

Files are validated when loaded (unique codes, every set in a known group, every requirement
naming a known document type and known sets, contiguous star bands…); broken data raises
:class:`RulesDataError` naming the file and the place. To change the rules, add a new file with a
new ``version`` and a later ``effective_from``: from that day on it is :func:`rules`' default
(the version in force is the one whose ``effective_from`` is the latest not after the day asked),
while records scored under an older version keep asking ``rules(old_version)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from functools import cache
from pathlib import Path
from types import MappingProxyType

from bot.rules.loading import load_rule_set, parse_rule_set
from bot.rules.model import (
    DocumentType,
    DossierKind,
    Filing,
    Group,
    LocalText,
    OrgType,
    ProductSet,
    Requirement,
    RoundTemplate,
    RulesDataError,
    RuleSet,
    ScoreSection,
    ScoringPart,
    SheetKnockout,
    StarBand,
    StarMinimum,
    Tier,
)
from storage.clock import local_date

__all__ = [
    "DATA_DIR",
    "DocumentType",
    "DossierKind",
    "Filing",
    "Group",
    "LocalText",
    "OrgType",
    "ProductSet",
    "Requirement",
    "RoundTemplate",
    "RuleSet",
    "RulesDataError",
    "ScoreSection",
    "ScoringPart",
    "SheetKnockout",
    "StarBand",
    "StarMinimum",
    "Tier",
    "available_versions",
    "in_force",
    "load_rule_set",
    "parse_rule_set",
    "rules",
]

DATA_DIR = Path(__file__).resolve().parent / "data"


# -- catalogue -----------------------------------------------------------------------------


@cache
def _catalogue() -> Mapping[str, RuleSet]:
    loaded: dict[str, RuleSet] = {}
    for path in sorted(DATA_DIR.glob("*.json")):
        rule_set = load_rule_set(path)
        if rule_set.version in loaded:
            raise RulesDataError(f"{path.name}: version {rule_set.version!r} is defined twice")
        loaded[rule_set.version] = rule_set
    if not loaded:
        raise RulesDataError(f"no rules data in {DATA_DIR}")
    return MappingProxyType(loaded)


def available_versions() -> list[str]:
    """Every known rules version, oldest first."""
    return [r.version for r in sorted(_catalogue().values(), key=lambda r: r.effective_from)]


def in_force(rule_sets: Iterable[RuleSet], day: date) -> RuleSet:
    """Of ``rule_sets``, the one in force on ``day``: the latest ``effective_from`` not after
    it (the oldest when ``day`` is before them all)."""
    ordered = sorted(rule_sets, key=lambda r: r.effective_from)
    started = [r for r in ordered if r.effective_from <= day]
    return (started or ordered)[-1 if started else 0]


def rules(version: str | None = None, *, on: date | None = None) -> RuleSet:
    """The rule set ``version`` or, by default, the one in force on ``on`` (default today in
    Vietnam): the latest ``effective_from`` not after that day. A day before every version gets
    the oldest, so old records still find rules."""
    catalogue = _catalogue()
    if version is None:
        return in_force(catalogue.values(), on or local_date())
    try:
        return catalogue[version]
    except KeyError:
        raise KeyError(f"no OCOP rules version {version!r}; known: {sorted(catalogue)}") from None
