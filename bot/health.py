"""What ``/healthz``, ``serve`` and the terminal chat say about the state of the data.

The bot works without a commune list, but then every commune a producer types is saved
unchecked: that is said loudly (a warning at start, in ``/healthz``), with the command to fix it.
So is a Zalo OA whose refresh token Zalo refused (``zalo_token: "failed since …"``): nothing
reaches Zalo users until someone sets a new one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from storage.areas import area_counts
from storage.db import Database
from storage.models import InboxEvent
from storage.states import InboxStatus
from storage.zalo_tokens import statuses

__all__ = ["NO_COMMUNES", "data_warnings", "health_report", "parked_updates", "zalo_token"]

NO_COMMUNES = (
    "no commune list loaded: communes typed by producers cannot be checked; "
    "run `ocop-bot areas import FILE` (see README, Administrative areas)"
)

ZALO_TOKEN_FAILED = (
    "Zalo refused the OA's refresh token: nothing reaches Zalo users until a new one is set "
    "with `ocop-bot zalo set-refresh-token` (README, Zalo OA tokens)"
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


async def zalo_token(db: Database) -> str | None:
    """``"ok"``, or ``"failed since <time>"`` when Zalo refused the OA's refresh token; None
    when no Zalo OA was ever set up."""
    async with db.sessions() as session:
        known = await statuses(session)
    failed = sorted(s.failed_at for s in known if s.failed_at is not None)
    if failed:
        return f"failed since {failed[0].isoformat()}"
    return "ok" if known else None


async def health_report(db: Database) -> tuple[int, dict[str, Any]]:
    """HTTP status and body of ``/healthz``: 200 while the database answers, with warnings."""
    if not await db.ping():
        return 503, {"status": "database unreachable"}
    try:
        communes, warnings = await data_warnings(db)
        parked = await parked_updates(db)
        zalo = await zalo_token(db)
    except SQLAlchemyError:
        unreadable = "the database cannot be read: run `ocop-bot migrate`"
        return 200, {"status": "ok", "warnings": [unreadable]}
    body: dict[str, Any] = {"status": "ok", "communes": communes, "parked_updates": parked}
    if zalo is not None:
        body["zalo_token"] = zalo
        if zalo != "ok":
            warnings = [*warnings, ZALO_TOKEN_FAILED]
    body["warnings"] = warnings
    return 200, body
