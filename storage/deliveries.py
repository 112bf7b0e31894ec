"""Announcement deliveries on their way: into the outbox in windows, outcomes written back.

An announcement being sent has one ``deliveries`` row per recipient chat
(:func:`storage.announcements.materialize_deliveries`). They go to the outbox a window at a time
(:func:`take_waiting` moves the next ones from ``waiting`` to ``queued`` in the transaction
that queues their messages, with :func:`attach_outbox`), so the outbox never holds a whole
broadcast and a cancelled one stops within a window. The sender writes each message's outcome
back in the transaction that records it (:func:`settle`); :func:`finish_announcements` marks an
announcement ``done`` once none of its deliveries is open. Every step is a conditional update,
so two processes doing it at once change each row once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Announcement, Delivery, OutboxMessage, User
from storage.states import (
    DELIVERY_OPEN,
    AnnouncementStatus,
    DeliveryReason,
    DeliveryStatus,
    OutboxStatus,
)

__all__ = [
    "Settled",
    "ToQueue",
    "attach_outbox",
    "due_announcements",
    "expire_waiting",
    "finish_announcements",
    "queued_count",
    "sending_announcements",
    "settle",
    "take_waiting",
    "withdraw",
]

DELIVERIES: Table = Delivery.__table__  # type: ignore[assignment]  # plain table updates


@dataclass(frozen=True)
class Settled:
    """The outcome of one announcement message (``outbox_id``) for its delivery."""

    outbox_id: int
    status: DeliveryStatus
    reason: DeliveryReason | None = None


async def settle(session: AsyncSession, settled: Sequence[Settled], now: datetime) -> int:
    """Writes outcomes to the deliveries still ``queued`` for these messages (one statement);
    returns how many changed."""
    if not settled:
        return 0
    result = await session.execute(
        update(DELIVERIES)
        .where(
            DELIVERIES.c.outbox_id == bindparam("row_id"),
            DELIVERIES.c.status == DeliveryStatus.QUEUED,
        )
        .values(
            status=bindparam("new_status"),
            reason=bindparam("new_reason"),
            sent_at=bindparam("new_sent_at"),
        ),
        [
            {
                "row_id": s.outbox_id,
                "new_status": str(s.status),
                "new_reason": str(s.reason) if s.reason else None,
                "new_sent_at": now if s.status == DeliveryStatus.SENT else None,
            }
            for s in settled
        ],
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def due_announcements(session: AsyncSession, now: datetime) -> list[int]:
    """Announcements whose deliveries are to be made: scheduled for now or earlier, or being
    sent with their recipients not all made yet (a run that stopped half-way)."""
    rows = await session.scalars(
        select(Announcement.id)
        .where(
            or_(
                and_(
                    Announcement.status == AnnouncementStatus.SCHEDULED,
                    Announcement.scheduled_at <= now,
                ),
                and_(
                    Announcement.status == AnnouncementStatus.SENDING,
                    Announcement.materialized_at.is_(None),
                ),
            )
        )
        .order_by(Announcement.scheduled_at, Announcement.id)
    )
    return list(rows.all())


@dataclass(frozen=True)
class ToQueue:
    """A delivery just taken from ``waiting``: what its message needs."""

    delivery_id: int
    announcement_id: int
    user_id: int
    channel: str
    chat_id: str
    locale: str | None


async def take_waiting(session: AsyncSession, limit: int) -> list[ToQueue]:
    """Moves up to ``limit`` waiting deliveries of announcements being sent (the earliest
    announcement first, then by delivery) to ``queued`` and returns them. On PostgreSQL the
    rows are locked skipping those another process is taking; the update's condition makes
    each delivery taken once in any case."""
    if limit <= 0:
        return []
    chosen = (
        select(Delivery.id)
        .join(Announcement, Announcement.id == Delivery.announcement_id)
        .where(
            Announcement.status == AnnouncementStatus.SENDING,
            Delivery.status == DeliveryStatus.WAITING,
        )
        .order_by(Announcement.scheduled_at, Announcement.id, Delivery.id)
        .limit(limit)
        .with_for_update(of=Delivery, skip_locked=True)
    )
    ids = list((await session.scalars(chosen)).all())
    if not ids:
        return []
    taken = (
        await session.scalars(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.WAITING)
            .values(status=DeliveryStatus.QUEUED)
            .returning(Delivery.id)
        )
    ).all()
    if not taken:
        return []
    rows = await session.execute(
        select(
            Delivery.id,
            Delivery.announcement_id,
            Delivery.user_id,
            Delivery.channel,
            Delivery.chat_id,
            User.locale,
        )
        .join(User, User.id == Delivery.user_id)
        .where(Delivery.id.in_(list(taken)))
        .order_by(Delivery.id)
    )
    return [ToQueue(*row) for row in rows.all()]


async def attach_outbox(session: AsyncSession, pairs: Sequence[tuple[int, int]]) -> None:
    """Records each delivery's outbox message (``(delivery_id, outbox_id)`` pairs)."""
    if pairs:
        await session.execute(
            update(DELIVERIES)
            .where(DELIVERIES.c.id == bindparam("delivery"))
            .values(outbox_id=bindparam("outbox")),
            [{"delivery": d, "outbox": o} for d, o in pairs],
        )


async def sending_announcements(session: AsyncSession) -> list[tuple[int, datetime | None]]:
    """The announcements being sent, with their expiry."""
    rows = await session.execute(
        select(Announcement.id, Announcement.expires_at).where(
            Announcement.status == AnnouncementStatus.SENDING
        )
    )
    return [(int(i), expires) for i, expires in rows.all()]


async def queued_count(session: AsyncSession) -> int:
    """Deliveries in the outbox and not yet settled, of the announcements being sent."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .join(Announcement, Announcement.id == Delivery.announcement_id)
            .where(
                Announcement.status == AnnouncementStatus.SENDING,
                Delivery.status == DeliveryStatus.QUEUED,
            )
        )
        or 0
    )


async def expire_waiting(session: AsyncSession, now: datetime) -> int:
    """Deliveries still waiting when their announcement's expiry has passed become
    ``too_old`` (not sent); returns how many."""
    expired = select(Announcement.id).where(
        Announcement.status == AnnouncementStatus.SENDING, Announcement.expires_at < now
    )
    result = await session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.WAITING, Delivery.announcement_id.in_(expired))
        .values(status=DeliveryStatus.TOO_OLD)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def finish_announcements(session: AsyncSession, now: datetime) -> list[int]:
    """Announcements being sent whose recipients are all made and none of whose deliveries
    is still open become ``done``; returns their ids."""
    open_left = exists().where(
        Delivery.announcement_id == Announcement.id, Delivery.status.in_(DELIVERY_OPEN)
    )
    done = await session.scalars(
        update(Announcement)
        .where(
            Announcement.status == AnnouncementStatus.SENDING,
            Announcement.materialized_at.is_not(None),
            ~open_left,
        )
        .values(status=AnnouncementStatus.DONE, updated_at=now)
        .returning(Announcement.id)
    )
    return list(done.all())


async def withdraw(session: AsyncSession, announcement_id: int) -> dict[str, Any]:
    """A cancelled announcement's messages that have not gone: those waiting in the outbox
    are withdrawn (``cancelled``; one a sender is sending right now still goes), and every
    delivery not yet settled but those being sent is ``cancelled``. Returns the counts."""
    queued = select(Delivery.outbox_id).where(
        Delivery.announcement_id == announcement_id,
        Delivery.status == DeliveryStatus.QUEUED,
        Delivery.outbox_id.is_not(None),
    )
    outbox = await session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(queued), OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED, failure_reason="announcement cancelled")
        .returning(OutboxMessage.id)
    )
    withdrawn = list(outbox.all())
    deliveries = await session.execute(
        update(Delivery)
        .where(
            Delivery.announcement_id == announcement_id,
            or_(
                Delivery.status == DeliveryStatus.WAITING,
                and_(
                    Delivery.status == DeliveryStatus.QUEUED,
                    or_(Delivery.outbox_id.is_(None), Delivery.outbox_id.in_(withdrawn or [0])),
                ),
            ),
        )
        .values(status=DeliveryStatus.CANCELLED)
    )
    return {
        "messages_withdrawn": len(withdrawn),
        "deliveries_cancelled": int(getattr(deliveries, "rowcount", 0) or 0),
    }
