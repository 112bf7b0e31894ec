"""The sender: delivers outbox messages at least once, in order per chat, within rate limits.

* A chat's message is eligible only when no earlier message of that chat is still waiting or
  being sent, so one chat never has two messages in flight (guarantee 5).
* A message is claimed with a lease before it is sent; if the process dies mid-send the lease
  runs out and the message goes again (a duplicate is possible only for a send that succeeded
  just before the crash).
* Replies to live conversations are limited per chat only; bulk kinds (notifications,
  reminders, broadcasts) share an overall limit too, and go after replies (priority).
* 429 → wait ``retry_after`` (the whole channel pauses); 403 → the user is marked blocked and
  their waiting messages are dropped; network errors → exponential back-off, then give up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from bot.channels.base import ChannelAdapter, Rejected, RetryLater, TransientError, Unreachable
from bot.ratelimit import PerKeyBuckets, TokenBucket
from bot.vocabulary import Reply
from storage.clock import utcnow
from storage.db import Database
from storage.models import ChannelIdentity, OutboxMessage

__all__ = ["Sender"]

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
WAITING = ("pending", "sending")


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
    ) -> None:
        self.db = db
        self.channels = channels
        self.max_attempts = max_attempts
        self.poll_interval = poll_interval
        self.batch = batch
        self._bulk = TokenBucket(global_rate, max(1.0, global_rate))
        self._per_chat = PerKeyBuckets(per_chat_rate, per_chat_burst)
        self._paused_until: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._in_flight: set[int] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("sender started")
        while not stop.is_set():
            self._wake.clear()
            try:
                sent = await self.send_due()
            except Exception:
                log.exception("sender pass failed; trying again in %.1f s", self.poll_interval)
                sent = 0
            if sent:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        log.info("sender stopped")

    async def send_due(self) -> int:
        """One pass: send what is due and allowed now; returns how many were attempted."""
        rows = await self._eligible()
        tasks = []
        now = time.monotonic()
        for row in rows:
            if row.id in self._in_flight:
                continue
            if self._paused_until.get(row.channel, 0) > now:
                continue
            bucket = self._per_chat.get(f"{row.channel}:{row.chat_id}")
            if bucket.wait_time() > 0:
                continue
            if row.kind != "reply" and self._bulk.wait_time() > 0:
                continue
            if not await self._claim(row.id):
                continue
            bucket.take()
            if row.kind != "reply":
                self._bulk.take()
            self._in_flight.add(row.id)
            tasks.append(asyncio.create_task(self._send(row)))
        if tasks:
            await asyncio.gather(*tasks)
        return len(tasks)

    async def _eligible(self) -> list[OutboxMessage]:
        now = utcnow()
        earlier = aliased(OutboxMessage)
        claimable = or_(
            OutboxMessage.status == "pending",
            and_(OutboxMessage.status == "sending", OutboxMessage.lease_until < now),
        )
        blocked_by_earlier = exists().where(
            earlier.channel == OutboxMessage.channel,
            earlier.chat_id == OutboxMessage.chat_id,
            earlier.id < OutboxMessage.id,
            earlier.status.in_(WAITING),
        )
        query = (
            select(OutboxMessage)
            .where(claimable, OutboxMessage.next_attempt_at <= now, ~blocked_by_earlier)
            .order_by(OutboxMessage.priority, OutboxMessage.id)
            .limit(self.batch)
        )
        async with self.db.sessions() as session:
            return list((await session.scalars(query)).all())

    async def _claim(self, row_id: int) -> bool:
        now = utcnow()
        async with self.db.transaction() as session:
            result = await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == row_id,
                    or_(
                        OutboxMessage.status == "pending",
                        and_(OutboxMessage.status == "sending", OutboxMessage.lease_until < now),
                    ),
                )
                .values(status="sending", lease_until=now + LEASE)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _send(self, row: OutboxMessage) -> None:
        try:
            await self._deliver(row)
        finally:
            self._in_flight.discard(row.id)

    async def _deliver(self, row: OutboxMessage) -> None:
        channel = self.channels.get(row.channel)
        if channel is None:
            await self._finish(row, "failed", reason=f"no channel {row.channel!r} configured")
            return
        if row.expires_at is not None and row.expires_at < utcnow():
            await self._finish(row, "expired", reason="expired before it could be sent")
            return
        try:
            message_id = await channel.send(row.chat_id, Reply.from_json(row.payload))
        except RetryLater as exc:
            self._paused_until[row.channel] = time.monotonic() + exc.retry_after
            log.warning(
                "%s asked us to wait %.0f s (message %d); pausing that channel",
                row.channel,
                exc.retry_after,
                row.id,
            )
            await self._retry(row, exc.retry_after, str(exc), count_attempt=False)
        except Unreachable as exc:
            await self._mark_unreachable(row, str(exc))
        except Rejected as exc:
            log.error("message %d to %s:%s refused: %s", row.id, row.channel, row.chat_id, exc)
            await self._finish(row, "failed", reason=str(exc))
        except (TransientError, OSError, TimeoutError) as exc:
            delay = min(300.0, 2.0 ** (row.attempts + 1))
            if row.attempts + 1 >= self.max_attempts:
                await self._finish(row, "failed", reason=f"gave up: {exc}")
            else:
                log.warning("send %d failed (%s); retrying in %.0f s", row.id, exc, delay)
                await self._retry(row, delay, str(exc))
        else:
            await self._finish(row, "sent", message_id=message_id)

    async def _finish(
        self, row: OutboxMessage, status: str, *, reason: str | None = None, message_id: str = ""
    ) -> None:
        now = utcnow()
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    status=status,
                    attempts=OutboxMessage.attempts + 1,
                    failure_reason=reason,
                    platform_message_id=message_id or None,
                    sent_at=now if status == "sent" else None,
                    lease_until=None,
                )
            )

    async def _retry(
        self, row: OutboxMessage, delay: float, reason: str, *, count_attempt: bool = True
    ) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    status="pending",
                    attempts=OutboxMessage.attempts + (1 if count_attempt else 0),
                    next_attempt_at=utcnow() + timedelta(seconds=delay),
                    failure_reason=reason,
                    lease_until=None,
                )
            )
        self.wake()

    async def _mark_unreachable(self, row: OutboxMessage, reason: str) -> None:
        log.info(
            "%s:%s cannot be reached (%s); not sending to it", row.channel, row.chat_id, reason
        )
        now = utcnow()
        async with self.db.transaction() as session:
            await session.execute(
                update(ChannelIdentity)
                .where(
                    ChannelIdentity.channel == row.channel, ChannelIdentity.chat_id == row.chat_id
                )
                .values(blocked_at=now)
            )
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.channel == row.channel,
                    OutboxMessage.chat_id == row.chat_id,
                    OutboxMessage.status.in_(WAITING),
                )
                .values(status="failed", failure_reason=f"unreachable: {reason}", lease_until=None)
            )
