"""Change markers of the static data processes keep in memory (table ``data_versions``; so far
the areas, :mod:`storage.area_cache`).

Whatever changes such data calls :func:`mark_changed` in the same transaction: the data's row
gets a new random token. A process holding a copy knows it is out of date when the token it
loaded is no longer the stored one (:func:`read_token`: another process changed the data), or
at once when :func:`changes_here` grew (this process committed a change).
"""

from __future__ import annotations

import uuid
from collections import Counter

from sqlalchemy import event, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage.models import DataVersion

__all__ = ["AREAS", "changes_here", "database_key", "mark_changed", "read_token"]

AREAS = "areas"

# (database, name) → how many changes of that data this process committed there.
_committed: Counter[tuple[str, str]] = Counter()


def database_key(session: AsyncSession) -> str:
    """Which database ``session`` works on: its URL (without the password)."""
    return session.get_bind().engine.url.render_as_string(hide_password=True)


async def mark_changed(session: AsyncSession, name: str) -> None:
    """Gives the data ``name`` a new token in ``session``'s transaction; once it commits,
    :func:`changes_here` counts it."""
    token = uuid.uuid4().hex
    changed = update(DataVersion).where(DataVersion.name == name).values(token=token)
    if await session.scalar(changed.returning(DataVersion.name)) is None:
        await session.execute(insert(DataVersion).values(name=name, token=token))
    key = (database_key(session), name)

    def committed(_session: Session) -> None:
        _committed[key] += 1

    event.listen(session.sync_session, "after_commit", committed, once=True)


async def read_token(session: AsyncSession, name: str) -> str | None:
    """The stored token of the data ``name`` (None: never marked)."""
    return await session.scalar(select(DataVersion.token).where(DataVersion.name == name))


def changes_here(database: str, name: str) -> int:
    """How many changes of the data ``name`` this process has committed to ``database``."""
    return _committed[(database, name)]
