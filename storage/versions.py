"""Optimistic versions: a change names the row's version it was made on, and moves the row to
the next version in one conditional UPDATE. Of two transactions changing the same version, the
second (PostgreSQL waits for the first's row lock, SQLite serialises writers) finds no row, and
its caller tells the person that someone changed it first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["claim_version"]


async def claim_version(
    session: AsyncSession,
    model: Any,
    row_id: int,
    expected: int,
    *conditions: ColumnElement[bool],
    **changes: Any,
) -> bool:
    """Moves the row ``row_id`` of ``model`` from version ``expected`` to the next (with
    ``changes``, and only where ``conditions`` hold too); whether it did."""
    result = await session.execute(
        update(model)
        .where(model.id == row_id, model.version == expected, *conditions)
        .values(version=model.version + 1, **changes)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1
