"""The areas in memory, for the chat flows: the lookups of :mod:`storage.areas` answered
without SQL.

One query loads every version of every area of a database as plain, immutable
:class:`AreaRecord` values (an :class:`AreaSnapshot`). The snapshot answers what
``list_provinces``, ``find_province``, ``communes_of``, ``find_commune`` and ``get_area`` answer
— the same areas in the same order under the same validity dates, through the same helpers —
and remembers the provinces and communes of the last day asked.

Areas change only by an import (:func:`storage.areas.import_areas`,
:func:`~storage.areas.seed_provinces`), which gives the areas' row of ``data_versions`` a new
token (:mod:`storage.data_versions`). A change this process commits is seen at the next
lookup; one another process commits (``ocop-bot areas import``) when the token is next read, at
most :data:`REFRESH_SECONDS` of the caller's clock after the last read. A changed token loads
the areas again. Each database (engine) has its copy for as long as the engine lives.

The officials' console keeps its queries: it reads areas seldom and works with stored rows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from storage.areas import (
    AreaMatch,
    by_name,
    lookup_day,
    match_areas,
    province_other_names,
    valid_on,
)
from storage.clock import SYSTEM_CLOCK, Clock
from storage.data_versions import AREAS, changes_here, database_key, read_token
from storage.models import Area

__all__ = ["REFRESH_SECONDS", "AreaCache", "AreaRecord", "AreaSnapshot", "current_areas"]

REFRESH_SECONDS = 30.0
"""How long a process may go without reading whether another one changed the areas."""


@dataclass(frozen=True, slots=True)
class AreaRecord:
    """One version of an area, as stored (:class:`storage.models.Area`), tied to no session."""

    id: int
    code: str
    name: str
    search_name: str
    level: str
    parent_id: int | None
    valid_from: date
    valid_to: date | None
    aliases: str  # other names, one a line
    merged_from: str


_COLUMNS = [getattr(Area, f.name) for f in fields(AreaRecord)]


class AreaSnapshot:
    """Every version of every area of one database as it was loaded, and the lookups on it.
    Days default to today in Vietnam, as in :mod:`storage.areas`."""

    def __init__(self, records: list[AreaRecord], token: str | None) -> None:
        self.token = token  # the data_versions token it was loaded under
        self._by_id = {record.id: record for record in records}
        self._tops: list[AreaRecord] = []
        # parent's code → children of any version of that parent (a renamed province's
        # communes are found from its old and new versions alike, as the query does).
        self._children: dict[str, list[AreaRecord]] = {}
        for record in records:
            parent = self._by_id.get(record.parent_id) if record.parent_id is not None else None
            if parent is not None:
                self._children.setdefault(parent.code, []).append(record)
            elif record.parent_id is None:
                self._tops.append(record)
        self._day: date | None = None  # the day the remembered answers are for
        self._provinces: tuple[AreaRecord, ...] = ()
        self._communes: dict[int, tuple[AreaRecord, ...]] = {}

    def get(self, area_id: int) -> AreaRecord | None:
        """The area with this id (any version), or None."""
        return self._by_id.get(area_id)

    def provinces(self, *, on: date | None = None) -> tuple[AreaRecord, ...]:
        """The top-level areas valid on ``on``, sorted by name."""
        self._remember(lookup_day(on))
        return self._provinces

    def communes_of(self, province_id: int, *, on: date | None = None) -> tuple[AreaRecord, ...]:
        """The lowest units under a province on ``on``, however deep, sorted by name."""
        day = lookup_day(on)
        self._remember(day)
        communes = self._communes.get(province_id)
        if communes is None:
            communes = self._communes[province_id] = tuple(by_name(self._leaves(province_id, day)))
        return communes

    def find_province(
        self, typed: str, limit: int = 6, *, on: date | None = None
    ) -> list[AreaMatch[AreaRecord]]:
        """Provinces matching what was typed, as :func:`storage.areas.find_province`."""
        return match_areas(self.provinces(on=on), typed, limit, province_other_names())

    def find_commune(
        self, province_id: int, typed: str, limit: int = 6, *, on: date | None = None
    ) -> list[AreaMatch[AreaRecord]]:
        """Communes of a province matching what was typed, as
        :func:`storage.areas.find_commune`."""
        return match_areas(self.communes_of(province_id, on=on), typed, limit)

    def _remember(self, day: date) -> None:
        if day != self._day:
            self._day, self._communes = day, {}
            self._provinces = tuple(by_name(a for a in self._tops if valid_on(a, day)))

    def _current_children(self, code: str, day: date) -> list[AreaRecord]:
        return [child for child in self._children.get(code, ()) if valid_on(child, day)]

    def _leaves(self, province_id: int, day: date) -> list[AreaRecord]:
        """As :func:`storage.areas.communes_of`'s query: from the province's row (any version),
        the areas valid on ``day`` below it by parents' codes; those with none below them."""
        top = self._by_id.get(province_id)
        if top is None:
            return []
        tree = {top.id: top}
        codes, followed = [top.code], set()
        while codes:
            code = codes.pop()
            if code in followed:
                continue
            followed.add(code)
            for child in self._current_children(code, day):
                if child.id not in tree:
                    tree[child.id] = child
                    codes.append(child.code)
        return [
            area
            for area in tree.values()
            if area.id != province_id and not self._current_children(area.code, day)
        ]


class AreaCache:
    """The areas of one database in memory: :meth:`snapshot` loads them, and loads them again
    when they changed."""

    def __init__(self, database: str, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.database = database  # storage.data_versions.database_key
        self.refresh_seconds = refresh_seconds
        self._snapshot: AreaSnapshot | None = None
        self._checked_at = 0.0  # by the callers' clock (monotonic)
        self._changes_seen = 0  # changes_here when the snapshot was loaded

    async def snapshot(self, session: AsyncSession, clock: Clock = SYSTEM_CLOCK) -> AreaSnapshot:
        """The areas, read through ``session`` when they were never loaded, changed in this
        process, or — read at most every ``refresh_seconds`` — have another token."""
        now = clock.monotonic()
        changes = changes_here(self.database, AREAS)
        loaded = self._snapshot
        if loaded is None or changes != self._changes_seen:
            return await self._load(session, now, changes)
        if not 0 <= now - self._checked_at < self.refresh_seconds:  # or another clock's time
            self._checked_at = now
            if await read_token(session, AREAS) != loaded.token:
                return await self._load(session, now, changes)
        return loaded

    async def _load(self, session: AsyncSession, now: float, changes: int) -> AreaSnapshot:
        # The token first: a change committed between the two reads is a change at the next
        # check, never one missed.
        token = await read_token(session, AREAS)
        rows = await session.execute(select(*_COLUMNS))
        snapshot = AreaSnapshot([AreaRecord(*row) for row in rows], token)
        self._snapshot, self._checked_at, self._changes_seen = snapshot, now, changes
        return snapshot


_CACHES: WeakKeyDictionary[Engine, AreaCache] = WeakKeyDictionary()


async def current_areas(session: AsyncSession, clock: Clock = SYSTEM_CLOCK) -> AreaSnapshot:
    """The areas of ``session``'s database from memory, loaded or refreshed through ``session``
    when needed (``clock``: the caller's, which times the refresh)."""
    engine = session.get_bind().engine
    cache = _CACHES.get(engine)
    if cache is None:
        cache = _CACHES[engine] = AreaCache(database_key(session))
    return await cache.snapshot(session, clock)
