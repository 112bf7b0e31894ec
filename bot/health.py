"""What ``/healthz``, ``serve`` and the terminal chat say about the state of the data.

The bot works without a commune list, but then every commune a producer types is saved
unchecked: that is said loudly (a warning at start, in ``/healthz``), with the command to fix it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from storage.areas import area_counts
from storage.db import Database

__all__ = ["NO_COMMUNES", "data_warnings", "health_report"]

NO_COMMUNES = (
    "no commune list loaded: communes typed by producers cannot be checked; "
    "run `ocop-bot areas import FILE` (see README, Administrative areas)"
)


async def data_warnings(db: Database) -> tuple[int, list[str]]:
    """The number of communes loaded, and what an operator should be warned about."""
    async with db.sessions() as session:
        counts = await area_counts(session)
    return counts.communes, [] if counts.communes else [NO_COMMUNES]


async def health_report(db: Database) -> tuple[int, dict[str, Any]]:
    """HTTP status and body of ``/healthz``: 200 while the database answers, with warnings."""
    if not await db.ping():
        return 503, {"status": "database unreachable"}
    try:
        communes, warnings = await data_warnings(db)
    except SQLAlchemyError:
        unreadable = "the areas cannot be read: run `ocop-bot migrate`"
        return 200, {"status": "ok", "warnings": [unreadable]}
    return 200, {"status": "ok", "communes": communes, "warnings": warnings}
