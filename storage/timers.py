"""Timed work as database rows: reminders and anything else that falls due at a time.

A timer is scheduled under a ``key`` that names what it is for, so scheduling the same thing
again moves the one row (while it still waits) instead of adding a second. A scheduler claims
due timers under a lease (:func:`claim_due`: on PostgreSQL the rows are locked with ``SKIP
LOCKED``, so two schedulers never take the same one; SQLite has one writer), does the work and
marks the timer done in the same transaction (:func:`finish`, which succeeds only while the
claim is still its own). A scheduler that dies leaves its claim: it runs out with the lease and
another takes it (:func:`claim_due`), or the same scheduler, restarted, puts it back at once
(:func:`recover`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import local_time
from storage.models import Timer
from storage.states import TimerKind, TimerStatus

__all__ = [
    "MAX_TIMER_ATTEMPTS",
    "REMINDER_HOUR",
    "cancel",
    "claim_due",
    "finish",
    "recover",
    "release",
    "reminder_time",
    "schedule",
]

REMINDER_HOUR = 8  # reminders go out at 08:00 on their day, Vietnam time
MAX_TIMER_ATTEMPTS = 5  # a timer whose work fails this many times is given up (failed)


def reminder_time(day: date) -> datetime:
    """When a reminder for ``day`` falls due: 08:00 that day in Vietnam (in UTC)."""
    return local_time(day, REMINDER_HOUR)


async def schedule(
    session: AsyncSession,
    kind: TimerKind,
    key: str,
    due_at: datetime,
    payload: dict[str, Any] | None = None,
) -> None:
    """Schedule ``kind`` at ``due_at`` under ``key``; a timer with that key that still waits
    (or was cancelled) is moved to the new time and payload and waits again; one that was
    claimed or done is left (it fired, or is firing)."""
    values = {
        "kind": kind,
        "key": key,
        "due_at": due_at,
        "payload": payload or {},
        "status": TimerStatus.PENDING,
        "attempts": 0,
    }
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    stmt = insert(Timer).values(values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={"kind": stmt.excluded.kind, "due_at": stmt.excluded.due_at,
                  "payload": stmt.excluded.payload, "status": TimerStatus.PENDING,
                  "attempts": 0},
            where=Timer.status.in_((TimerStatus.PENDING, TimerStatus.CANCELLED)),
        )
    )  # fmt: skip


async def cancel(
    session: AsyncSession, *, keys: Sequence[str] = (), prefix: str | None = None
) -> int:
    """Cancel the waiting timers with these ``keys``, or whose key starts with ``prefix``;
    returns how many. A timer being fired right now is not stopped (its scheduler's
    :func:`finish` then fails, and its work is undone with it)."""
    conditions = []
    if keys:
        conditions.append(Timer.key.in_(list(keys)))
    if prefix:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Timer.key.like(f"{escaped}%", escape="\\"))
    if not conditions:
        return 0
    result = await session.execute(
        update(Timer)
        .where(or_(*conditions), Timer.status.in_((TimerStatus.PENDING, TimerStatus.CLAIMED)))
        .values(status=TimerStatus.CANCELLED, lease_until=None)
        .returning(Timer.id)
    )
    return len(result.scalars().all())


async def claim_due(
    session: AsyncSession,
    now: datetime,
    owner: str,
    *,
    limit: int = 100,
    lease: timedelta = timedelta(minutes=5),
    kinds: Collection[str] | None = None,
) -> list[Timer]:
    """Claim up to ``limit`` timers due at ``now`` (and those whose claim ran out: their
    scheduler died) for ``owner`` until ``now + lease``; earliest first. Only ``kinds``, when
    given. Rows another scheduler is claiming at this moment are skipped (PostgreSQL)."""
    due = or_(
        and_(Timer.status == TimerStatus.PENDING, Timer.due_at <= now),
        and_(Timer.status == TimerStatus.CLAIMED, Timer.lease_until < now),
    )
    query = select(Timer.id).where(due).order_by(Timer.due_at, Timer.id).limit(limit)
    if kinds is not None:
        query = query.where(Timer.kind.in_(list(kinds)))
    ids = list((await session.scalars(query.with_for_update(skip_locked=True))).all())
    if not ids:
        return []
    claimed = await session.scalars(
        update(Timer)
        .where(Timer.id.in_(ids), due)
        .values(
            status=TimerStatus.CLAIMED,
            claimed_by=owner,
            lease_until=now + lease,
            attempts=Timer.attempts + 1,
        )
        .returning(Timer)
    )
    return sorted(claimed.all(), key=lambda timer: (timer.due_at, timer.id))


async def finish(session: AsyncSession, timer_id: int, owner: str, now: datetime) -> bool:
    """Mark the timer done, in the transaction that does its work; False (and the caller
    rolls its work back) when the claim is no longer ``owner``'s: it ran out and another
    scheduler took the timer, or it was cancelled."""
    result = await session.execute(
        update(Timer)
        .where(
            Timer.id == timer_id,
            Timer.status == TimerStatus.CLAIMED,
            Timer.claimed_by == owner,
        )
        .values(status=TimerStatus.DONE, done_at=now, lease_until=None, last_error=None)
        .returning(Timer.id)
    )
    return result.scalar_one_or_none() is not None


async def release(
    session: AsyncSession, timer_id: int, owner: str, error: str, retry_at: datetime
) -> bool:
    """Give back a claimed timer whose work failed: it waits until ``retry_at``, or is given
    up (failed) after :data:`MAX_TIMER_ATTEMPTS` tries. False when the claim is not ours."""
    timer = await session.get(Timer, timer_id, with_for_update=True)
    if timer is None or timer.status != TimerStatus.CLAIMED or timer.claimed_by != owner:
        return False
    timer.last_error = error[:2000]
    timer.lease_until = None
    if timer.attempts >= MAX_TIMER_ATTEMPTS:
        timer.status = TimerStatus.FAILED
    else:
        timer.status = TimerStatus.PENDING
        timer.due_at = retry_at
    return True


async def recover(session: AsyncSession, owner: str) -> int:
    """Put back the timers an earlier run of ``owner`` claimed and never finished (it
    stopped), so they fire now rather than when the lease runs out; returns how many."""
    result = await session.execute(
        update(Timer)
        .where(Timer.status == TimerStatus.CLAIMED, Timer.claimed_by == owner)
        .values(status=TimerStatus.PENDING, lease_until=None)
        .returning(Timer.id)
    )
    return len(result.scalars().all())
