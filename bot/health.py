"""What ``/healthz``, ``serve`` and the terminal chat say about the state of the data.

The bot works without a commune list, but then every commune a producer types is saved
unchecked: that is said loudly (a warning at start, in ``/healthz``), with the command to fix it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from storage.areas import area_counts
from storage.db import Database
from storage.models import InboxEvent
from storage.states import InboxStatus

__all__ = ["NO_COMMUNES", "data_warnings", "health_report", "parked_updates"]

NO_COMMUNES = (
    "no commune list loaded: communes typed by producers cannot be checked; "
    "run `ocop-bot areas import FILE` (see README, Administrative areas)"
)


async def data_warnings(db: Database) -> tuple[int, list[str]]:
    """The number of communes loaded, and what an operator should be warned about."""
    async with db.sessions() as session:
        counts = await area_counts(session)
    return counts.communes, [] if counts.communes else [NO_COMMUNES]


async def parked_updates(db: Database) -> int:
    """How many inbound updates a channel could not read (kept for an operator)."""
    async with db.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(InboxEvent)
            .where(InboxEvent.status == InboxStatus.PARKED)
        )
    return int(count or 0)


async def health_report(db: Database) -> tuple[int, dict[str, Any]]:
    """HTTP status and body of ``/healthz``: 200 while the database answers, with warnings."""
    if not await db.ping():
        return 503, {"status": "database unreachable"}
    try:
        communes, warnings = await data_warnings(db)
        parked = await parked_updates(db)
    except SQLAlchemyError:
        unreadable = "the database cannot be read: run `ocop-bot migrate`"
        return 200, {"status": "ok", "warnings": [unreadable]}
    body = {"status": "ok", "communes": communes, "parked_updates": parked, "warnings": warnings}
    return 200, body
