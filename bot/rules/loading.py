"""Reading and validating a JSON rules data file into a :class:`~bot.rules.model.RuleSet`.

A file is one object: ``version``, ``legal_basis`` (``{"vi", "en"}``), ``effective_from`` (an
ISO date); lists of ``groups``, ``product_sets`` (each with the ``keywords`` producers type for
it and the ``basis`` of its name), ``document_types``, ``dossier_kinds`` and
``org_types`` (who may file, Art. 2.3); ``requirements``, each naming a ``document``, the article
it comes from (``basis``) and the sets for which it is needed ``to_file``, ``for_3_stars`` or
``helps_score`` (``"all"``, numbers or ``"a-b"`` ranges), and those where it is a ``knockout``;
``filing`` (where and how, Art. 7.1); and the ``scoring``, ``stars``, ``certificate`` and
``samples`` sections.

Validated: types and presence of every field, non-empty Vietnamese and English texts, unique
codes and numbers, every set in a known group, every requirement naming a known document type
and known sets (never twice, never in two tiers, knock-outs only among the papers needed to
file), score parts adding up to the
maximum, star bands starting at 0 and rising, and a re-rating window that opens before it
closes. Anything broken raises :class:`~bot.rules.model.RulesDataError` naming the place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

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
from bot.rules.search import Word, phrase
from storage.states import RoundLevel

__all__ = ["load_rule_set", "parse_rule_set"]

_T = TypeVar("_T")


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
        org_types=_unique(
            [_org_type(*o, numbers) for o in _items(root, source, "org_types")],
            lambda o: o.code,
            f"{source}.org_types",
        ),
        filing=_filing(*_section(root, source, "filing")),
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
        score_sheets=_score_sheets(*scoring, numbers),
        star_minimums=_unique(
            [_star_minimum(*m, numbers, docs) for m in _items(*scoring, "star_minimums")],
            lambda m: m.code,
            f"{source}.scoring.star_minimums",
        ),
        sheet_knockouts=_unique(
            [_sheet_knockout(*k, numbers) for k in _items(*scoring, "knockouts")],
            lambda k: k.code,
            f"{source}.scoring.knockouts",
        ),
        round_calendar=tuple(_round_template(*r) for r in _items(root, source, "round_calendar")),
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
    basis = obj.get("basis", "")
    if not isinstance(basis, str):
        raise RulesDataError(f"{where}.basis: expected text")
    return ProductSet(
        number=_get(obj, where, "number", int),
        group=group,
        subgroup=None if obj.get("subgroup") is None else _text(obj, where, "subgroup"),
        names=_text(obj, where, "name"),
        keywords=_keywords(obj, where),
        basis=basis.strip(),
    )


def _keywords(obj: Mapping[str, Any], where: str) -> tuple[str, ...]:
    """A set's optional ``keywords``: the product names producers type to find it (see
    :mod:`bot.rules.search`), words or phrases written with their diacritics, each once.
    The same keyword may name several sets when the word is ambiguous ("vải")."""
    spec = obj.get("keywords", [])
    if not isinstance(spec, list):
        raise RulesDataError(f"{where}.keywords: expected a list of words or phrases")
    seen: set[tuple[Word, ...]] = set()
    for i, keyword in enumerate(spec):
        words = phrase(keyword) if isinstance(keyword, str) else ()
        if not words:
            raise RulesDataError(
                f"{where}.keywords[{i}]: expected a word or phrase, got {keyword!r}"
            )
        if words in seen:
            raise RulesDataError(f"{where}.keywords[{i}]: {keyword!r} is listed twice")
        seen.add(words)
    return tuple(k.strip() for k in spec)


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


def _score_sheets(
    scoring: Mapping[str, Any], where: str, numbers: frozenset[int]
) -> Mapping[int, tuple[ScoreSection, ...]]:
    """Each set's sheet: the ``sheets`` entry naming the set, else the one for ``"default"``
    (or, with no default, the parts themselves as sections). Every sheet's sections must add
    up, part by part, to the parts' maxima."""
    parts = {p.code: p.max_points for p in _scoring_parts(scoring, where)}
    default: tuple[ScoreSection, ...] = tuple(
        ScoreSection(p.code, p.code, p.names, p.max_points) for p in _scoring_parts(scoring, where)
    )
    sheets: dict[int, tuple[ScoreSection, ...]] = {}
    for sheet, at in _items(scoring, where, "sheets"):
        sections = _unique(
            [_score_section(*s, parts) for s in _items(sheet, at, "sections")],
            lambda s: s.code,
            f"{at}.sections",
        )
        for part, max_points in parts.items():
            total = sum(s.max_points for s in sections if s.part == part)
            if total != max_points:
                raise RulesDataError(f"{at}: part {part} adds up to {total}, not {max_points}")
        if sheet.get("sets") == "default":
            default = sections
            continue
        for number in _set_numbers(sheet, at, "sets", numbers):
            if number in sheets:
                raise RulesDataError(f"{at}.sets: set {number} has two score sheets")
            sheets[number] = sections
    return MappingProxyType({n: sheets.get(n, default) for n in numbers})


def _score_section(obj: Mapping[str, Any], where: str, parts: Mapping[str, int]) -> ScoreSection:
    part = _get(obj, where, "part", str)
    if part not in parts:
        raise RulesDataError(f"{where}.part: unknown part {part!r}")
    return ScoreSection(
        code=_get(obj, where, "code", str),
        part=part,
        names=_text(obj, where, "name"),
        max_points=_get(obj, where, "max_points", int),
    )


def _star_minimum(
    obj: Mapping[str, Any], where: str, numbers: frozenset[int], docs: tuple[DocumentType, ...]
) -> StarMinimum:
    document = obj.get("document")
    if document is not None and document not in {d.code for d in docs}:
        raise RulesDataError(f"{where}.document: unknown document type {document!r}")
    stars = _get(obj, where, "stars", int)
    if not 2 <= stars <= 5:
        raise RulesDataError(f"{where}.stars: a minimum gates 2 to 5 stars, not {stars}")
    return StarMinimum(
        code=_get(obj, where, "code", str),
        stars=stars,
        names=_text(obj, where, "name"),
        question=_text(obj, where, "question"),
        advice=_text(obj, where, "advice"),
        document=document,
        sets=_set_numbers(obj, where, "sets", numbers),
        basis=_get(obj, where, "basis", str),
    )


def _sheet_knockout(obj: Mapping[str, Any], where: str, numbers: frozenset[int]) -> SheetKnockout:
    return SheetKnockout(
        code=_get(obj, where, "code", str),
        names=_text(obj, where, "name"),
        sets=_set_numbers(obj, where, "sets", numbers),
        basis=_get(obj, where, "basis", str),
    )


def _month_day(obj: Mapping[str, Any], where: str, key: str) -> tuple[int, int]:
    text = _get(obj, where, key, str)
    try:
        day = date.fromisoformat(f"2024-{text}")  # a leap year: 02-29 is a month-day
    except ValueError as exc:
        raise RulesDataError(f"{where}.{key}: {text!r} is not a month-day (MM-DD)") from exc
    return (day.month, day.day)


def _round_template(obj: Mapping[str, Any], where: str) -> RoundTemplate:
    level = _get(obj, where, "level", str)
    if level not in set(RoundLevel):
        raise RulesDataError(f"{where}.level: {level!r} is not one of {', '.join(RoundLevel)}")
    template = RoundTemplate(
        level=level,
        names=_text(obj, where, "name"),
        opens=_month_day(obj, where, "opens"),
        submission=_month_day(obj, where, "submission"),
        finish=_month_day(obj, where, "finish"),
    )
    if not template.opens <= template.submission < template.finish:
        raise RulesDataError(f"{where}: a round opens, then closes for dossiers, then finishes")
    return template


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
    """Each set's checklist: needed to file first, then for 3★, then helping the score; each
    tier in file order."""
    by_code = {d.code: d for d in docs}
    lines: dict[int, list[Requirement]] = {n: [] for n in numbers}
    for entry, where in entries:
        code = _get(entry, where, "document", str)
        if code not in by_code:
            raise RulesDataError(f"{where}.document: unknown document type {code!r}")
        basis = _get(entry, where, "basis", str).strip()
        if not basis:
            raise RulesDataError(f"{where}.basis: say which article this comes from")
        tiers = {tier: _set_numbers(entry, where, tier.value, numbers) for tier in Tier}
        seen: set[int] = set()
        for sets in tiers.values():
            if both := seen & sets:
                raise RulesDataError(f"{where}: sets {sorted(both)} list {code!r} in two tiers")
            seen |= sets
        knockout = _set_numbers(entry, where, "knockout", numbers)
        if stray := knockout - tiers[Tier.TO_FILE]:
            raise RulesDataError(
                f"{where}.knockout: sets {sorted(stray)} must also list {code!r} in to_file"
            )
        for tier, sets in tiers.items():
            for number in sets:
                if any(r.document.code == code for r in lines[number]):
                    raise RulesDataError(f"{where}: {code!r} is listed twice for set {number}")
                lines[number].append(Requirement(by_code[code], tier, number in knockout, basis))
    order = list(Tier)
    return MappingProxyType(
        {n: tuple(sorted(reqs, key=lambda r: order.index(r.tier))) for n, reqs in lines.items()}
    )


def _org_type(obj: Mapping[str, Any], where: str, numbers: frozenset[int]) -> OrgType:
    only = obj.get("only_sets")
    return OrgType(
        code=_get(obj, where, "code", str),
        names=_text(obj, where, "name"),
        household=_get(obj, where, "household", bool),
        only_sets=None if only is None else _set_numbers(obj, where, "only_sets", numbers),
        basis=_get(obj, where, "basis", str),
    )


def _filing(obj: Mapping[str, Any], where: str) -> Filing:
    return Filing(
        where=_text(obj, where, "where"),
        how=_text(obj, where, "how"),
        basis=_get(obj, where, "basis", str),
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
