"""Timers as rows (``storage/timers.py``) on each backend, and the quiet hours: scheduling is
idempotent by key, claims never overlap and run out with their lease, a finished or cancelled
timer is never fired again."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from storage.clock import QuietHours, local_time
from storage.db import Database
from storage.models import Timer
from storage.states import TimerKind, TimerStatus
from storage.timers import cancel, claim_due, finish, recover, release, reminder_time, schedule

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


async def timers(db: Database) -> dict[str, Timer]:
    async with db.sessions() as session:
        return {t.key: t for t in (await session.scalars(select(Timer))).all()}


@pytest.mark.parametrize(
    ("local_hour", "quiet", "daytime"),
    [
        ((20, 59), False, (0, 20, 59)),
        ((21, 0), True, (1, 7, 0)),
        ((23, 30), True, (1, 7, 0)),
        ((0, 0), True, (0, 7, 0)),
        ((6, 59), True, (0, 7, 0)),
        ((7, 0), False, (0, 7, 0)),
    ],
)
def test_quiet_hours_edges(
    local_hour: tuple[int, int], quiet: bool, daytime: tuple[int, int, int]
) -> None:
    day = date(2026, 6, 1)
    at = local_time(day, *local_hour)
    hours = QuietHours()
    assert hours.contains(at) is quiet
    days, hour, minute = daytime
    assert hours.next_daytime(at) == local_time(day + timedelta(days=days), hour, minute)


def test_quiet_hours_settings() -> None:
    assert QuietHours.parse("22-6") == QuietHours(22, 6)
    assert not QuietHours.parse("0-0").contains(local_time(date(2026, 6, 1), 3))
    assert QuietHours.parse("1-5").contains(local_time(date(2026, 6, 1), 4))
    assert not QuietHours.parse("1-5").contains(local_time(date(2026, 6, 1), 5))
    for wrong in ("21", "21-", "a-7", "25-7", "21-24"):
        with pytest.raises(ValueError):
            QuietHours.parse(wrong)
    assert reminder_time(date(2026, 6, 1)) == datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 08:00


async def test_scheduling_is_idempotent_by_key(database: Database) -> None:
    async with database.transaction() as session:
        await schedule(session, TimerKind.RERATING_OPENS, "a", NOW, {"n": 1})
        await schedule(session, TimerKind.RERATING_OPENS, "a", NOW + LEASE, {"n": 2})
        await schedule(session, TimerKind.RERATING_OPENS, "b", NOW, {"n": 1})
    found = await timers(database)
    assert len(found) == 2
    assert (found["a"].due_at, found["a"].payload) == (NOW + LEASE, {"n": 2})
    async with database.transaction() as session:
        [claimed] = await claim_due(session, NOW, "w1", lease=LEASE)
        assert claimed.key == "b" and claimed.attempts == 1
        assert await finish(session, claimed.id, "w1", NOW)
        await schedule(session, TimerKind.RERATING_OPENS, "b", NOW + LEASE, {"n": 3})
    found = await timers(database)
    assert found["b"].status == TimerStatus.DONE and found["b"].payload == {"n": 1}


async def test_a_cancelled_timer_is_revived_but_a_fired_one_is_not(database: Database) -> None:
    """A round's deadline moved back after its reminder was cancelled as past: scheduling
    the key again makes it wait again; a reminder that went (done) or is going (claimed) is
    never sent twice."""
    async with database.transaction() as session:
        for key in ("cancelled", "done", "claimed"):
            await schedule(session, TimerKind.DEADLINE_REMINDER, key, NOW, {"n": 1})
        assert await cancel(session, keys=["cancelled"]) == 1
        claimed = {t.key: t for t in await claim_due(session, NOW, "w1", lease=LEASE)}
        assert sorted(claimed) == ["claimed", "done"]
        assert await finish(session, claimed["done"].id, "w1", NOW)
    async with database.transaction() as session:
        for key in ("cancelled", "done", "claimed"):
            await schedule(session, TimerKind.DEADLINE_REMINDER, key, NOW + LEASE, {"n": 2})
    found = await timers(database)
    assert (found["cancelled"].status, found["cancelled"].due_at) == (
        TimerStatus.PENDING,
        NOW + LEASE,
    )
    assert (found["cancelled"].payload, found["cancelled"].attempts) == ({"n": 2}, 0)
    assert (found["done"].status, found["done"].payload) == (TimerStatus.DONE, {"n": 1})
    assert (found["claimed"].status, found["claimed"].payload) == (TimerStatus.CLAIMED, {"n": 1})
    async with database.transaction() as session:
        [again] = await claim_due(session, NOW + LEASE, "w2", lease=LEASE)
    assert again.key == "cancelled"


async def test_claims_run_out_and_are_taken_over(database: Database) -> None:
    async with database.transaction() as session:
        await schedule(session, TimerKind.DEADLINE_REMINDER, "round:1:deadline:7", NOW, {})
        await schedule(session, TimerKind.DEADLINE_REMINDER, "later", NOW + LEASE, {})
        [claimed] = await claim_due(session, NOW, "w1", lease=LEASE)
    async with database.transaction() as session:
        assert await claim_due(session, NOW + LEASE - timedelta(seconds=1), "w2") == []
    async with database.transaction() as session:
        taken = await claim_due(session, NOW + LEASE + timedelta(seconds=1), "w2")
    assert [t.key for t in taken] == ["round:1:deadline:7", "later"]
    async with database.transaction() as session:
        assert not await finish(session, claimed.id, "w1", NOW)  # no longer w1's
        assert await finish(session, claimed.id, "w2", NOW)
        assert await recover(session, "w2") == 1  # w2 restarted: "later" is put back
    found = await timers(database)
    assert found["later"].status == TimerStatus.PENDING


async def test_failures_wait_then_give_up(database: Database) -> None:
    async with database.transaction() as session:
        await schedule(session, TimerKind.RERATING_CLOSING, "x", NOW, {})
    at = NOW
    for attempt in range(1, 6):
        async with database.transaction() as session:
            [claimed] = await claim_due(session, at, "w", lease=LEASE)
            assert claimed.attempts == attempt
            assert await release(session, claimed.id, "w", "boom", at + LEASE)
        at += LEASE
    found = (await timers(database))["x"]
    assert (found.status, found.last_error) == (TimerStatus.FAILED, "boom")


async def test_cancel_by_key_and_prefix(database: Database) -> None:
    async with database.transaction() as session:
        for key in ("round:1:deadline:14", "round:1:deadline:7", "round:10:deadline:7", "c"):
            await schedule(session, TimerKind.DEADLINE_REMINDER, key, NOW, {})
        assert await cancel(session, prefix="round:1:") == 2
        assert await cancel(session, keys=["c"]) == 1
        assert await cancel(session) == 0
        [left] = await claim_due(session, NOW, "w")
    assert left.key == "round:10:deadline:7"


async def test_concurrent_claims_never_overlap(database: Database) -> None:
    """Eight claimers at once (PostgreSQL: side by side, SKIP LOCKED) share 200 due timers."""
    async with database.transaction() as session:
        for n in range(200):
            await schedule(session, TimerKind.RERATING_OPENS, f"t{n}", NOW, {})

    async def claimer(name: str) -> list[int]:
        got: list[int] = []
        while True:
            async with database.transaction() as session:
                batch = await claim_due(session, NOW, name, limit=7)
            if not batch:
                return got
            got += [t.id for t in batch]

    results = await asyncio.gather(*(claimer(f"w{n}") for n in range(8)))
    every = [timer_id for result in results for timer_id in result]
    assert len(every) == len(set(every)) == 200
