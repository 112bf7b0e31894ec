"""The engine: inbox → one step per event → outbox, in one commit per step.

Guarantees kept here (see docs/architecture.md):

1. ``store`` writes events to the inbox before the caller acknowledges them to the platform.
2. The inbox is unique per (channel, event id): a re-delivered update is ignored.
3. Events of one chat run one at a time and in order: in this process a chat has at most one
   task; across processes (PostgreSQL) each step takes an advisory lock on the chat and then
   picks the chat's *earliest* pending event, so two workers can never reorder a chat.
4. The step's domain writes, the conversation state, the transcript and the replies commit
   together. A step that raises is rolled back whole and retried; after ``MAX_STEP_ATTEMPTS``
   the event is marked failed and the user is told.
7. Conversation state lives in the database, so a restart resumes every chat where it stood.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from bot.flow import FlowRegistry, StepContext, sign_reply
from bot.i18n import translator
from bot.vocabulary import ChatKey, Event, EventKind, Reply, step_signature
from storage.clock import utcnow
from storage.db import Database
from storage.models import (
    ChannelIdentity,
    Conversation,
    InboxEvent,
    OutboxMessage,
    TranscriptEntry,
    User,
)
from storage.outbox import queue_message

__all__ = ["MAX_STEP_ATTEMPTS", "Dispatcher", "Engine", "FilePrefetcher"]

log = logging.getLogger(__name__)

MAX_STEP_ATTEMPTS = 3
# A chat with this many replies still waiting to go out is flooding: replies to all but its
# latest message are held back (the messages themselves are stored and transcribed).
FLOOD_PENDING_REPLIES = 8
KEYBOARD_SHOWN = "_keyboard"  # conversation data: a reply keyboard is on the user's screen

Dispatcher = Callable[[StepContext], Awaitable[None]]
# Fetches a file event's content before the step's transaction opens (downloads can be slow).
FilePrefetcher = Callable[[Event], Awaitable[Any]]


def _lock_key(key: ChatKey) -> int:
    digest = hashlib.blake2b(str(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass
class StepOutcome:
    processed: bool
    replies: int = 0


class Engine:
    """Runs flow steps for stored events; one instance per process."""

    def __init__(
        self,
        db: Database,
        flows: FlowRegistry,
        dispatch: Dispatcher,
        *,
        concurrency: int = 64,
        poll_interval: float = 0.5,
        prefetch: FilePrefetcher | None = None,
        on_replies: Callable[[], None] | None = None,
        flood_threshold: int = FLOOD_PENDING_REPLIES,
    ) -> None:
        self.db = db
        self.flows = flows
        self.dispatch = dispatch
        self.prefetch = prefetch
        self.poll_interval = poll_interval
        self.on_replies = on_replies
        self.flood_threshold = flood_threshold
        self._wake = asyncio.Event()
        self._active: set[ChatKey] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(concurrency)

    # -- in: the inbox ----------------------------------------------------------------------
    async def store(self, events: Sequence[Event]) -> int:
        """Write events to the inbox in one transaction; duplicates are skipped.

        Returns how many were new. Acknowledge to the platform only after this returns.
        """
        if not events:
            return 0
        rows = [
            {
                "channel": e.channel,
                "event_id": e.event_id,
                "chat_id": e.chat_id,
                "payload": e.to_json(),
                "status": "pending",
                "attempts": 0,
                "received_at": utcnow(),
            }
            for e in events
        ]
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        stmt = insert(InboxEvent).on_conflict_do_nothing(index_elements=["channel", "event_id"])
        async with self.db.transaction() as session:
            new = (await session.scalars(stmt.returning(InboxEvent.id), rows)).all()
        if new:
            self.wake()
        return len(new)

    def wake(self) -> None:
        """Tell the worker loop that new events are waiting."""
        self._wake.set()

    # -- the worker loop --------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Process pending events until ``stop`` is set."""
        log.info("engine worker started")
        while not stop.is_set():
            self._wake.clear()
            try:
                await self._schedule_pending()
            except Exception:
                log.exception(
                    "could not read the inbox; trying again in %.1f s", self.poll_interval
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        await self.drain()
        log.info("engine worker stopped")

    async def drain(self) -> None:
        """Wait for the chat tasks already started."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def process_pending(self) -> None:
        """Process every pending event now (tests and the terminal chat use this)."""
        while await self._schedule_pending():
            await self.drain()
        await self.drain()

    async def _schedule_pending(self) -> int:
        async with self.db.sessions() as session:
            result = await session.execute(
                select(InboxEvent.channel, InboxEvent.chat_id)
                .where(InboxEvent.status == "pending")
                .group_by(InboxEvent.channel, InboxEvent.chat_id)
                .order_by(func.min(InboxEvent.id))
                .limit(1000)
            )
            chats = [ChatKey(channel, chat_id) for channel, chat_id in result]
        started = 0
        for key in chats:
            if key in self._active:
                continue
            self._active.add(key)
            task = asyncio.create_task(self._run_chat(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started

    async def _run_chat(self, key: ChatKey) -> None:
        try:
            async with self._slots:
                while (await self.process_next(key)).processed:
                    pass
        except Exception:
            log.exception("chat %s stopped on an error; its events stay pending", key)
        finally:
            self._active.discard(key)

    # -- one step ---------------------------------------------------------------------------
    async def process_next(self, key: ChatKey) -> StepOutcome:
        """Run the step for ``key``'s earliest pending event, in one transaction."""
        head = await self._peek(key)
        if head is None:
            return StepOutcome(processed=False)
        event = Event.from_json(head.payload)
        blob = None
        if self.prefetch and event.file and await self._expects_file(key):
            blob = await self.prefetch(event)
        try:
            async with self.db.transaction() as session:
                outcome = await self._step(session, key, blob)
        except Exception as exc:
            log.exception("step for %s failed; the event stays pending", key)
            await self._record_failure(key, head.id, exc)
            return StepOutcome(processed=True)
        if outcome.replies and self.on_replies:
            self.on_replies()
        return outcome

    async def _expects_file(self, key: ChatKey) -> bool:
        """Whether the chat's current step takes files (only then is a file downloaded)."""
        async with self.db.sessions() as session:
            row = (
                await session.execute(
                    select(Conversation.flow, Conversation.step).where(
                        Conversation.channel == key.channel, Conversation.chat_id == key.chat_id
                    )
                )
            ).first()
        if row is None or row.flow not in self.flows:
            return False
        accepts = getattr(self.flows[row.flow], "accepts_files", None)
        return bool(accepts and accepts(row.step))

    async def _peek(self, key: ChatKey) -> InboxEvent | None:
        async with self.db.sessions() as session:
            return await session.scalar(self._pending_query(key).limit(1))

    @staticmethod
    def _pending_query(key: ChatKey) -> Any:
        return (
            select(InboxEvent)
            .where(
                InboxEvent.channel == key.channel,
                InboxEvent.chat_id == key.chat_id,
                InboxEvent.status == "pending",
            )
            .order_by(InboxEvent.id)
        )

    async def _step(self, session: AsyncSession, key: ChatKey, blob: Any) -> StepOutcome:
        if not self.db.is_sqlite:
            # Another worker may hold this chat; wait for it, then re-read (state after lock).
            await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(key)})
        rows = (await session.scalars(self._pending_query(key).limit(2))).all()
        if not rows:
            return StepOutcome(processed=False)
        row, more_waiting = rows[0], len(rows) > 1
        event = Event.from_json(row.payload)
        if blob is not None and event.file is None:
            blob = None
        ctx = await self._context(session, event, blob)
        ctx.more_waiting = more_waiting
        await self.dispatch(ctx)
        replies = ctx.replies
        if more_waiting and await self._is_flooding(session, key):
            replies = self._flood_replies(ctx)
        else:
            ctx.data.pop("_flood_noticed", None)
        self._transcribe_in(session, ctx)
        self._queue_replies(session, ctx, replies, row.id)
        ctx.conversation.updated_at = utcnow()
        # The data dict is changed in place; a flush during the step may already have taken it
        # as the committed value, so mark it changed explicitly.
        flag_modified(ctx.conversation, "data")
        row.status = "done"
        row.processed_at = utcnow()
        row.attempts += 1
        return StepOutcome(processed=True, replies=len(replies))

    async def _context(self, session: AsyncSession, event: Event, blob: Any) -> StepContext:
        identity = await session.scalar(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == event.channel, ChannelIdentity.chat_id == event.chat_id
            )
        )
        is_new = identity is None
        if identity is None:
            user = User(display_name=event.display_name[:200], locale=None)
            session.add(user)
            await session.flush()
            identity = ChannelIdentity(
                user_id=user.id,
                channel=event.channel,
                chat_id=event.chat_id,
                platform_user_id=event.user_id,
            )
            session.add(identity)
        else:
            user = await session.get_one(User, identity.user_id)
        identity.last_inbound_at = utcnow()
        conversation = await session.scalar(
            select(Conversation).where(
                Conversation.channel == event.channel, Conversation.chat_id == event.chat_id
            )
        )
        if conversation is None:
            conversation = Conversation(
                channel=event.channel,
                chat_id=event.chat_id,
                user_id=user.id,
                flow="",
                step="",
                data={},
                version=0,
            )
            session.add(conversation)
        conversation.data = dict(conversation.data or {})
        return StepContext(
            session=session,
            event=event,
            user=user,
            identity=identity,
            conversation=conversation,
            flows=self.flows,
            file_blob=blob,
            is_new_user=is_new,
        )

    async def _is_flooding(self, session: AsyncSession, key: ChatKey) -> bool:
        waiting = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.channel == key.channel,
                OutboxMessage.chat_id == key.chat_id,
                OutboxMessage.status.in_(("pending", "sending")),
            )
        )
        return int(waiting or 0) >= self.flood_threshold

    @staticmethod
    def _flood_replies(ctx: StepContext) -> list[Reply]:
        """During a flood only one notice goes out; the latest message gets a full answer."""
        if ctx.data.get("_flood_noticed"):
            return []
        ctx.data["_flood_noticed"] = True
        return [
            Reply(
                text=ctx._(
                    "You are sending messages faster than I can answer. I have kept them all "
                    "and will answer your latest one."
                )
            )
        ]

    @staticmethod
    def _transcribe_in(session: AsyncSession, ctx: StepContext) -> None:
        e = ctx.event
        session.add(
            TranscriptEntry(
                channel=e.channel,
                chat_id=e.chat_id,
                user_id=ctx.user.id,
                direction="in",
                kind=str(e.kind),
                text=_transcript_text(e),
                payload=e.to_json(),
            )
        )

    def _queue_replies(
        self, session: AsyncSession, ctx: StepContext, replies: list[Reply], inbox_id: int
    ) -> None:
        c = ctx.conversation
        signature = step_signature(c.flow, c.step, c.version or 0)
        self._tidy_keyboard(ctx, replies)
        for reply in replies:
            signed = sign_reply(reply, signature)
            queue_message(
                session,
                channel=c.channel,
                chat_id=c.chat_id,
                user_id=ctx.user.id,
                payload=signed.to_json(),
                text=signed.plain_text(),
                inbox_id=inbox_id,
            )

    @staticmethod
    def _tidy_keyboard(ctx: StepContext, replies: list[Reply]) -> None:
        """Removes the phone-number keyboard with the first reply after the one that showed it.

        Flows never have to remember it; the flag lives in the conversation (key "_keyboard").
        """
        shown = bool(ctx.data.get(KEYBOARD_SHOWN))
        for reply in replies:
            if reply.contact_button:
                shown = True
            elif shown:
                reply.remove_keyboard = True
                shown = False
        if shown:
            ctx.data[KEYBOARD_SHOWN] = True
        else:
            ctx.data.pop(KEYBOARD_SHOWN, None)

    async def _record_failure(self, key: ChatKey, inbox_id: int, exc: Exception) -> None:
        async with self.db.transaction() as session:
            row = await session.get_one(InboxEvent, inbox_id)
            row.attempts += 1
            row.error = f"{type(exc).__name__}: {exc}"[:2000]
            if row.attempts < MAX_STEP_ATTEMPTS:
                return
            row.status = "failed"
            row.processed_at = utcnow()
            log.error("event %s of %s failed %d times; giving up", row.event_id, key, row.attempts)
            await session.execute(
                update(Conversation)
                .where(Conversation.channel == key.channel, Conversation.chat_id == key.chat_id)
                .values(version=Conversation.version + 1)
            )
            sorry = Reply(text=await _sorry_text(session, key))
            queue_message(
                session,
                channel=key.channel,
                chat_id=key.chat_id,
                user_id=None,
                payload=sorry.to_json(),
                text=sorry.text,
                inbox_id=inbox_id,
            )
        if self.on_replies:
            self.on_replies()


def _transcript_text(e: Event) -> str:
    """What an officer reading the transcript sees for an inbound event."""
    if e.kind == EventKind.COMMAND:
        return f"/{e.command} {e.text}".strip()
    if e.file is not None:
        return e.file.name or e.kind
    return e.text or e.payload or e.phone or e.other or e.kind


async def _sorry_text(session: AsyncSession, key: ChatKey) -> str:
    """The apology for a message we could not handle, in the user's language."""
    locale = await session.scalar(
        select(User.locale)
        .join(ChannelIdentity, ChannelIdentity.user_id == User.id)
        .where(ChannelIdentity.channel == key.channel, ChannelIdentity.chat_id == key.chat_id)
    )
    return translator(locale).gettext(
        "Sorry, something went wrong on our side while handling your last message. "
        "Nothing you entered before it is lost. Please send it again, or /help."
    )
