"""The OCOP rules as versioned data: groups, product sets, dossier checklists, stars, certificates.

Every rule set is one JSON file under ``bot/rules/data/`` (``2026.json`` holds version ``2026.1``,
Decision 26/2026/QĐ-TTg). This module is the only reader of those files; handlers ask it and never
repeat a number. Names in the data are data, not gettext msgids: each carries its own Vietnamese
and English text, returned by ``.name(locale)``.

Files are validated when loaded (unique codes, every set in a known group, every requirement
naming a known document type and known sets, contiguous star bands…); broken data raises
:class:`RulesDataError` naming the file and the place. To change the rules, add a new file with a
new ``version`` and a later ``effective_from``: it becomes :func:`rules`' default, while records
scored under an older version keep asking ``rules(old_version)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType

from bot.rules.loading import load_rule_set, parse_rule_set
from bot.rules.model import (
    DocumentType,
    DossierKind,
    Group,
    LocalText,
    ProductSet,
    Requirement,
    RulesDataError,
    RuleSet,
    ScoringPart,
    StarBand,
)

__all__ = [
    "DATA_DIR",
    "DocumentType",
    "DossierKind",
    "Group",
    "LocalText",
    "ProductSet",
    "Requirement",
    "RuleSet",
    "RulesDataError",
    "ScoringPart",
    "StarBand",
    "available_versions",
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


def rules(version: str | None = None) -> RuleSet:
    """The rule set ``version`` or, by default, the current one (latest ``effective_from``)."""
    catalogue = _catalogue()
    if version is None:
        return max(catalogue.values(), key=lambda r: r.effective_from)
    try:
        return catalogue[version]
    except KeyError:
        raise KeyError(f"no OCOP rules version {version!r}; known: {sorted(catalogue)}") from None
