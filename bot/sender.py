"""The sender: delivers outbox messages at least once, in order per chat, within rate limits.

* A pass takes, per chat, the earliest waiting message and the due ones right behind it, and
  sends them one after another: one chat never has two messages in flight, and nothing goes
  past a message that cannot go now (guarantee 5).
* Only the head of a chat's waiting messages is ever claimed, with the ones right behind it:
  the claim takes a row only when every earlier waiting row of its chat is taken with it (on
  PostgreSQL after locking the rows, skipping those another sender is claiming right now), so
  two senders never split a chat's messages between them.
* A message is claimed with a lease (a little longer than the send timeout, which bounds a
  pass's sending) and the name of this process (``owner``). If the process dies mid-send, the
  same process restarted puts its old claims back at once; another process takes them when the
  lease runs out. A duplicate is possible only for a send that succeeded just before the crash
  (or ran past the timeout).
* Replies to live conversations are limited per chat only; bulk kinds (notifications,
  reminders, broadcasts) share an overall limit too, and go after replies (priority).
* 429 → wait ``retry_after`` (the whole channel pauses); 403 → the user is marked blocked and
  their waiting messages are dropped; network errors → exponential back-off, then give up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Exists,
    Table,
    and_,
    bindparam,
    exists,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.channels.base import (
    ChannelAdapter,
    OutsideWindow,
    Rejected,
    RetryLater,
    TransientError,
    Unreachable,
    in_window,
)
from bot.ratelimit import PerKeyBuckets, SlidingWindow, SlotPool
from bot.vocabulary import Reply
from storage.clock import SYSTEM_CLOCK, Clock
from storage.db import Database
from storage.deliveries import Settled, settle
from storage.models import ChannelIdentity, OutboxMessage
from storage.outbox import forget_secrets
from storage.pace import pause, reserve
from storage.states import (
    OUTBOX_WAITING,
    DeliveryReason,
    DeliveryStatus,
    OutboxKind,
    OutboxStatus,
)

__all__ = ["LEASE_MARGIN", "Sender"]

log = logging.getLogger(__name__)

LEASE_MARGIN = timedelta(seconds=5)  # the lease beyond the send timeout: claim and record
MAX_RUN = 5  # messages of one chat sent in one pass, one after the other
REPLY_HORIZON = 2.0  # seconds ahead a live reply may book its send slot
BULK_HORIZON = 0.5  # … and anything else: a broadcast never books far ahead of a live reply
PIPELINE_LEAD = 0.2  # the next pass is claimed this long before the last slot of the previous
MAX_PASSES = 8  # passes of one process sending at once
# The platform counts a bot's sends over any second as they arrive, and a few milliseconds of
# network jitter bunch them: paced exactly at the limit, sends draw 429s (bench/README.md,
# broadcast). 3% under it absorbs 25 ms of jitter at 200 messages/s.
PACE_MARGIN = 0.97
RECORD_EVERY = 0.1  # seconds between writes of a pass's outcomes while it sends
OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]  # plain table updates


@dataclass(frozen=True)
class Pass:
    """Claimed messages: per chat, a run in order; each message's send slot; and the
    monotonic time after which no send starts (the send timeout)."""

    runs: list[list[OutboxMessage]]
    slots: dict[int, datetime]
    deadline: float

    @property
    def last_slot(self) -> datetime:
        return max(self.slots.values())


@dataclass(frozen=True)
class Outcome:
    """What became of one send: its new status and the details to record."""

    status: OutboxStatus  # pending: try again later
    reason: str | None = None
    message_id: str = ""
    delay: float = 0.0
    counts: bool = True  # whether it counts as an attempt (a 429 does not)
    attempted: bool = True  # False: not tried in this pass (an earlier one of its chat failed)
    delivery_reason: DeliveryReason | None = None  # why an announcement's copy did not go
    paused_for: float = 0.0  # the platform asked the whole channel to wait this long (429)

    def settled(self, outbox_id: int) -> Settled | None:
        """What this outcome makes of an announcement's delivery (None: not settled yet)."""
        status = SETTLES.get(self.status)
        if status is None:
            return None
        reason = self.delivery_reason
        if status == DeliveryStatus.FAILED and reason is None:
            reason = DeliveryReason.REFUSED
        return Settled(outbox_id, status, reason)


# A message to a user whose reply window is closed (Zalo OA): failed, never retried.
OUTSIDE_WINDOW = Outcome(
    OutboxStatus.FAILED,
    reason="outside the reply window: the user has not written recently",
    delivery_reason=DeliveryReason.OUTSIDE_WINDOW,
)

# An outbox outcome → its announcement delivery's.
SETTLES = {
    OutboxStatus.SENT: DeliveryStatus.SENT,
    OutboxStatus.UNREACHABLE: DeliveryStatus.FAILED,
    OutboxStatus.FAILED: DeliveryStatus.FAILED,
    OutboxStatus.EXPIRED: DeliveryStatus.TOO_OLD,
}


def _claimable(now: Any, row: Any = OutboxMessage) -> ColumnElement[bool]:
    """Waiting to go, or claimed by a sender whose lease ran out (it died mid-send).

    ``row`` is the outbox entity or an alias of it."""
    return or_(
        row.status == OutboxStatus.PENDING,
        and_(row.status == OutboxStatus.SENDING, row.lease_until < now),
    )


def _horizon(row: OutboxMessage) -> timedelta:
    """How far ahead of now a message may book its send slot."""
    return timedelta(seconds=REPLY_HORIZON if row.kind == OutboxKind.REPLY else BULK_HORIZON)


def _earlier_waiting(*also: Callable[[Any], ColumnElement[bool]]) -> Exists:
    """An earlier message of the same chat is still waiting (and each of ``also``, given that
    earlier row, holds)."""
    earlier = aliased(OutboxMessage)
    return exists().where(
        earlier.channel == OutboxMessage.channel,
        earlier.chat_id == OutboxMessage.chat_id,
        earlier.id < OutboxMessage.id,
        earlier.status.in_(OUTBOX_WAITING),
        *[condition(earlier) for condition in also],
    )


# The statements of every pass, built once (bound at each execution: "now", "batch", "locked").
_NOW: BindParameter[datetime] = bindparam("now")
_LOCKED: BindParameter[list[int]] = bindparam("locked", expanding=True)
# Per chat, its earliest waiting message if it may go now.
HEADS = (
    select(OutboxMessage)
    .where(_claimable(_NOW), OutboxMessage.next_attempt_at <= _NOW, ~_earlier_waiting())
    .order_by(OutboxMessage.priority, OutboxMessage.id)
    .limit(bindparam("batch"))
)
# Of the rows this claim holds, those still claimable with no earlier waiting row of their chat
# outside the claim.
TAKEN = select(OutboxMessage.id).where(
    OutboxMessage.id.in_(_LOCKED),
    _claimable(_NOW),
    ~_earlier_waiting(lambda earlier: ~and_(earlier.id.in_(_LOCKED), _claimable(_NOW, earlier))),
)


class Sender:
    """Sends due outbox messages through their channel adapters."""

    def __init__(
        self,
        db: Database,
        channels: Mapping[str, ChannelAdapter],
        *,
        global_rate: float = 30.0,
        per_chat_rate: float = 1.0,
        per_chat_burst: int = 3,
        max_attempts: int = 8,
        poll_interval: float = 0.5,
        batch: int = 200,
        send_timeout: float = 20.0,
        owner: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        on_settled: Callable[[], None] | None = None,
    ) -> None:
        """``global_rate``: the platform's limit, in messages a second per channel (bot token);
        every sender process together keeps :data:`PACE_MARGIN` of it, through the database
        (:mod:`storage.pace`; 0: no limit). ``send_timeout``: the
        most one pass spends sending (a send still running then is given up as a network
        error); the lease is that, the time a message may wait for its slot, and
        :data:`LEASE_MARGIN`. ``owner``: this process's name, the same after a restart and
        different from every other live sender's; without one the sender recovers nothing at
        start. ``on_settled``: called when announcement deliveries got their outcome."""
        self.db = db
        self.channels = channels
        self.max_attempts = max_attempts
        self.poll_interval = poll_interval
        self.batch = batch
        self.send_timeout = send_timeout
        self.lease = timedelta(seconds=send_timeout + REPLY_HORIZON) + LEASE_MARGIN
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.clock = clock
        self.global_rate = global_rate
        self._pools: dict[str, SlotPool] = {}  # per channel: this process's booked slots
        self.on_settled = on_settled
        self._per_chat = PerKeyBuckets(SlidingWindow, per_chat_rate, per_chat_burst, clock=clock)
        self._paused_until: dict[str, float] = {}
        self._next_free: datetime | None = None  # a pass refused slots: the next free one
        self._wake = asyncio.Event()
        self._recovered = False

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Claims and sends until ``stop``. A pass's sends wait for their slots in the
        background, and the next pass is claimed as the last of them comes near, so the pace
        has no gaps between passes; a reply queued meanwhile (:meth:`wake`) is claimed at once."""
        log.info("sender started")
        passes: set[asyncio.Task[int]] = set()
        while not stop.is_set():
            self._wake.clear()
            wait = self.poll_interval
            try:
                claimed = await self.claim()
            except Exception:
                log.exception("sender pass failed; trying again in %.1f s", self.poll_interval)
                claimed = None
            if claimed is not None:
                task = asyncio.create_task(self._deliver_logged(claimed))
                passes.add(task)
                task.add_done_callback(passes.discard)
                # Let the pass start sending before the next claim: on SQLite a claim runs on
                # the loop's thread without a pause, and a reply waiting behind it is late.
                await asyncio.sleep(0)
                if len(passes) >= MAX_PASSES:  # until one ends, or a live reply comes
                    woken = asyncio.create_task(self._wake.wait())
                    await asyncio.wait([*passes, woken], return_when=asyncio.FIRST_COMPLETED)
                    woken.cancel()
                    continue
                wait = self._seconds_until(claimed.last_slot) - PIPELINE_LEAD
                if wait <= 0:
                    continue
            elif self._next_free is not None:
                wait = max(0.01, self._seconds_until(self._next_free) - BULK_HORIZON)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(wait, self.poll_interval))
        if passes:
            await asyncio.gather(*passes, return_exceptions=True)
        log.info("sender stopped")

    def _seconds_until(self, when: datetime) -> float:
        return (when - self.clock.now()).total_seconds()

    def _monotonic(self, when: datetime) -> float:
        return self.clock.monotonic() + self._seconds_until(when)

    def pace(self, channel: str) -> float:
        """The messages a second every process together sends on ``channel``: its platform's
        limit (the channel's own, else the setting) less :data:`PACE_MARGIN`."""
        adapter = self.channels.get(channel)
        rate = adapter.capabilities.send_rate if adapter is not None else None
        return (self.global_rate if rate is None else rate) * PACE_MARGIN

    def _interval(self, channel: str) -> timedelta:
        pace = self.pace(channel)
        return timedelta(seconds=1 / pace) if pace > 0 else timedelta(0)

    def _pool(self, channel: str) -> SlotPool:
        pool = self._pools.get(channel)
        if pool is None:
            pool = self._pools[channel] = SlotPool(self.pace(channel), self.clock)
        return pool

    async def _deliver_logged(self, claimed: Pass) -> int:
        try:
            return await self.deliver(claimed)
        except Exception:
            log.exception("sending a pass failed; its messages go again when their lease ends")
            return 0

    async def send_due(self) -> int:
        """One pass: claim what is due and allowed now, send it (each message at its slot),
        record the outcomes; returns how many sends were tried."""
        claimed = await self.claim()
        return await self.deliver(claimed) if claimed is not None else 0

    async def claim(self) -> Pass | None:
        """Claims a pass: per chat the messages that may go, each with its send slot, in one
        transaction (None: nothing may go now). The first claim puts back what an earlier run
        of this process left claimed."""
        if not self._recovered:
            await self.recover()
        runs = self._within_limits(await self._eligible())
        slots = await self._claim([row for run in runs for row in run])
        if not slots:
            return None
        # Rows not taken were sent meanwhile, are held by another sender (then with all the
        # rows behind them) or got no slot: what is left of each run is what may go.
        runs = [[row for row in run if row.id in slots] for run in runs]
        for run in runs:  # the slots are this process's once the claim is committed
            if run:
                self._pool(run[0].channel).add([self._monotonic(slots[row.id]) for row in run])
        deadline = self.clock.monotonic() + self.send_timeout
        return Pass([run for run in runs if run], slots, deadline)

    async def deliver(self, claimed: Pass) -> int:
        """Sends a claimed pass (each chat's messages in order, chats side by side, each at
        one of this process's send slots) and records the outcomes as they come, every
        :data:`RECORD_EVERY` seconds (so a crash leaves few sent messages unrecorded: those
        are the only ones sent again); returns how many sends were tried."""
        done: list[tuple[OutboxMessage, Outcome]] = []
        closed = await self._windows_closed(claimed.runs)
        runs = [
            asyncio.create_task(self._deliver_run(run, claimed, done, closed))
            for run in claimed.runs
        ]
        attempted = 0
        while True:
            finished, _pending = await asyncio.wait(runs, timeout=RECORD_EVERY)
            outcomes, done[:] = list(done), []
            if outcomes:
                await self._record(outcomes)
                attempted += sum(outcome.attempted for _row, outcome in outcomes)
            if len(finished) == len(runs) and not done:
                break
        for run in runs:
            run.result()  # a run that raised raises here
        self.wake()  # the messages behind these in their chats may go now
        return attempted

    async def recover(self) -> int:
        """Puts back the messages an earlier run of this process (same ``owner``) claimed and
        never finished, so they go now instead of when their lease runs out. Returns how many.

        Called before this run claims anything, so every such claim is an earlier run's."""
        self._recovered = True
        async with self.db.transaction() as session:
            result = await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.SENDING,
                    OutboxMessage.claimed_by == self.owner,
                )
                .values(
                    status=OutboxStatus.PENDING,
                    lease_until=None,
                    attempts=OutboxMessage.attempts + 1,
                    failure_reason="interrupted: the sender stopped while sending",
                )
                .returning(OutboxMessage.id)
            )
            count = len(result.scalars().all())
        if count:
            log.warning("%d messages were being sent when this sender stopped; resending", count)
        return count

    async def _windows_closed(self, runs: list[list[OutboxMessage]]) -> set[tuple[str, str]]:
        """The chats of ``runs`` on channels with a reply window (Zalo OA) whose user last
        wrote longer ago than the window: nothing may go to them now."""
        chats: dict[str, list[str]] = {}
        for run in runs:
            channel = self.channels.get(run[0].channel)
            if channel is not None and channel.capabilities.reply_window is not None:
                chats.setdefault(run[0].channel, []).append(run[0].chat_id)
        closed: set[tuple[str, str]] = set()
        if not chats:
            return closed
        now = self.clock.now()
        async with self.db.quick_reads() as session:
            for name, chat_ids in chats.items():
                window = self.channels[name].capabilities.reply_window
                assert window is not None
                rows = await session.execute(
                    select(ChannelIdentity.chat_id, ChannelIdentity.last_inbound_at).where(
                        ChannelIdentity.channel == name, ChannelIdentity.chat_id.in_(chat_ids)
                    )
                )
                found = {chat_id: last for chat_id, last in rows.all()}
                closed.update(
                    (name, chat_id)
                    for chat_id in chat_ids
                    if not in_window(found.get(chat_id), now, window)
                )
        return closed

    async def _deliver_run(
        self,
        run: list[OutboxMessage],
        claimed: Pass,
        done: list[tuple[OutboxMessage, Outcome]],
        closed: set[tuple[str, str]],
    ) -> None:
        """One chat's messages in order, each at the next of this process's send slots it may
        take (:class:`~bot.ratelimit.SlotPool`: replies first), while the pass has time left;
        after one that did not go, the rest wait their turn. Each outcome is put in ``done``
        as soon as it is known. A chat whose reply window is closed (``closed``) gets none:
        each of its messages fails as outside the window, without a call to the platform."""
        if (run[0].channel, run[0].chat_id) in closed:
            done.extend((row, OUTSIDE_WINDOW) for row in run)
            return
        for i, row in enumerate(run):
            pool = self._pools.get(row.channel)
            if pool is not None:
                await pool.take(row.priority)
            remaining = claimed.deadline - self.clock.monotonic()
            paused = self._paused_until.get(row.channel, 0) > self.clock.monotonic()
            if remaining > 0 and not paused:
                self._chat_window(row).take()
                outcome = await self._deliver(row, remaining)
            else:
                outcome = Outcome(OutboxStatus.PENDING, counts=False, attempted=False)
            done.append((row, outcome))
            if outcome.status != OutboxStatus.SENT:
                waits = Outcome(OutboxStatus.PENDING, counts=False, attempted=False)
                done.extend((later, waits) for later in run[i + 1 :])
                return

    def _chat_window(self, row: OutboxMessage) -> SlidingWindow:
        return self._per_chat.get(f"{row.channel}:{row.chat_id}")

    def _chat_is_busy(self, row: OutboxMessage) -> bool:
        """Whether the chat got another message within its flood window (so a 429 for it is
        the chat's limit: the bot's own pace keeps under the platform's)."""
        return self._chat_window(row).recent() > 1

    def _within_limits(self, runs: list[list[OutboxMessage]]) -> list[list[OutboxMessage]]:
        """Each chat's run cut to what its chat's flood window has room for now (a send is
        counted when it goes: :meth:`_deliver_run`); the channel's pace is the claim's."""
        allowed = []
        now = self.clock.monotonic()
        for run in runs:
            if self._paused_until.get(run[0].channel, 0) > now:
                continue
            room = self._chat_window(run[0]).room()
            kept = run if room is None else run[:room]
            if kept:
                allowed.append(kept)
        return allowed

    async def _eligible(self) -> list[list[OutboxMessage]]:
        """Per chat, its earliest waiting message and the due ones right behind it, in order.

        Chats are taken by the priority of their first message (live replies before
        notifications and broadcasts); within a chat the order is always the queue's.
        """
        now = self.clock.now()
        async with self.db.quick_reads() as session:
            heads = list((await session.scalars(HEADS, {"now": now, "batch": self.batch})).all())
            if not heads:
                return []
            chats = {(row.channel, row.chat_id) for row in heads}
            followers = (
                await session.scalars(
                    select(OutboxMessage)
                    .where(
                        tuple_(OutboxMessage.channel, OutboxMessage.chat_id).in_(list(chats)),
                        OutboxMessage.status.in_(OUTBOX_WAITING),
                        OutboxMessage.id > min(row.id for row in heads),
                    )
                    .order_by(OutboxMessage.id)
                )
            ).all()
        behind: dict[tuple[str, str], list[OutboxMessage]] = {}
        for row in followers:
            behind.setdefault((row.channel, row.chat_id), []).append(row)
        runs = []
        for head in heads:
            run = [head]
            for row in behind.get((head.channel, head.chat_id), []):
                if row.id <= head.id:
                    continue
                if (
                    len(run) >= MAX_RUN
                    or row.status != OutboxStatus.PENDING
                    or row.next_attempt_at > now
                ):
                    break  # the queue's order: nothing goes past a message that cannot go now
                run.append(row)
            runs.append(run)
        return runs

    async def _claim(self, rows: list[OutboxMessage]) -> dict[int, datetime]:
        """Leases ``rows`` for this process, each with its send slot; returns the slots of
        those it got: of each chat, the rows from its head up to the first one it could not
        take (another sender holds it, or holds one before it, or the pace has no slot for it
        soon enough).

        A row is taken only when it is claimable and every earlier waiting row of its chat is
        taken with it. On PostgreSQL the rows are locked first, skipping those another sender
        is claiming at this moment (they still look waiting, so they hold back the rows behind
        them). The choice is a read, a new statement that sees every claim committed before
        it. Slots are then reserved in the rows' order (live replies first) from the channel's
        shared pace: a reply takes one up to :data:`REPLY_HORIZON` ahead, anything else up to
        :data:`BULK_HORIZON`, so a broadcast never books the pace far ahead of a live reply.
        The update then takes exactly the rows with a slot. SQLite has one writer at a time.
        """
        if not rows:
            return {}
        now = self.clock.now()
        async with self.db.transaction() as session:
            locked: Sequence[int] = [row.id for row in rows]  # SQLite: the writer holds all
            if not self.db.is_sqlite:
                locked = (
                    await session.scalars(
                        select(OutboxMessage.id)
                        .where(OutboxMessage.id.in_(locked))
                        .with_for_update(skip_locked=True)
                    )
                ).all()
            if not locked:
                return {}
            params = {"locked": list(locked), "now": now}
            taken = set((await session.scalars(TAKEN, params)).all())
            slots = await self._reserve(session, [row for row in rows if row.id in taken], now)
            if not slots:
                return {}
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(list(slots)))
                .values(
                    status=OutboxStatus.SENDING,
                    lease_until=now + self.lease,
                    claimed_by=self.owner,
                )
            )
        return slots

    async def _reserve(
        self, session: AsyncSession, rows: list[OutboxMessage], now: datetime
    ) -> dict[int, datetime]:
        """Send slots from each channel's shared pace for ``rows`` (in their order), a prefix
        of each channel's rows; remembers the next free slot when some got none."""
        by_channel: dict[str, list[OutboxMessage]] = {}
        for row in rows:
            by_channel.setdefault(row.channel, []).append(row)
        slots: dict[int, datetime] = {}
        self._next_free = None
        for channel, queued in by_channel.items():
            horizons = [now + _horizon(row) for row in queued]
            reservation = await reserve(
                session, channel, horizons, now=now, interval=self._interval(channel)
            )
            slots.update(zip((row.id for row in queued), reservation.slots, strict=False))
            if len(reservation.slots) < len(queued):
                free = reservation.next_free
                self._next_free = min(self._next_free or free, free)
        return slots

    async def _deliver(self, row: OutboxMessage, timeout: float) -> Outcome:
        """Sends one message (given up after ``timeout`` seconds) and says what became of it
        (nothing is written here)."""
        channel = self.channels.get(row.channel)
        if channel is None:
            return Outcome(OutboxStatus.FAILED, reason=f"no channel {row.channel!r} configured")
        if row.expires_at is not None and row.expires_at < self.clock.now():
            return Outcome(OutboxStatus.EXPIRED, reason="expired before it could be sent")
        try:
            message_id = await asyncio.wait_for(
                channel.send(row.chat_id, Reply.from_json(row.payload)), timeout
            )
        except RetryLater as exc:
            if self._chat_is_busy(row):
                # This chat had other messages just now: its own flood limit, not the bot's.
                log.warning(
                    "%s asked us to wait %.0f s sending to a busy chat (message %d); that chat "
                    "waits", row.channel, exc.retry_after, row.id,
                )  # fmt: skip
                return Outcome(
                    OutboxStatus.PENDING, reason=str(exc), delay=exc.retry_after, counts=False
                )
            self._paused_until[row.channel] = self.clock.monotonic() + exc.retry_after
            log.warning(
                "%s asked us to wait %.0f s (message %d); pausing that channel",
                row.channel,
                exc.retry_after,
                row.id,
            )
            return Outcome(
                OutboxStatus.PENDING,
                reason=str(exc),
                delay=exc.retry_after,
                counts=False,
                paused_for=exc.retry_after,
            )
        except Unreachable as exc:
            log.info(
                "%s:%s cannot be reached (%s); not sending to it", row.channel, row.chat_id, exc
            )
            why = DeliveryReason.DELETED if exc.deleted else DeliveryReason.BLOCKED
            return Outcome(OutboxStatus.UNREACHABLE, reason=str(exc), delivery_reason=why)
        except OutsideWindow as exc:
            log.info("%s:%s: the reply window is closed (%s)", row.channel, row.chat_id, exc)
            return replace(OUTSIDE_WINDOW, reason=f"outside the reply window: {exc}")
        except Rejected as exc:
            log.error("message %d to %s:%s refused: %s", row.id, row.channel, row.chat_id, exc)
            return Outcome(OutboxStatus.FAILED, reason=str(exc))
        except (TransientError, OSError, TimeoutError) as exc:
            reason = str(exc) or "no answer in time"
            if row.attempts + 1 >= self.max_attempts:
                return Outcome(
                    OutboxStatus.FAILED,
                    reason=f"gave up: {reason}",
                    delivery_reason=DeliveryReason.GAVE_UP,
                )
            delay = min(300.0, 2.0 ** (row.attempts + 1))
            log.warning("send %d failed (%s); retrying in %.0f s", row.id, reason, delay)
            return Outcome(OutboxStatus.PENDING, reason=reason, delay=delay)
        return Outcome(OutboxStatus.SENT, message_id=message_id)

    async def _record(self, results: list[tuple[OutboxMessage, Outcome]]) -> None:
        """Writes the outcomes of a pass in one transaction (sent ones in one statement)."""
        now = self.clock.now()
        sent = [
            {"row_id": row.id, "message_id": outcome.message_id or None}
            for row, outcome in results
            if outcome.status == OutboxStatus.SENT
        ]
        async with self.db.transaction() as session:
            if sent:
                await session.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id == bindparam("row_id"))
                    .values(
                        status=OutboxStatus.SENT,
                        attempts=OUTBOX.c.attempts + 1,
                        failure_reason=None,
                        lease_until=None,
                        platform_message_id=bindparam("message_id"),
                        sent_at=now,
                    ),
                    sent,
                )
            gone = set()
            # Messages that carry secrets lose them once done (sent, given up, or dropped).
            finished = [row.id for row, _ in results if row.payload.get("secrets")]
            dropped: list[int] = []  # the other waiting messages of chats that blocked us
            paused: dict[str, float] = {}
            for row, outcome in results:
                if outcome.paused_for:
                    paused[row.channel] = max(paused.get(row.channel, 0.0), outcome.paused_for)
                if outcome.status == OutboxStatus.UNREACHABLE:
                    dropped += await self._mark_unreachable(session, row, outcome.reason, now)
                    gone.add((row.channel, row.chat_id))
            finished += dropped
            for row, outcome in results:
                if (
                    outcome.status in (OutboxStatus.SENT, OutboxStatus.UNREACHABLE)
                    or (row.channel, row.chat_id) in gone
                ):
                    continue
                values: dict[str, object] = {
                    "status": outcome.status,
                    "attempts": OUTBOX.c.attempts + (1 if outcome.counts else 0),
                    "failure_reason": outcome.reason,
                    "lease_until": None,
                }
                if outcome.status == OutboxStatus.PENDING:
                    values["next_attempt_at"] = now + timedelta(seconds=outcome.delay)
                await session.execute(update(OUTBOX).where(OUTBOX.c.id == row.id).values(**values))
            # A join code in a delivered (or abandoned) message is not kept in the outbox.
            await forget_secrets(session, finished)
            for channel, seconds in paused.items():
                await pause(session, channel, now + timedelta(seconds=seconds))
            settled = [
                settles
                for row, outcome in results
                if row.kind == OutboxKind.ANNOUNCEMENT
                and (settles := outcome.settled(row.id)) is not None
            ]
            settled += [Settled(row_id, DeliveryStatus.FAILED, DeliveryReason.BLOCKED)
                        for row_id in dropped]  # fmt: skip
            changed = await settle(session, settled, now)
        if changed and self.on_settled is not None:
            self.on_settled()

    @staticmethod
    async def _mark_unreachable(
        session: AsyncSession, row: OutboxMessage, reason: str | None, now: datetime
    ) -> list[int]:
        """The user blocked us: remember it, and drop what still waits for that chat (returns
        the ids of the messages dropped)."""
        await session.execute(
            update(ChannelIdentity)
            .where(ChannelIdentity.channel == row.channel, ChannelIdentity.chat_id == row.chat_id)
            .values(blocked_at=now)
        )
        dropped = await session.scalars(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == row.channel,
                OutboxMessage.chat_id == row.chat_id,
                OutboxMessage.status.in_(OUTBOX_WAITING),
            )
            .values(
                status=OutboxStatus.FAILED,
                failure_reason=f"unreachable: {reason}",
                lease_until=None,
                attempts=OutboxMessage.attempts + 1,
            )
            .returning(OutboxMessage.id)
        )
        return list(dropped.all())
