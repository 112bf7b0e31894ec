"""What a rule set is made of: the typed, immutable objects the rest of the bot reads.

A :class:`RuleSet` is one version of the OCOP rules: its product groups and product sets, the
document types a dossier may hold and each set's checklist of requirements by :class:`Tier`, the
dossier kinds, the parts and star bands of the score sheet, the organisation types that may file,
where and how a dossier is filed, and the certificate, re-rating and sample rules. Every name is
a :class:`LocalText` in Vietnamese and English. Also here: the product-set search and date
arithmetic those objects use, and :class:`RulesDataError`, raised for broken data.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import cached_property
from typing import TypeVar

from bot.rules.search import ProductSearch

__all__ = [
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
]

_T = TypeVar("_T")


class RulesDataError(ValueError):
    """A rules data file is broken; the message names the file and the offending place."""


@dataclass(frozen=True, slots=True)
class LocalText:
    """One text in Vietnamese and English."""

    vi: str
    en: str

    def get(self, locale: str | None) -> str:
        """The English text for ``en``/``en_*`` locales, the Vietnamese one otherwise."""
        return self.en if locale is not None and locale.startswith("en") else self.vi


class _Named:
    """Gives a dataclass with a ``names`` field its ``name(locale)``."""

    __slots__ = ()
    names: LocalText

    def name(self, locale: str | None = "vi") -> str:
        """The name in ``locale`` (``vi`` or ``en``; anything else falls back to ``vi``)."""
        return self.names.get(locale)


@dataclass(frozen=True, slots=True)
class Group(_Named):
    """One of the six product groups (I Food … VI Tourism)."""

    code: str
    names: LocalText


@dataclass(frozen=True, slots=True)
class ProductSet(_Named):
    """One of the product sets (bộ sản phẩm), each with its own scoring sheet."""

    number: int
    group: str  # Group.code
    subgroup: LocalText | None
    names: LocalText
    keywords: tuple[str, ...] = ()  # product names producers type, to find the set
    basis: str = ""  # where the name comes from, when the data says


@dataclass(frozen=True, slots=True)
class DocumentType(_Named):
    """A kind of evidence document in a dossier."""

    code: str
    names: LocalText
    descriptions: LocalText
    multi_file: bool  # several files or photos may make up one document

    def description(self, locale: str | None = "vi") -> str:
        """One line saying what the document is."""
        return self.descriptions.get(locale)


class Tier(StrEnum):
    """How much a document matters to a dossier (Art. 6.1 and Appendix II)."""

    TO_FILE = "to_file"  # the dossier cannot be filed without it
    FOR_3_STARS = "for_3_stars"  # a star minimum: filing is allowed, but 3★ is out of reach
    HELPS_SCORE = "helps_score"  # evidence that earns points


@dataclass(frozen=True, slots=True)
class Requirement:
    """One line of a product set's checklist, with the article it comes from."""

    document: DocumentType
    tier: Tier
    knockout: bool = False  # missing it rejects the dossier outright
    basis: str = ""  # where the rules say so, e.g. "Art. 6.1"

    @property
    def required(self) -> bool:
        """Whether the dossier cannot be filed without this document."""
        return self.tier is Tier.TO_FILE

    def name(self, locale: str | None = "vi") -> str:
        """The document's name."""
        return self.document.name(locale)


@dataclass(frozen=True, slots=True)
class OrgType(_Named):
    """A kind of organisation that may file an OCOP dossier (Art. 2.3)."""

    code: str
    names: LocalText
    household: bool  # may give the owner's 12-digit personal id as its tax code
    only_sets: frozenset[int] | None  # None: every product set
    basis: str


@dataclass(frozen=True, slots=True)
class Filing:
    """Where and how a dossier is filed (Art. 7.1)."""

    where: LocalText
    how: LocalText
    basis: str


@dataclass(frozen=True, slots=True)
class DossierKind(_Named):
    """First evaluation, upgrade or re-rating."""

    code: str
    names: LocalText
    needs_certificate: bool  # the dossier concerns an existing certificate


@dataclass(frozen=True, slots=True)
class ScoringPart(_Named):
    """A part of the 100-point score sheet (A, B, C)."""

    code: str
    names: LocalText
    max_points: int


@dataclass(frozen=True, slots=True)
class ScoreSection(_Named):
    """One section of a product set's score sheet (within part A, B or C), scored by each
    council member from 0 to ``max_points``."""

    code: str
    part: str
    names: LocalText
    max_points: int


@dataclass(frozen=True, slots=True)
class StarMinimum(_Named):
    """A star-minimum criterion: a product that does not meet it cannot reach ``stars`` (or
    more), however many points it has. ``question`` is asked of producers for the estimate;
    ``advice`` says what would meet it; ``document`` is the dossier paper that shows it."""

    code: str
    stars: int
    names: LocalText
    question: LocalText
    advice: LocalText
    document: str | None
    sets: frozenset[int]
    basis: str


@dataclass(frozen=True, slots=True)
class SheetKnockout(_Named):
    """A knock-out condition on the score sheet: when a council member ticks it, the dossier
    is rejected whatever its points."""

    code: str
    names: LocalText
    sets: frozenset[int]
    basis: str


@dataclass(frozen=True, slots=True)
class RoundTemplate(_Named):
    """A round of the default calendar: its level (``province`` or ``central``), and the
    month-days it opens, takes dossiers until and is finished by (results)."""

    level: str
    names: LocalText
    opens: tuple[int, int]
    submission: tuple[int, int]
    finish: tuple[int, int]

    def dates(self, year: int) -> tuple[date, date, date]:
        """The opening day, submission deadline and finish (results) day in ``year``."""
        return (date(year, *self.opens), date(year, *self.submission), date(year, *self.finish))


@dataclass(frozen=True, slots=True)
class StarBand:
    """Scores from ``min_score`` up to the next band earn ``stars``."""

    stars: int
    min_score: float


@dataclass(frozen=True)
class RuleSet:
    """One version of the OCOP rules. Immutable; lookups raise ``KeyError`` for unknown keys."""

    version: str
    legal_basis: LocalText
    effective_from: date
    groups: tuple[Group, ...]
    product_sets: tuple[ProductSet, ...]
    document_types: tuple[DocumentType, ...]
    dossier_kinds: tuple[DossierKind, ...]
    org_types: tuple[OrgType, ...]
    filing: Filing
    scoring_parts: tuple[ScoringPart, ...]
    max_score: int
    star_bands: tuple[StarBand, ...]  # highest first
    certified_min_stars: int
    potential_five_star_min_score: float
    certificate_validity_months: int
    rerating_opens_days: int  # before expiry
    rerating_closes_days: int  # before expiry
    sample_count: int
    sample_exempt_sets: frozenset[int]
    checklists: Mapping[int, tuple[Requirement, ...]] = field(repr=False, compare=False)
    score_sheets: Mapping[int, tuple[ScoreSection, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )
    star_minimums: tuple[StarMinimum, ...] = ()
    sheet_knockouts: tuple[SheetKnockout, ...] = ()
    round_calendar: tuple[RoundTemplate, ...] = ()

    # -- products ----------------------------------------------------------------------------

    def group(self, code: str) -> Group:
        return _one(self.groups, lambda g: g.code == code, f"group {code!r}", self.version)

    def product_set(self, number: int) -> ProductSet:
        return _one(
            self.product_sets, lambda s: s.number == number, f"product set {number}", self.version
        )

    def sets_in_group(self, code: str) -> list[ProductSet]:
        self.group(code)
        return [s for s in self.product_sets if s.group == code]

    def find_product_sets(self, typed: str, group: str | None = None) -> list[ProductSet]:
        """The sets a typed product name ("nuoc mam cua lo", "chè", "coff") means, best first.

        Keywords and whole words before prefixes, group and sub-group names last; diacritics
        typed are respected ("chè" is not "chế"); only the best-explained sets are listed, of
        ``group`` alone if given. See :mod:`bot.rules.search`.
        """
        return self._product_search.find(typed, group)

    @cached_property
    def _product_search(self) -> ProductSearch:
        return ProductSearch(
            (pset, (*_texts(self.group(pset.group).names), *_texts(pset.subgroup)))
            for pset in self.product_sets
        )

    # -- who may file ------------------------------------------------------------------------

    def org_type(self, code: str) -> OrgType:
        return _one(self.org_types, lambda o: o.code == code, f"org type {code!r}", self.version)

    def may_file(self, org_type: str, set_number: int) -> bool:
        """Whether an organisation of this type may file a product of this set (Art. 2.3)."""
        self.product_set(set_number)
        only = self.org_type(org_type).only_sets
        return only is None or set_number in only

    # -- dossier -----------------------------------------------------------------------------

    def document_type(self, code: str) -> DocumentType:
        return _one(
            self.document_types, lambda d: d.code == code, f"document type {code!r}", self.version
        )

    def dossier_kind(self, code: str) -> DossierKind:
        return _one(
            self.dossier_kinds, lambda k: k.code == code, f"dossier kind {code!r}", self.version
        )

    def checklist(self, set_number: int) -> list[Requirement]:
        """The documents for a set's dossier by tier (needed to file, for 3★, helping the
        score), each tier in filing order."""
        self.product_set(set_number)
        return list(self.checklists[set_number])

    def needs_samples(self, set_number: int) -> bool:
        """Whether physical product samples (:attr:`sample_count`) go with the dossier."""
        self.product_set(set_number)
        return set_number not in self.sample_exempt_sets

    # -- scores and certificates -------------------------------------------------------------

    def stars_for(self, score: float) -> int:
        """The star rank a score earns (before any star-minimum criteria are applied)."""
        if not 0 <= score <= self.max_score:
            raise ValueError(f"score {score} is outside 0–{self.max_score}")
        return next(band.stars for band in self.star_bands if score >= band.min_score)

    def score_sheet(self, set_number: int) -> list[ScoreSection]:
        """The sections a council member scores for a product of this set, part by part."""
        self.product_set(set_number)
        return list(self.score_sheets[set_number])

    def minimums_for(self, set_number: int) -> list[StarMinimum]:
        """The star-minimum criteria of a set, lowest star first."""
        self.product_set(set_number)
        return sorted(
            (m for m in self.star_minimums if set_number in m.sets), key=lambda m: m.stars
        )

    def knockouts_for(self, set_number: int) -> list[SheetKnockout]:
        """The knock-out conditions a council member may tick for a product of this set."""
        self.product_set(set_number)
        return [k for k in self.sheet_knockouts if set_number in k.sets]

    def default_rounds(self, level: str) -> list[RoundTemplate]:
        """The rounds of the default calendar at ``level``, in the order of their deadlines."""
        return sorted(
            (t for t in self.round_calendar if t.level == level), key=lambda t: t.submission
        )

    def is_certified(self, stars: int) -> bool:
        return stars >= self.certified_min_stars

    def is_potential_five_star(self, score: float) -> bool:
        """Whether a province score sends the product to the ministry's council."""
        return score >= self.potential_five_star_min_score

    def certificate_expiry(self, issued: date) -> date:
        """The end of validity of a certificate issued on ``issued``."""
        return _add_months(issued, self.certificate_validity_months)

    def rerating_window(self, expiry_date: date) -> tuple[date, date]:
        """The first and last day a re-rating dossier may be filed for a certificate."""
        return (
            expiry_date - timedelta(days=self.rerating_opens_days),
            expiry_date - timedelta(days=self.rerating_closes_days),
        )


# -- lookups, search and dates -------------------------------------------------------------


def _one(items: Iterable[_T], match: Callable[[_T], bool], what: str, version: str) -> _T:
    for item in items:
        if match(item):
            return item
    raise KeyError(f"no {what} in OCOP rules {version}")


def _texts(text: LocalText | None) -> tuple[str, ...]:
    return () if text is None else (text.vi, text.en)


def _add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the end of a shorter month."""
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    month = month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
