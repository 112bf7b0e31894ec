"""The send pace of a channel, shared by every sender process of one bot.

A platform limits how fast one bot token may send (Telegram: about 30 messages a second), not
how fast one of our processes may. So the pace lives in the database: per channel, the next free
send slot (``send_pace.next_slot_at``) and a pause the platform asked for (a 429's
``retry_after``, ``paused_until``). A sender reserves slots in the transaction that claims its
messages (:func:`reserve`: the row is locked on PostgreSQL; SQLite has one writer), one
``interval`` apart, and sends each message no earlier than its slot. Two processes thus share
one pace, and sends never bunch: any second holds at most ``1 / interval`` slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SendPace

__all__ = ["Reservation", "pause", "reserve"]


class Reservation:
    """The slots given (one per request, for the first requests only) and the next free slot
    after them (when a sender refused for now may ask again, less its horizon)."""

    def __init__(self, slots: list[datetime], next_free: datetime) -> None:
        self.slots = slots
        self.next_free = next_free


async def _locked(session: AsyncSession, channel: str, now: datetime) -> SendPace:
    """The channel's pace row, locked for this transaction (made when missing)."""
    statement = select(SendPace).where(SendPace.channel == channel).with_for_update()
    row = await session.scalar(statement.execution_options(populate_existing=True))
    if row is not None:
        return row
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    await session.execute(
        insert(SendPace)
        .values(channel=channel, next_slot_at=now, paused_until=None)
        .on_conflict_do_nothing(index_elements=["channel"])
    )
    return await session.scalar(statement.execution_options(populate_existing=True))  # type: ignore[return-value]


async def reserve(
    session: AsyncSession,
    channel: str,
    latest: Sequence[datetime],
    *,
    now: datetime,
    interval: timedelta,
) -> Reservation:
    """Send slots for requests in order, ``interval`` apart, from the first free one (never
    before ``now`` nor during a pause): request *i* gets one only if it falls at or before
    ``latest[i]`` and every earlier request got one. Moves the channel's next free slot past
    them, in the caller's transaction. An ``interval`` of zero means no limit (every request
    gets ``now``, unless the channel is paused)."""
    row = await _locked(session, channel, now)
    start = max(now, row.next_slot_at, row.paused_until or now)
    slots: list[datetime] = []
    slot = start
    for limit in latest:
        if slot > limit:
            break
        slots.append(slot)
        slot += interval
    if slots and interval > timedelta(0):
        row.next_slot_at = slot
        await session.flush()
    return Reservation(slots, slot)


async def pause(session: AsyncSession, channel: str, until: datetime) -> None:
    """The platform asked us to wait: no slot of ``channel`` before ``until`` (a later pause
    already recorded is kept)."""
    row = await _locked(session, channel, until)
    if row.paused_until is None or row.paused_until < until:
        await session.execute(
            update(SendPace).where(SendPace.channel == channel).values(paused_until=until)
        )
