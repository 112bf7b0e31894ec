"""The scheduler loop: claims due timers (``storage/timers.py``) and fans each out to the chats
it is for, as ``timer`` events in the inbox.

* A pass claims due timers under a lease, then fires each in its own transaction: the timer is
  marked done (only while the claim is still this scheduler's) and one inbox event is inserted
  per recipient chat, together. The event id is ``timer:<timer id>:<user id>``, and the inbox is
  unique per (channel, event id), so even two schedulers firing one timer give each chat one
  event; the engine then runs it in the chat's order (``bot/timers.py``) and its replies go out
  as notifications.
* Who a timer is for is decided when it fires (``register_recipients``); chats that blocked the
  bot are left out.
* Timers that message people wait out the quiet hours (``OCOP_QUIET_HOURS``, 21-7 Vietnam time
  by default): at night they are not claimed, so one due at 23:00 goes at 07:00.
* A scheduler that dies leaves its claims; the same one restarted (same ``owner``) puts them back
  at once, another takes them when the lease runs out. Work that fails is tried again later,
  then given up (the timer is ``failed``, its error kept).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine import inbox_row, insert_inbox
from bot.errors import describe_error, log_failure
from bot.timers import recipients_of
from bot.vocabulary import Event, EventKind
from storage.clock import SYSTEM_CLOCK, Clock, QuietHours
from storage.db import Database
from storage.models import ChannelIdentity, Timer
from storage.states import MESSAGING_TIMERS, TimerKind
from storage.timers import claim_due, finish, recover, release

__all__ = ["Scheduler", "timer_event_id"]

log = logging.getLogger(__name__)

TIMER_LEASE = timedelta(minutes=5)  # the most firing a pass's timers may take
RETRY_AFTER = timedelta(minutes=1)  # a failed timer waits this, doubled at each try (≤ 1 h)


def timer_event_id(timer_id: int, user_id: int) -> str:
    """The inbox event id of a timer for one user (unique: a timer reaches a chat once)."""
    return f"timer:{timer_id}:{user_id}"


class Scheduler:
    """Fires due timers; one per process (several may share a database)."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = SYSTEM_CLOCK,
        owner: str | None = None,
        quiet: QuietHours | None = None,
        interval: float = 30.0,
        batch: int = 100,
        lease: timedelta = TIMER_LEASE,
        on_events: Callable[[], None] | None = None,
    ) -> None:
        """``owner``: this process's name, the same after a restart (as the sender's);
        ``on_events`` is called when a pass put events in the inbox (wakes the engine)."""
        self.db = db
        self.clock = clock
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.quiet = quiet if quiet is not None else QuietHours()
        self.interval = interval
        self.batch = batch
        self.lease = lease
        self.on_events = on_events
        self._recovered = False

    async def run(self, stop: asyncio.Event) -> None:
        """Fire due timers every ``interval`` seconds until ``stop``."""
        log.info("scheduler started")
        while not stop.is_set():
            try:
                fired = await self.run_due()
            except Exception as exc:
                log_failure(log, "scheduler pass failed; trying again", exc=exc)
                fired = 0
            if fired >= self.batch:
                continue  # more may be due
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
        log.info("scheduler stopped")

    async def run_due(self) -> int:
        """One pass: claim what is due now and fire it; returns how many timers were claimed."""
        if not self._recovered:
            async with self.db.transaction() as session:
                put_back = await recover(session, self.owner)
            self._recovered = True
            if put_back:
                log.warning("%d timers were being fired when this scheduler stopped", put_back)
        now = self.clock.now()
        kinds = None
        if self.quiet.contains(now):
            kinds = [kind for kind in TimerKind if kind not in MESSAGING_TIMERS]
            if not kinds:
                return 0
        async with self.db.transaction() as session:
            claimed = await claim_due(
                session, now, self.owner, limit=self.batch, lease=self.lease, kinds=kinds
            )
        events = 0
        for timer in claimed:
            events += await self.fire(timer)
        if events and self.on_events is not None:
            self.on_events()
        return len(claimed)

    async def fire(self, timer: Timer) -> int:
        """Fan ``timer`` out to its recipients' chats and mark it done, in one transaction;
        returns how many inbox events were new. Nothing happens when the claim is no longer
        this scheduler's; work that fails is undone and the timer given back for later."""
        now = self.clock.now()
        try:
            async with self.db.transaction() as session:
                if not await finish(session, timer.id, self.owner, now):
                    log.info("timer %d was taken over or cancelled; not fired here", timer.id)
                    return 0
                events = await self._events(session, timer)
                return await insert_inbox(session, [inbox_row(e, now) for e in events])
        except Exception as exc:
            log_failure(log, "timer %d (%s) failed; undone", timer.id, timer.kind, exc=exc)
            wait = min(RETRY_AFTER * 2 ** max(timer.attempts - 1, 0), timedelta(hours=1))
            async with self.db.transaction() as session:
                await release(session, timer.id, self.owner, describe_error(exc), now + wait)
            return 0

    @staticmethod
    async def _events(session: AsyncSession, timer: Timer) -> list[Event]:
        """One ``timer`` event per chat of each recipient that has not blocked the bot."""
        recipients = recipients_of(timer.kind)
        if recipients is None:
            raise LookupError(f"no recipients registered for timers of kind {timer.kind!r}")
        users = set(await recipients(session, timer))
        if not users:
            return []
        chats = await session.scalars(
            select(ChannelIdentity)
            .where(ChannelIdentity.user_id.in_(users), ChannelIdentity.blocked_at.is_(None))
            .order_by(ChannelIdentity.id)
        )
        return [
            Event(
                channel=chat.channel,
                chat_id=chat.chat_id,
                user_id=chat.platform_user_id,
                event_id=timer_event_id(timer.id, chat.user_id),
                kind=EventKind.TIMER,
                timer_kind=timer.kind,
                timer_payload=dict(timer.payload),
            )
            for chat in chats
        ]
