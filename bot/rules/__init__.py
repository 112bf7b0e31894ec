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

import calendar
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from storage.text import fold

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


@dataclass(frozen=True, slots=True)
class Requirement:
    """One line of a product set's checklist."""

    document: DocumentType
    required: bool
    knockout: bool = False  # missing it rejects the dossier outright

    def name(self, locale: str | None = "vi") -> str:
        """The document's name."""
        return self.document.name(locale)


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

    def find_product_sets(self, typed: str) -> list[ProductSet]:
        """Sets whose name matches what a user typed, in Vietnamese or English, any diacritics.

        Every typed word must be, or start, a word of the name: "nuoc mam", "cà phê" and "coff"
        all work. Best first: whole-word matches before prefix matches, then matches on the
        set's own name before those needing its group or sub-group ("đồ uống" lists the drink
        sets); ties in set-number order.
        """
        typed_words = _words(typed)
        if not typed_words:
            return []
        ranked: list[tuple[tuple[int, int, int], ProductSet]] = []
        for pset in self.product_sets:
            own = _words(pset.names.vi, pset.names.en)
            group = self.group(pset.group).names
            context = own | _words(group.vi, group.en, *_texts(pset.subgroup))
            if (fit := _fit(typed_words, own)) is not None:
                ranked.append(((fit, 0, pset.number), pset))
            elif (fit := _fit(typed_words, context)) is not None:
                ranked.append(((fit, 1, pset.number), pset))
        return [pset for _, pset in sorted(ranked, key=lambda r: r[0])]

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
        """The documents for a set's dossier: required ones first, each part in filing order."""
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


# -- loading -------------------------------------------------------------------------------


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


def load_rule_set(path: Path) -> RuleSet:
    """Read and validate one rules data file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RulesDataError(f"{path.name}: not valid JSON: {exc}") from exc
    return parse_rule_set(raw, source=path.name)


def parse_rule_set(raw: Any, source: str = "rules") -> RuleSet:
    """Validate decoded rules data and build the :class:`RuleSet`."""
    root = _mapping(raw, source)
    groups = _unique(
        [_group(*g) for g in _items(root, source, "groups")], lambda g: g.code, f"{source}.groups"
    )
    codes = {g.code for g in groups}
    sets = _unique(
        [_product_set(*s, codes) for s in _items(root, source, "product_sets")],
        lambda s: s.number,
        f"{source}.product_sets",
    )
    docs = _unique(
        [_document_type(*d) for d in _items(root, source, "document_types")],
        lambda d: d.code,
        f"{source}.document_types",
    )
    kinds = _unique(
        [_dossier_kind(*k) for k in _items(root, source, "dossier_kinds")],
        lambda k: k.code,
        f"{source}.dossier_kinds",
    )
    scoring = _section(root, source, "scoring")
    stars = _section(root, source, "stars")
    certificate = _section(root, source, "certificate")
    window = _section(*certificate, "rerating_window_days_before_expiry")
    samples = _section(root, source, "samples")
    numbers = frozenset(s.number for s in sets)
    rule_set = RuleSet(
        version=_get(root, source, "version", str),
        legal_basis=_text(root, source, "legal_basis"),
        effective_from=_date(root, source, "effective_from"),
        groups=groups,
        product_sets=sets,
        document_types=docs,
        dossier_kinds=kinds,
        scoring_parts=_scoring_parts(*scoring),
        max_score=_get(*scoring, "max_score", int),
        star_bands=_star_bands(*stars),
        certified_min_stars=_get(*stars, "certified_min_stars", int),
        potential_five_star_min_score=_number(*stars, "potential_five_star_min_score"),
        certificate_validity_months=_get(*certificate, "validity_months", int),
        rerating_opens_days=_get(*window, "opens", int),
        rerating_closes_days=_get(*window, "closes", int),
        sample_count=_get(*samples, "count", int),
        sample_exempt_sets=_set_numbers(*samples, "exempt_sets", numbers),
        checklists=_checklists(_items(root, source, "requirements"), docs, numbers),
    )
    if rule_set.rerating_opens_days <= rule_set.rerating_closes_days:
        raise RulesDataError(f"{source}.certificate: the re-rating window opens after it closes")
    return rule_set


def _group(obj: Mapping[str, Any], where: str) -> Group:
    return Group(code=_get(obj, where, "code", str), names=_text(obj, where, "name"))


def _product_set(obj: Mapping[str, Any], where: str, group_codes: set[str]) -> ProductSet:
    group = _get(obj, where, "group", str)
    if group not in group_codes:
        raise RulesDataError(f"{where}.group: unknown group {group!r}")
    return ProductSet(
        number=_get(obj, where, "number", int),
        group=group,
        subgroup=None if obj.get("subgroup") is None else _text(obj, where, "subgroup"),
        names=_text(obj, where, "name"),
    )


def _document_type(obj: Mapping[str, Any], where: str) -> DocumentType:
    return DocumentType(
        code=_get(obj, where, "code", str),
        names=_text(obj, where, "name"),
        descriptions=_text(obj, where, "description"),
        multi_file=_get(obj, where, "multi_file", bool),
    )


def _dossier_kind(obj: Mapping[str, Any], where: str) -> DossierKind:
    return DossierKind(
        code=_get(obj, where, "code", str),
        names=_text(obj, where, "name"),
        needs_certificate=_get(obj, where, "needs_certificate", bool),
    )


def _scoring_part(obj: Mapping[str, Any], where: str) -> ScoringPart:
    return ScoringPart(
        code=_get(obj, where, "code", str),
        names=_text(obj, where, "name"),
        max_points=_get(obj, where, "max_points", int),
    )


def _scoring_parts(scoring: Mapping[str, Any], where: str) -> tuple[ScoringPart, ...]:
    parts = _unique(
        [_scoring_part(*p) for p in _items(scoring, where, "parts")],
        lambda p: p.code,
        f"{where}.parts",
    )
    max_score = _get(scoring, where, "max_score", int)
    if sum(p.max_points for p in parts) != max_score:
        raise RulesDataError(f"{where}.parts: the parts do not add up to max_score {max_score}")
    return parts


def _star_band(obj: Mapping[str, Any], where: str) -> StarBand:
    return StarBand(
        stars=_get(obj, where, "stars", int), min_score=_number(obj, where, "min_score")
    )


def _star_bands(stars: Mapping[str, Any], where: str) -> tuple[StarBand, ...]:
    """The bands, highest first; they must start at 0 and rise in stars with the score."""
    bands = sorted(
        (_star_band(*b) for b in _items(stars, where, "bands")),
        key=lambda b: b.min_score,
        reverse=True,
    )
    if not bands or bands[-1].min_score != 0:
        raise RulesDataError(f"{where}.bands: the lowest band must start at score 0")
    if [b.stars for b in bands] != sorted({b.stars for b in bands}, reverse=True):
        raise RulesDataError(f"{where}.bands: higher scores must earn strictly more stars")
    return tuple(bands)


def _checklists(
    entries: list[tuple[Mapping[str, Any], str]],
    docs: tuple[DocumentType, ...],
    numbers: frozenset[int],
) -> Mapping[int, tuple[Requirement, ...]]:
    """Each set's checklist: the entries in file order, required documents first."""
    by_code = {d.code: d for d in docs}
    lines: dict[int, list[Requirement]] = {n: [] for n in numbers}
    for entry, where in entries:
        code = _get(entry, where, "document", str)
        if code not in by_code:
            raise RulesDataError(f"{where}.document: unknown document type {code!r}")
        required = _set_numbers(entry, where, "required", numbers)
        optional = _set_numbers(entry, where, "optional", numbers)
        if both := required & optional:
            raise RulesDataError(f"{where}: sets {sorted(both)} list {code!r} as both kinds")
        knockout = entry.get("knockout", False)
        if not isinstance(knockout, bool):
            raise RulesDataError(f"{where}.knockout: expected true or false")
        for number in required | optional:
            if any(r.document.code == code for r in lines[number]):
                raise RulesDataError(f"{where}: {code!r} is listed twice for set {number}")
            is_required = number in required
            lines[number].append(Requirement(by_code[code], is_required, knockout and is_required))
    return MappingProxyType(
        {n: tuple(sorted(reqs, key=lambda r: not r.required)) for n, reqs in lines.items()}
    )


def _set_numbers(
    obj: Mapping[str, Any], where: str, key: str, known: frozenset[int]
) -> frozenset[int]:
    """Set numbers from an optional list of ``"all"``, numbers and ``"a-b"`` ranges."""
    spec = obj.get(key, [])
    if not isinstance(spec, list):
        raise RulesDataError(f"{where}.{key}: expected a list of set numbers")
    result: set[int] = set()
    for item in spec:
        if item == "all":
            result |= known
        elif isinstance(item, int) and not isinstance(item, bool):
            result.add(item)
        elif isinstance(item, str) and (m := re.fullmatch(r"(\d+)-(\d+)", item)):
            result.update(range(int(m[1]), int(m[2]) + 1))
        else:
            raise RulesDataError(f"{where}.{key}: {item!r} is not a set number or range")
    if unknown := result - known:
        raise RulesDataError(f"{where}.{key}: unknown product sets {sorted(unknown)}")
    return frozenset(result)


# -- small validators ----------------------------------------------------------------------


def _mapping(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise RulesDataError(f"{where}: expected an object, got {raw!r}")
    return raw


def _get(obj: Mapping[str, Any], where: str, key: str, kind: type[_T]) -> _T:
    if key not in obj:
        raise RulesDataError(f"{where}: missing {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise RulesDataError(f"{where}.{key}: expected {kind.__name__}, got {value!r}")
    return value


def _section(obj: Mapping[str, Any], where: str, key: str) -> tuple[Mapping[str, Any], str]:
    """A nested object and its path, for error messages."""
    return _get(obj, where, key, dict), f"{where}.{key}"


def _items(obj: Mapping[str, Any], where: str, key: str) -> list[tuple[Mapping[str, Any], str]]:
    """The objects of a list, each with its path."""
    return [
        (_mapping(item, f"{where}.{key}[{i}]"), f"{where}.{key}[{i}]")
        for i, item in enumerate(_get(obj, where, key, list))
    ]


def _number(obj: Mapping[str, Any], where: str, key: str) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RulesDataError(f"{where}.{key}: expected a number, got {value!r}")
    return float(value)


def _date(obj: Mapping[str, Any], where: str, key: str) -> date:
    try:
        return date.fromisoformat(_get(obj, where, key, str))
    except ValueError as exc:
        raise RulesDataError(f"{where}.{key}: not an ISO date") from exc


def _text(obj: Mapping[str, Any], where: str, key: str) -> LocalText:
    texts, at = _section(obj, where, key)
    vi, en = (_get(texts, at, lang, str).strip() for lang in ("vi", "en"))
    if not vi or not en:
        raise RulesDataError(f"{at}: both 'vi' and 'en' must be non-empty")
    return LocalText(vi=vi, en=en)


def _unique(items: list[_T], key: Callable[[_T], object], where: str) -> tuple[_T, ...]:
    seen: set[object] = set()
    for item in items:
        if (value := key(item)) in seen:
            raise RulesDataError(f"{where}: {value!r} appears twice")
        seen.add(value)
    return tuple(items)


def _one(items: Iterable[_T], match: Callable[[_T], bool], what: str, version: str) -> _T:
    for item in items:
        if match(item):
            return item
    raise KeyError(f"no {what} in OCOP rules {version}")


# -- search and dates ----------------------------------------------------------------------


def _words(*texts: str) -> frozenset[str]:
    """The folded words of ``texts`` (lower case, no diacritics, no punctuation)."""
    return frozenset(word for text in texts for word in fold(text).split())


def _texts(text: LocalText | None) -> tuple[str, ...]:
    return () if text is None else (text.vi, text.en)


def _fit(typed: frozenset[str], words: frozenset[str]) -> int | None:
    """0 if every typed word is a word of ``words``, 1 if each at least starts one, else None."""
    if typed <= words:
        return 0
    if all(any(w.startswith(t) for w in words) for t in typed):
        return 1
    return None


def _add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the end of a shorter month."""
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    month = month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
