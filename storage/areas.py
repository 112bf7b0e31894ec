"""Administrative areas as data: the shipped provinces, the importer, and the lookups.

Areas form a hierarchy of any depth (since 1 July 2025: 34 provinces → 3,321 communes; before:
province → district → commune). Every change keeps history: a renamed or moved area gets a new
row (a new *version*) and the old row is closed (``valid_to``), so old records keep old names.

Import files (:func:`import_areas`) are UTF-8 (with or without BOM), in one of these shapes:

CSV, one area per line, a header line naming the columns (any order, any case)::

    code,name,level,parent_code,valid_from,valid_to
    24,Tỉnh Bắc Ninh,province,,,
    07210,Phường Bắc Giang,commune,24,2025-07-01,

``code`` and ``name`` are required; the other columns are optional. Vietnamese headers work too
(ma, ten, cap, ma_cha, tu_ngay, den_ngay). Separators ``,`` or ``;`` (Excel in Vietnamese) or tab.
Format the code column as text in spreadsheets: "01" must not become "1".

JSON, either a flat list of objects with the same keys::

    [{"code": "24", "name": "Tỉnh Bắc Ninh"},
     {"code": "07210", "name": "Phường Bắc Giang", "parent_code": "24"}]

or nested objects, any depth, children under ``children`` (or ``Wards``)::

    [{"code": "24", "name": "Tỉnh Bắc Ninh",
      "children": [{"code": "07210", "name": "Phường Bắc Giang"}]}]

The published list's keys are accepted as they are: ``Code``, ``FullName``, ``Wards``,
``ProvinceCode`` (``FullName`` wins over ``Name``). Other keys in JSON are ignored; unknown CSV
columns are an error (a misspelt ``parent_code`` must not silently turn communes into provinces).

Meaning of the fields:

- ``parent_code``: an area in the same file (any order) or a current area already stored; empty
  for a top-level area. In nested JSON the enclosing object is the parent.
- ``level``: free text, lowercased (province, district, commune…). When absent: kept for known
  areas, and for new ones ``province`` at the top and ``commune`` below.
- ``valid_from``: when this name/parent takes effect (``YYYY-MM-DD`` or ``DD/MM/YYYY``); default:
  the ``valid_from`` given to the import, else today (Vietnam time).
- ``valid_to``: last day of validity, for abolished or historical areas.
- ``aliases`` (also ``other_names``, ``ten_khac``): other names people type for the area
  (abbreviations, old spellings); ``merged_from`` (also ``old_names``, ``ten_cu``): the units
  merged into it on 1 July 2025, found by their names with "since 1 July 2025, X is part of Y".
  In JSON a list of names (or one text); in CSV one cell, names separated by ``|`` or ``;``.
  When the key is absent the stored names are kept; a change of names alone is written in place
  (it is no new version of the area).

An area with the same code, name, parent and level as its stored version is unchanged. Otherwise
the stored version is closed the day before the new ``valid_from`` and a new version is added
(on the very same ``valid_from`` the stored row is corrected in place instead). Current children
of a replaced area are linked to its new version; lookups follow parents by code, so a date in
the past still finds the hierarchy of that date. Areas absent from the file are left alone.

The whole file is checked first; any problem (missing code or name, unknown parent, duplicate
code, parent loop, bad date, empty or non-CSV/JSON file) raises :class:`AreaImportError` listing
every problem with its line or item number, and nothing is written. An import that writes
anything gives the areas a new change marker (:mod:`storage.data_versions`), by which running
bots know to load them again (:mod:`storage.area_cache`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.util import AliasedClass

from storage.clock import utcnow
from storage.data_versions import AREAS, mark_changed
from storage.models import Area, Base
from storage.text import EXACT, fold, ranked, strip_area_prefix

__all__ = [
    "COMMUNE",
    "PROVINCE",
    "PROVINCES_FILE",
    "REFORM_DAY",
    "AreaCounts",
    "AreaFields",
    "AreaImportError",
    "AreaMatch",
    "ImportReport",
    "OtherName",
    "area_counts",
    "areas_with_code",
    "by_name",
    "communes_of",
    "find_commune",
    "find_province",
    "get_area",
    "import_areas",
    "list_provinces",
    "lookup_day",
    "match_areas",
    "province_other_names",
    "province_rows",
    "seed_provinces",
    "valid_on",
]

PROVINCES_FILE = Path(__file__).parent / "data" / "provinces-2025.json"
PROVINCE = "province"
COMMUNE = "commune"
REFORM_DAY = date(2025, 7, 1)
"""The 2025 reform: 63 provinces merged into 34, districts abolished, communes merged."""

_VIETNAM = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh, no daylight saving
_AREAS: Table = Base.metadata.tables["areas"]

# Folded, space-less header or key → field. For JSON keys mapping to one field, earlier wins.
_KEYS: dict[str, str] = {
    "code": "code",
    "ma": "code",
    "fullname": "name",
    "name": "name",
    "ten": "name",
    "level": "level",
    "cap": "level",
    "parentcode": "parent_code",
    "provincecode": "parent_code",
    "macha": "parent_code",
    "validfrom": "valid_from",
    "tungay": "valid_from",
    "validto": "valid_to",
    "denngay": "valid_to",
    "aliases": "aliases",
    "alias": "aliases",
    "othernames": "aliases",
    "tenkhac": "aliases",
    "mergedfrom": "merged_from",
    "oldnames": "merged_from",
    "formernames": "merged_from",
    "tencu": "merged_from",
    "children": "children",
    "wards": "children",
}
_KEY_RANK = {key: rank for rank, key in enumerate(_KEYS)}
_COLUMNS = "code, name, level, parent_code, valid_from, valid_to, aliases, merged_from"
_NAME_LISTS = ("aliases", "merged_from")
_NAME_SEPARATORS = re.compile(r"[|;\n]")
_MAX_SHOWN = 50


class AreaImportError(ValueError):
    """An area file with problems; ``problems`` lists each one with its line or item."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = self.problems[:_MAX_SHOWN]
        more = len(self.problems) - len(shown)
        lines = [*shown, f"… and {more} more"] if more else shown
        super().__init__(
            f"{len(self.problems)} problem(s) in the area file, nothing imported:\n"
            + "\n".join(lines)
        )


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: new areas, new versions (renamed; moved = same name, new parent or
    level), areas already up to date, areas closed by a ``valid_to``, and areas given other
    aliases or merged-from names (``named``, in place)."""

    added: int = 0
    renamed: int = 0
    moved: int = 0
    unchanged: int = 0
    closed: int = 0
    named: int = 0

    def __str__(self) -> str:
        named = f", {self.named:,} with new other names" if self.named else ""
        return (
            f"{self.added:,} added, {self.renamed:,} renamed, {self.moved:,} moved, "
            f"{self.unchanged:,} unchanged, {self.closed:,} closed{named}"
        )


class AreaCounts(NamedTuple):
    """How many areas are current: top-level (provinces) and below them (communes, wards…)."""

    provinces: int
    communes: int


# --- reading files ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RawRow:
    where: str  # "line 7", "item 3, child 5"
    values: dict[str, str]  # field → text as given
    enclosing: str | None = None  # code of the enclosing object in nested JSON


def _compact(key: str) -> str:
    return fold(key).replace(" ", "")


def _field(key: str) -> str | None:
    return _KEYS.get(_compact(key))


def _read_rows(path: Path) -> tuple[list[_RawRow], list[str]]:
    """The rows of a file, and problems of single rows; raises when the file is unreadable."""
    text = _read_text(path)
    suffix = path.suffix.lower()
    if suffix == ".json" or (suffix != ".csv" and text.lstrip()[:1] in ("[", "{")):
        return _read_json(text)
    if suffix != ".csv" and "code" not in map(_field, _split_header(text)):
        raise AreaImportError([f"{path.name} is neither CSV (a header line: {_COLUMNS}) nor JSON"])
    return _read_csv(text)


def _read_text(path: Path) -> str:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise AreaImportError([f"cannot read {path.name}: {exc.strerror}"]) from exc
    except UnicodeDecodeError as exc:
        raise AreaImportError(
            [f"{path.name} is not UTF-8 text: save it as “CSV UTF-8” or JSON"]
        ) from exc
    if not text.strip():
        raise AreaImportError([f"{path.name} is empty"])
    return text


def _split_header(text: str) -> list[str]:
    first = text.lstrip().splitlines()[0]
    return first.split(_delimiter(first))


def _delimiter(header: str) -> str:
    return max(",;\t", key=header.count)  # a tie (no separator at all) gives ","


def _read_csv(text: str) -> tuple[list[_RawRow], list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.lstrip()))
    records = (record for record in reader if any(cell.strip() for cell in record))
    header = next(records)
    fields = [_field(name) for name in header]
    if problems := _header_problems(f"line {reader.line_num}", header, fields):
        raise AreaImportError(problems)
    rows: list[_RawRow] = []
    for record in records:
        where = f"line {reader.line_num}"
        if any(cell.strip() for cell in record[len(header) :]):
            problems.append(f"{where}: more values than the {len(header)} columns of the header")
        values = {f: cell.strip() for f, cell in zip(fields, record, strict=False) if f}
        rows.append(_RawRow(where, {f: v for f, v in values.items() if v}))
    return rows, problems


def _header_problems(where: str, header: list[str], fields: list[str | None]) -> list[str]:
    """Unknown, repeated or missing columns (blank ones, as Excel leaves, are ignored)."""
    problems = [
        f"{where}: unknown column “{name.strip()}” (columns: {_COLUMNS})"
        for name, f in zip(header, fields, strict=True)
        if name.strip() and f in (None, "children")
    ]
    problems += [
        f"{where}: two columns for {f}" for f, n in Counter(fields).items() if f and n > 1
    ]
    problems += [f"{where}: no “{f}” column" for f in ("code", "name") if f not in fields]
    return problems


def _read_json(text: str) -> tuple[list[_RawRow], list[str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise AreaImportError([f"not valid JSON ({where}: {exc.msg})"]) from exc
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise AreaImportError(["JSON must be a list of areas or one area object"])
    rows: list[_RawRow] = []
    problems: list[str] = []
    _walk_json(items, "item ", None, rows, problems)
    return rows, problems


def _walk_json(
    items: list[Any],
    prefix: str,
    enclosing: str | None,
    rows: list[_RawRow],
    problems: list[str],
) -> None:
    for number, item in enumerate(items, 1):
        where = f"{prefix}{number}"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected an object with code and name")
            continue
        values, children = _json_values(item, where, problems)
        rows.append(_RawRow(where, values, enclosing))
        if children is None:
            continue
        if isinstance(children, list):
            _walk_json(children, f"{where}, child ", values.get("code"), rows, problems)
        else:
            problems.append(f"{where}: children must be a list")


def _json_values(
    item: dict[str, Any], where: str, problems: list[str]
) -> tuple[dict[str, str], Any]:
    given: dict[str, Any] = {}
    known = sorted((_KEY_RANK[k], str(key)) for key in item if (k := _compact(str(key))) in _KEYS)
    for _, key in known:
        if item[key] is not None:
            given.setdefault(_KEYS[_compact(key)], item[key])  # the best-ranked key wins
    children = given.pop("children", None)
    values: dict[str, str] = {}
    for name, value in given.items():
        if name in _NAME_LISTS and isinstance(value, list):
            values[name] = "|".join(_listed_names(value, f"{where}: {name}", problems))
        elif isinstance(value, bool) or not isinstance(value, str | int):
            problems.append(f"{where}: {name} must be text")
        elif text := str(value).strip():
            values[name] = text
    return values, children


def _listed_names(items: list[Any], label: str, problems: list[str]) -> Iterator[str]:
    """The names of a JSON list: texts, or objects with a name (as the provinces file has)."""
    for item in items:
        if isinstance(item, dict):
            item = next((v for k, v in item.items() if _field(str(k)) == "name"), None)
        if isinstance(item, str):
            yield item
        else:
            problems.append(f"{label} must be a list of names")


# --- checking rows ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    where: str
    code: str
    name: str
    level: str | None
    parent_code: str | None
    valid_from: date
    valid_to: date | None
    aliases: tuple[str, ...] | None = None  # None: not in the file (the stored ones are kept)
    merged_from: tuple[str, ...] | None = None


def _clean_name(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).split())


def _names(text: str | None) -> tuple[str, ...] | None:
    """The names of a list cell ("Xã A | Xã B"), cleaned, without repeats; None when absent."""
    if text is None:
        return None
    names = (_clean_name(name) for name in _NAME_SEPARATORS.split(text))
    return tuple(dict.fromkeys(name for name in names if name))


def _max_length(column: str) -> int:
    return int(getattr(_AREAS.c[column].type, "length", None) or 10_000)


def _parse_date(text: str | None, label: str, problems: list[str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        problems.append(f"{label} “{text}” is not a date (YYYY-MM-DD or DD/MM/YYYY)")
        return None


def _check_row(raw: _RawRow, default_from: date, problems: list[str]) -> _Row | None:
    before = len(problems)
    where, values = raw.where, raw.values
    code, level = values.get("code", ""), values.get("level", "").lower() or None
    name = _clean_name(values.get("name", ""))
    parent = values.get("parent_code") or raw.enclosing
    if not code:
        problems.append(f"{where}: code is missing")
    if not name:
        problems.append(f"{where}: name is missing")
    if raw.enclosing and values.get("parent_code", raw.enclosing) != raw.enclosing:
        problems.append(f"{where}: parent code {values['parent_code']} but inside {raw.enclosing}")
    if code and parent == code:
        problems.append(f"{where}: code {code} is its own parent")
    for column, text in (("code", code), ("name", name), ("level", level or "")):
        if len(text) > _max_length(column):
            problems.append(f"{where}: {column} longer than {_max_length(column)} characters")
    start = _parse_date(values.get("valid_from"), f"{where}: valid_from", problems)
    valid_from = start or default_from
    valid_to = _parse_date(values.get("valid_to"), f"{where}: valid_to", problems)
    if start is not None and valid_to is not None and valid_to < start:
        problems.append(_ends_too_early(where, valid_to, start))
    if len(problems) > before:
        return None
    aliases, merged = (_names(values.get(key)) for key in _NAME_LISTS)
    return _Row(where, code, name, level, parent, valid_from, valid_to, aliases, merged)


def _ends_too_early(where: str, valid_to: date, start: date) -> str:
    return f"{where}: valid_to {valid_to} is before valid_from {start}"


def _validate(
    raws: Sequence[_RawRow],
    known_codes: set[str],
    default_from: date,
    read_problems: Sequence[str] = (),
) -> tuple[list[_Row], dict[str, int]]:
    """The checked rows and their depths in the file; raises with every problem found."""
    problems = [*read_problems] if raws else [*read_problems, "the file lists no areas"]
    rows: list[_Row] = []
    seen: dict[str, str] = {}
    for raw in raws:
        row = _check_row(raw, default_from, problems)
        if row is None:
            continue
        if row.code in seen:
            problems.append(f"{row.where}: code {row.code} is already on {seen[row.code]}")
            continue
        seen[row.code] = row.where
        rows.append(row)
    for row in rows:
        if row.parent_code and row.parent_code not in seen and row.parent_code not in known_codes:
            problems.append(_unknown_parent(row, known_codes | seen.keys()))
    depths = _depths(rows, problems)
    if problems:
        raise AreaImportError(problems)
    return rows, depths


def _unknown_parent(row: _Row, codes: Iterable[str]) -> str:
    parent = row.parent_code or ""
    message = f"{row.where}: parent code {parent} is neither in the file nor a current area"
    padded = [code for code in codes if code.isdigit() and code.lstrip("0") == parent.lstrip("0")]
    if parent.isdigit() and padded:
        message += f" (did you mean {padded[0]}? spreadsheets drop leading zeros)"
    return message


def _depths(rows: Sequence[_Row], problems: list[str]) -> dict[str, int]:
    """Depth of each row below the file's top (parents outside the file count as the top)."""
    parent_of = {row.code: row.parent_code for row in rows}
    depth: dict[str, int] = {}
    for row in rows:
        chain: list[str] = []
        code: str | None = row.code
        while code in parent_of and code not in depth and code not in chain:
            chain.append(code)
            code = parent_of[code]
        if code in chain:
            problems.append(f"{row.where}: parent codes form a loop ({' → '.join(chain)})")
            depth.update(dict.fromkeys(chain, 0))
            continue
        base = depth.get(code, -1) if code is not None else -1
        for offset, member in enumerate(reversed(chain), 1):
            depth[member] = base + offset
    return depth


# --- planning and writing -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Stored:
    id: int
    code: str
    name: str
    level: str
    parent_code: str | None
    valid_from: date
    valid_to: date | None
    aliases: str = ""  # as stored: one name a line
    merged_from: str = ""


@dataclass
class _Plan:
    depths: dict[str, int]
    counts: Counter[str] = field(default_factory=Counter)
    closes: list[dict[str, Any]] = field(default_factory=list)  # {id, valid_to}
    inserts: dict[int, list[_Row]] = field(default_factory=dict)  # by depth, parents first
    corrections: list[tuple[_Stored, _Row]] = field(default_factory=list)  # in place
    kept: dict[str, int] = field(default_factory=dict)  # code → id of a stored row kept
    superseded: dict[int, str] = field(default_factory=dict)  # closed id → code of new version
    named: list[dict[str, Any]] = field(default_factory=list)  # {id, aliases, merged_from}

    def add(self, row: _Row) -> None:
        self.inserts.setdefault(self.depths[row.code], []).append(row)

    def keep(self, stored: _Stored, row: _Row) -> str:
        self.kept[row.code] = stored.id
        if row.valid_to is None or row.valid_to == stored.valid_to:
            return "unchanged"
        self.closes.append({"id": stored.id, "valid_to": row.valid_to})
        return "closed"

    def correct(self, stored: _Stored, row: _Row) -> None:
        self.kept[row.code] = stored.id
        self.corrections.append((stored, row))

    def supersede(self, stored: _Stored, row: _Row) -> None:
        self.closes.append({"id": stored.id, "valid_to": row.valid_from - timedelta(days=1)})
        self.superseded[stored.id] = row.code
        self.add(_keeping_names(row, stored))

    def name(self, stored: _Stored, row: _Row) -> bool:
        """Notes new other names for a stored version kept as it is; whether there are any."""
        names = _name_values(row, stored)
        if names == {key: getattr(stored, key) for key in _NAME_LISTS}:
            return False
        self.named.append({"id": stored.id, **names})
        return True

    def report(self) -> ImportReport:
        return ImportReport(**self.counts)

    def writes(self) -> bool:
        """Whether applying the plan changes any stored area."""
        return bool(self.closes or self.inserts or self.corrections or self.named)


async def _stored_areas(session: AsyncSession) -> list[_Stored]:
    parent = aliased(Area)
    result = await session.execute(
        select(
            Area.id,
            Area.code,
            Area.name,
            Area.level,
            parent.code,
            Area.valid_from,
            Area.valid_to,
            Area.aliases,
            Area.merged_from,
        ).outerjoin(parent, Area.parent_id == parent.id)
    )
    return [_Stored(*row) for row in result]


def _change(stored: _Stored, row: _Row) -> str | None:
    """Renamed, moved, or None when the row matches the stored version."""
    if stored.name != row.name:
        return "renamed"
    if stored.parent_code != row.parent_code or stored.level != (row.level or stored.level):
        return "moved"
    return None


def _plan(rows: Sequence[_Row], depths: dict[str, int], stored: Sequence[_Stored]) -> _Plan:
    """Compare each row with its stored version (same code and start, else the open one)."""
    open_by_code = {area.code: area for area in stored if area.valid_to is None}
    by_start = {(area.code, area.valid_from): area for area in stored}
    plan = _Plan(depths)
    problems: list[str] = []
    for row in rows:
        current = by_start.get((row.code, row.valid_from)) or open_by_code.get(row.code)
        change = _change(current, row) if current else "added"
        start = row.valid_from
        if current is None:
            plan.add(row)
        elif change is None:
            start = current.valid_from
            change = plan.keep(current, row)
            if plan.name(current, row) and change == "unchanged":
                change = "named"
        elif row.valid_from == current.valid_from:
            plan.correct(current, row)
        elif row.valid_from > current.valid_from:
            plan.supersede(current, row)
        else:
            problems.append(
                f"{row.where}: valid_from {row.valid_from} is before the current version of "
                f"{row.code} (from {current.valid_from})"
            )
        if row.valid_to is not None and row.valid_to < start:
            problems.append(_ends_too_early(row.where, row.valid_to, start))
        plan.counts[change or "unchanged"] += 1
    if problems:
        raise AreaImportError(problems)
    return plan


def _name_values(row: _Row, stored: _Stored | None) -> dict[str, str]:
    """The other-name columns: the row's names, else the stored ones (one name a line)."""
    return {
        key: "\n".join(given)
        if (given := getattr(row, key)) is not None
        else (getattr(stored, key) if stored else "")
        for key in _NAME_LISTS
    }


def _keeping_names(row: _Row, stored: _Stored) -> _Row:
    """The row, with the stored version's other names where the file gives none."""
    return replace(
        row,
        aliases=_or_stored(row.aliases, stored.aliases),
        merged_from=_or_stored(row.merged_from, stored.merged_from),
    )


def _or_stored(given: tuple[str, ...] | None, stored: str) -> tuple[str, ...]:
    return given if given is not None else tuple(_stored_names(stored))


def _stored_names(text: str) -> Iterator[str]:
    return (name for name in text.split("\n") if name)


def _values(row: _Row, ids: dict[str, int], stored: _Stored | None = None) -> dict[str, Any]:
    """The column values of a row; ``stored`` gives level and valid_to the row leaves out."""
    level = row.level or (stored.level if stored else None)
    return {
        "code": row.code,
        "name": row.name,
        "search_name": fold(row.name),
        "level": level or (COMMUNE if row.parent_code else PROVINCE),
        "parent_id": ids[row.parent_code] if row.parent_code else None,
        "valid_from": row.valid_from,
        "valid_to": row.valid_to or (stored.valid_to if stored else None),
    }


async def _apply(session: AsyncSession, plan: _Plan, stored: Sequence[_Stored]) -> None:
    ids = {area.code: area.id for area in stored if area.valid_to is None} | plan.kept
    if plan.closes:
        await session.execute(update(Area), plan.closes)
    for depth in sorted(plan.inserts):
        values = [_values(row, ids) | _name_values(row, None) for row in plan.inserts[depth]]
        result = await session.execute(insert(Area).returning(Area.id, Area.code), values)
        ids.update({code: area_id for area_id, code in result})
    if plan.corrections:
        await session.execute(
            update(Area),
            [
                {"id": old.id, **_values(row, ids, old), **_name_values(row, old)}
                for old, row in plan.corrections
            ],
        )
    if plan.named:
        await session.execute(update(Area), plan.named)
    if plan.superseded:
        await session.execute(
            update(_AREAS)
            .where(_AREAS.c.parent_id == bindparam("old_id"), _AREAS.c.valid_to.is_(None))
            .values(parent_id=bindparam("new_id")),
            [{"old_id": old, "new_id": ids[code]} for old, code in plan.superseded.items()],
        )


def _today() -> date:
    return utcnow().astimezone(_VIETNAM).date()


async def import_areas(
    session: AsyncSession, path: Path | str, *, valid_from: date | None = None
) -> ImportReport:
    """Import (upsert by code) the areas of a CSV or JSON file; see the module docstring.

    ``valid_from`` is when rows without their own ``valid_from`` take effect (default: today).
    Call it inside one transaction (``Database.transaction()``): the file is checked completely
    before anything is written, and :class:`AreaImportError` lists every problem.
    """
    raws, read_problems = _read_rows(Path(path))
    stored = await _stored_areas(session)
    current = {area.code for area in stored if area.valid_to is None}
    rows, depths = _validate(raws, current, valid_from or _today(), read_problems)
    plan = _plan(rows, depths, stored)
    await _apply(session, plan, stored)
    if plan.writes():
        await mark_changed(session, AREAS)
    return plan.report()


# --- the shipped provinces ----------------------------------------------------------------


def province_rows() -> list[dict[str, Any]]:
    """The 34 provinces of 2025 (``storage/data/provinces-2025.json``) as ``areas`` rows."""
    raws, problems = _read_rows(PROVINCES_FILE)
    rows, _ = _validate(raws, set(), _today(), problems)
    return [_values(row, {}) for row in rows]


async def seed_provinces(session: AsyncSession) -> int:
    """Insert the shipped provinces whose codes are not stored yet; returns how many."""
    rows = province_rows()
    codes = [row["code"] for row in rows]
    present = set(await session.scalars(select(Area.code).where(Area.code.in_(codes))))
    missing = [row for row in rows if row["code"] not in present]
    if missing:
        await session.execute(insert(Area), missing)
        await mark_changed(session, AREAS)
    return len(missing)


@dataclass(frozen=True, slots=True)
class OtherName:
    """Another name an area is found by: a spelling people type (``merged`` empty), or the name
    of a unit merged into the area on ``since`` (``merged``: that unit's name, to say so)."""

    name: str
    merged: str = ""
    since: date | None = None


@cache
def province_other_names() -> dict[str, tuple[OtherName, ...]]:
    """Code → other names of the shipped provinces: abbreviations, and the provinces merged
    into it (a text, or ``{"name", "since", "aliases"}`` for an earlier merger or the names
    people still use for it, such as "Vũng Tàu")."""
    entries = json.loads(PROVINCES_FILE.read_text(encoding="utf-8"))
    return {entry["code"]: tuple(_file_names(entry)) for entry in entries}


def _file_names(entry: dict[str, Any]) -> Iterator[OtherName]:
    yield from (OtherName(alias) for alias in entry.get("aliases", ()))
    for merged in entry.get("merged_from", ()):
        unit = {"name": merged} if isinstance(merged, str) else merged
        since = date.fromisoformat(unit.get("since", entry["valid_from"]))
        for name in (unit["name"], *unit.get("aliases", ())):
            yield OtherName(name, unit["name"], since)


def _other_names(area: AreaFields) -> Iterator[OtherName]:
    """The other names stored with an area (merged-from names: by the 2025 reform)."""
    yield from (OtherName(name) for name in _stored_names(area.aliases))
    yield from (OtherName(name, name, REFORM_DAY) for name in _stored_names(area.merged_from))


# --- lookups ------------------------------------------------------------------------------
# The lookups below are also answered from memory by storage/area_cache.py, for the chat flows:
# both read areas through these helpers, so a change to a rule here changes both.


class AreaFields(Protocol):
    """What the lookups read of an area: a stored :class:`Area`, or a plain copy of one
    (:class:`storage.area_cache.AreaRecord`)."""

    @property
    def id(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def search_name(self) -> str: ...
    @property
    def parent_id(self) -> int | None: ...
    @property
    def valid_from(self) -> date: ...
    @property
    def valid_to(self) -> date | None: ...
    @property
    def aliases(self) -> str: ...
    @property
    def merged_from(self) -> str: ...


A = TypeVar("A", bound=AreaFields)
T = TypeVar("T")  # AreaMatch's, unbound: with a bound, AreaMatch[Area] trips mypy 2.4 up


def lookup_day(on: date | None) -> date:
    """The day a lookup is for: ``on``, else today in Vietnam."""
    return on or _today()


def _current(on: date, entity: type[Area] | AliasedClass[Area] = Area) -> ColumnElement[bool]:
    """In SQL, what :func:`valid_on` says of one area."""
    return and_(
        entity.valid_from <= on,
        or_(entity.valid_to.is_(None), entity.valid_to >= on),
    )


def valid_on(area: AreaFields, day: date) -> bool:
    """Whether ``area`` (this version of it) is valid on ``day``: from its first day to its
    last, both included."""
    return area.valid_from <= day and (area.valid_to is None or area.valid_to >= day)


def by_name(areas: Iterable[A]) -> list[A]:
    """By name as people say it: folded, without the unit word ("An Giang" before "Bắc Ninh")."""
    return sorted(areas, key=lambda a: (strip_area_prefix(a.search_name), a.search_name, a.code))


def _by_code(areas: Sequence[A], typed: str) -> list[A]:
    """The areas whose code was typed ("24"; leading zeros optional: "1" is "01")."""
    typed = typed.strip().casefold()
    if typed.isascii() and typed.isdigit():
        return [a for a in areas if a.code.isdigit() and a.code.lstrip("0") == typed.lstrip("0")]
    return [a for a in areas if a.code.casefold() == typed]


@dataclass(frozen=True, slots=True)
class AreaMatch(Generic[T]):
    """An area found for what was typed: how well it matched (:data:`storage.text.EXACT` and
    above: exactly, after folding) and the other name it was found by, if not its own."""

    area: T
    score: float
    via: OtherName | None = None

    @property
    def exact(self) -> bool:
        return self.score >= EXACT

    @property
    def merged(self) -> OtherName | None:
        """The unit merged into the area that the match went through, if any."""
        return self.via if self.via is not None and self.via.merged else None


def match_areas(
    areas: Sequence[A],
    typed: str,
    limit: int,
    others: Mapping[str, Sequence[OtherName]] | None = None,
) -> list[AreaMatch[A]]:
    """By code; else by name or other names (``others`` by code, added to the stored ones),
    the closest first whichever name matched: exact matches alone when there are any."""
    if by_code := _by_code(areas, typed):
        return [AreaMatch(area, 1.0) for area in by_code[:limit]]
    names: list[tuple[int, str]] = [(area.id, area.search_name) for area in areas]
    vias: list[OtherName | None] = [None] * len(names)
    for area in areas:
        for other in (*(others or {}).get(area.code, ()), *_other_names(area)):
            names.append((area.id, other.name))
            vias.append(other)
    by_id = {area.id: area for area in areas}
    matches = ranked(typed, names, limit)
    found = [AreaMatch(by_id[m.key], m.score, vias[m.position]) for m in matches]
    return [match for match in found if match.exact] or found


async def list_provinces(session: AsyncSession, *, on: date | None = None) -> list[Area]:
    """The top-level areas valid on ``on`` (default today), sorted by name."""
    day = lookup_day(on)
    result = await session.scalars(select(Area).where(Area.parent_id.is_(None), _current(day)))
    return by_name(result)


async def find_province(
    session: AsyncSession, typed: str, limit: int = 6, *, on: date | None = None
) -> list[AreaMatch[Area]]:
    """Provinces matching what was typed: a code ("24"), a name with or without diacritics or
    unit word ("bac ninh", "TP Huế"), an abbreviation ("tp hcm", "sai gon") or a province merged
    into it ("bac giang" → Bắc Ninh, via Bắc Giang). Exact matches alone when there are any;
    else the closest, best first, whether by name or other name ("bac can" → Thái Nguyên, which
    took in Bắc Kạn, before Bắc Ninh)."""
    provinces = await list_provinces(session, on=on)
    return match_areas(provinces, typed, limit, province_other_names())


def _children(day: date, parent_code: Any) -> Select[int, str]:
    """Areas current on ``day`` whose parent, in any of its versions, has ``parent_code``."""
    child, parent = aliased(Area), aliased(Area)
    return (
        select(child.id, child.code)
        .join(parent, child.parent_id == parent.id)
        .where(parent.code == parent_code, _current(day, child))
    )


async def communes_of(
    session: AsyncSession, province_id: int, *, on: date | None = None
) -> list[Area]:
    """The lowest units under a province on ``on`` (default today), however deep the
    hierarchy, sorted by name. Levels are followed by code, so an old version of a province
    still finds the communes it had on an old date."""
    day = lookup_day(on)
    top = select(Area.id, Area.code).where(Area.id == province_id).cte("tree", recursive=True)
    tree = top.union(_children(day, top.c.code))
    leaves = select(tree.c.id).where(~_children(day, tree.c.code).exists())
    result = await session.scalars(select(Area).where(Area.id.in_(leaves), Area.id != province_id))
    return by_name(result)


async def find_commune(
    session: AsyncSession,
    province_id: int,
    typed: str,
    limit: int = 6,
    *,
    on: date | None = None,
) -> list[AreaMatch[Area]]:
    """Communes of a province matching what was typed, as :func:`find_province` does: by code,
    name or the other names imported with it (``aliases``, ``merged_from``)."""
    communes = await communes_of(session, province_id, on=on)
    return match_areas(communes, typed, limit)


async def areas_with_code(
    session: AsyncSession, code: str, *, on: date | None = None
) -> list[Area]:
    """The areas current on ``on`` (default today) whose code is ``code`` (leading zeros
    optional), at any level."""
    day = lookup_day(on)
    typed = code.strip()
    candidates = {typed, typed.zfill(2), typed.zfill(5)} if typed.isdigit() else {typed}
    rows = await session.scalars(select(Area).where(Area.code.in_(candidates), _current(day)))
    return _by_code(list(rows), typed)


async def area_counts(session: AsyncSession, *, on: date | None = None) -> AreaCounts:
    """How many provinces and communes are loaded (current on ``on``, default today)."""
    day = lookup_day(on)
    top = func.count().filter(Area.parent_id.is_(None))
    below = func.count().filter(Area.parent_id.is_not(None))
    row = (await session.execute(select(top, below).where(_current(day)))).one()
    return AreaCounts(int(row[0]), int(row[1]))


async def get_area(session: AsyncSession, area_id: int) -> Area | None:
    """The area with this id (any version), or None."""
    return await session.get(Area, area_id)
