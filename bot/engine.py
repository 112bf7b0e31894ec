"""The engine: inbox → one step per event → outbox; each step commits with its effects.

Guarantees kept here (see docs/architecture.md):

1. ``store`` writes events to the inbox before the caller acknowledges them to the platform.
2. The inbox is unique per (channel, event id): a re-delivered update is ignored.
3. Events of one chat run one at a time and in order: a round takes each chat once; on
   PostgreSQL a batch first takes the chat's advisory lock (skipping chats another process
   holds) and then the chat's *earliest* pending event, so workers never overlap or reorder.
   Among a chat's pending events, platform order (``seq``: Telegram's update_id) comes first.
4. A step's domain writes, the conversation state, the transcript, the replies and the inbox
   row's "done" are committed together. Steps of different chats share one transaction: the
   batch reads its chats' events and states in two statements and writes the steps'
   bookkeeping in one statement per table (``storage/step_writes.py``). A step that raises
   undoes the batch, which runs again with one savepoint per step, so the failing step is
   undone alone and retried; after ``MAX_STEP_ATTEMPTS`` the event is marked failed and the
   user is told.
   A file a step needs is downloaded beside the rounds (a few at a time, under a lease timed
   by the clock) and recorded on the inbox row; the chat waits for it, other chats do not.
7. Conversation state lives in the database, so a restart resumes every chat where it stood.

Timer events (put in the inbox by ``bot/scheduler.py``) take the same path; their replies are
notifications, and they leave the conversation, its transcript and its open question as they
were (see ``_write_messages``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, event, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState

from bot.channels.base import NUMBERED_CHOICES, ChannelAdapter, capabilities_of, numbered_choices
from bot.errors import describe_error, log_failure
from bot.files import ReceivedFile
from bot.flow import ConversationState, FlowRegistry, StepContext, sign_reply
from bot.i18n import translator
from bot.notify import NOTIFICATION_PRIORITY
from bot.vocabulary import ChatKey, Event, EventKind, Reply, step_signature
from storage.clock import SYSTEM_CLOCK, Clock
from storage.db import Database
from storage.models import (
    ChannelIdentity,
    Conversation,
    InboxEvent,
    OutboxMessage,
    User,
)
from storage.outbox import Outgoing, queue_messages
from storage.states import OUTBOX_WAITING, InboxStatus, OutboxKind
from storage.step_writes import StepWrites, StoredState

__all__ = [
    "MAX_STEP_ATTEMPTS",
    "Dispatcher",
    "Engine",
    "FilePrefetcher",
    "inbox_row",
    "insert_inbox",
]

log = logging.getLogger(__name__)

MAX_STEP_ATTEMPTS = 3
MAX_CHATS_IN_ROUND = 1000
STEPS_PER_CHAT_IN_BATCH = 4  # a chat with a backlog gets a few steps per batch, then others
# A chat with this many replies still waiting to go out is flooding: replies to all but its
# latest message are held back (the messages themselves are stored and transcribed).
FLOOD_PENDING_REPLIES = 8
# last_inbound_at (the Zalo reply window) is kept to this precision, saving a write per step.
INBOUND_RESOLUTION = timedelta(minutes=1)
# Events that are not the user writing to us: they do not (re)open a reply window.
NOT_WRITING = frozenset({EventKind.TIMER, EventKind.LEAVE})
CONTACT_REQUEST_OPEN = "_keyboard"  # conversation data: a contact request is open
MAX_SEQ = 2**63 - 1
# How long a process may take to download a file before another one tries again.
DOWNLOAD_LEASE = timedelta(minutes=5)

Dispatcher = Callable[[StepContext], Awaitable[None]]
# Fetches a file event's content beside the rounds (downloads can be slow).
FilePrefetcher = Callable[[Event], Awaitable[ReceivedFile]]


_inbox: Table = InboxEvent.__table__  # type: ignore[assignment]  # plain table reads
# The earliest pending events of some chats (a few each), in each chat's order: platform
# order (seq) first, then arrival.
_ranked = (
    select(
        _inbox.c.id,
        _inbox.c.channel,
        _inbox.c.chat_id,
        _inbox.c.payload,
        _inbox.c.attempts,
        _inbox.c.file_result,
        func.row_number()
        .over(
            partition_by=(_inbox.c.channel, _inbox.c.chat_id), order_by=(_inbox.c.seq, _inbox.c.id)
        )
        .label("n"),
    )
    .where(
        _inbox.c.status == InboxStatus.PENDING,
        tuple_(_inbox.c.channel, _inbox.c.chat_id).in_(bindparam("keys", expanding=True)),
    )
    .subquery()
)
PENDING_OF_CHATS = select(_ranked).where(_ranked.c.n <= bindparam("most")).order_by(_ranked.c.n)
# Who is behind some chats, and where their conversations stand.
CHAT_STATES = (
    select(
        ChannelIdentity,
        User,
        Conversation.id,
        Conversation.flow,
        Conversation.step,
        Conversation.version,
        Conversation.data,
    )
    .join(User, User.id == ChannelIdentity.user_id)
    .outerjoin(
        Conversation,
        (Conversation.channel == ChannelIdentity.channel)
        & (Conversation.chat_id == ChannelIdentity.chat_id),
    )
    .where(
        tuple_(ChannelIdentity.channel, ChannelIdentity.chat_id).in_(
            bindparam("keys", expanding=True)
        )
    )
)
# PostgreSQL: this transaction's advisory locks on the chats no other worker holds.
LOCK_CHATS = text(
    "SELECT k FROM unnest(CAST(:keys AS BIGINT[])) AS k WHERE pg_try_advisory_xact_lock(k)"
)
CONVERSATIONS_TOUCHED = "conversations_touched"  # session.info: a step wrote conversations


def inbox_row(event: Event, now: datetime) -> dict[str, Any]:
    """The pending inbox row of ``event`` (its texts cleaned of control characters)."""
    e = event.cleaned()
    return {
        "channel": e.channel,
        "event_id": e.event_id,
        "chat_id": e.chat_id,
        "seq": e.seq if 0 <= e.seq <= MAX_SEQ else 0,  # a BIGINT; 0 = arrival order
        "payload": e.to_json(),
        "status": InboxStatus.PENDING,
        "attempts": 0,
        "received_at": now,
    }


async def insert_inbox(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Inserts inbox rows in the caller's transaction, skipping known (channel, event id)
    pairs; returns how many were new."""
    if not rows:
        return 0
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    stmt = insert(InboxEvent).on_conflict_do_nothing(index_elements=["channel", "event_id"])
    return len((await session.scalars(stmt.returning(InboxEvent.id), rows)).all())


def _lock_key(key: ChatKey) -> int:
    digest = hashlib.blake2b(str(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass
class StepOutcome:
    """What one step did: events handled (0 or 1), replies queued, a file it waits for."""

    handled: int
    replies: int = 0
    wants_file: WantsFile | None = None  # a download this batch claimed, started after commit


@dataclass
class BatchOutcome:
    """What the steps of one batch did."""

    handled: int = 0
    replies: int = 0
    wanted_files: list[WantsFile] = field(default_factory=list)
    backlog: bool = False  # a chat has more events waiting than the batch took

    def add(self, outcome: StepOutcome) -> None:
        self.handled += outcome.handled
        self.replies += outcome.replies
        if outcome.wants_file is not None:
            self.wanted_files.append(outcome.wants_file)


@dataclass
class ChatState:
    """The person behind a chat and where its conversation stands, as a step finds it."""

    identity: ChannelIdentity
    user: User
    conversation: ConversationState
    exists: bool  # the conversation has a stored row
    new: bool = False  # the person was created for this step


class ReplayBatch(Exception):
    """The batch must run again step by step (see ``Engine._run_batch``)."""


def _watch_conversations(session: AsyncSession) -> None:
    """Marks the session when a step updates or deletes conversations directly (e.g. linking
    two chats restarts the other chat's), which the batch's own states may not know about."""

    @event.listens_for(session.sync_session, "do_orm_execute")
    def _written(state: ORMExecuteState) -> None:
        table = getattr(state.statement, "table", None)
        if (state.is_update or state.is_delete) and getattr(table, "name", "") == "conversations":
            session.info[CONVERSATIONS_TOUCHED] = True


class WantsFile(Exception):
    """The step needs its file downloaded first (outside the transaction)."""

    def __init__(self, event: Event, inbox_id: int) -> None:
        super().__init__(f"file of {event.event_id} not fetched yet")
        self.event = event
        self.inbox_id = inbox_id


class Engine:
    """Runs flow steps for stored events; one instance per process."""

    def __init__(
        self,
        db: Database,
        flows: FlowRegistry,
        dispatch: Dispatcher,
        *,
        concurrency: int = 4,
        batch_size: int = 32,
        poll_interval: float = 0.5,
        prefetch: FilePrefetcher | None = None,
        on_replies: Callable[[], None] | None = None,
        flood_threshold: int = FLOOD_PENDING_REPLIES,
        download_concurrency: int = 4,
        download_lease: timedelta = DOWNLOAD_LEASE,
        clock: Clock = SYSTEM_CLOCK,
        channels: Mapping[str, ChannelAdapter] | None = None,
    ) -> None:
        self.db = db
        self.flows = flows
        self.dispatch = dispatch
        self.prefetch = prefetch
        self.poll_interval = poll_interval
        self.on_replies = on_replies
        self.flood_threshold = flood_threshold
        self.channels = channels if channels is not None else {}  # for their capabilities
        self.batch_size = batch_size
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self.clock = clock
        self.download_lease = download_lease
        self._download_slots = asyncio.Semaphore(download_concurrency)
        self._downloads: dict[int, asyncio.Task[None]] = {}  # inbox id → its download here
        self._backlog = False  # the last round left events it knows about

    # -- in: the inbox ----------------------------------------------------------------------
    async def store(self, events: Sequence[Event]) -> int:
        """Write events to the inbox in one transaction; duplicates are skipped.

        Returns how many were new. Acknowledge to the platform only after this returns.
        """
        if not events:
            return 0
        now = self.clock.now()
        rows = [inbox_row(event, now) for event in events]
        new = await self._insert_inbox(rows)
        if new:
            self.wake()
        return new

    async def park(self, channel: str, updates: Sequence[tuple[str, str, dict[str, Any]]]) -> int:
        """Keep updates a channel could not read, as ``parked`` inbox rows; never processed.

        Each is ``(event_id, reason, raw update)``; ``reason`` must not quote the update. An
        operator sees them (``/healthz`` counts them); the platform is told they were received.
        """
        if not updates:
            return 0
        rows = [
            {
                "channel": channel,
                "event_id": event_id,
                "chat_id": "",
                "payload": raw,
                "status": InboxStatus.PARKED,
                "attempts": 0,
                "error": reason[:2000],
                "received_at": self.clock.now(),
            }
            for event_id, reason, raw in updates
        ]
        return await self._insert_inbox(rows)

    async def _insert_inbox(self, rows: list[dict[str, Any]]) -> int:
        """Inserts inbox rows in one transaction, skipping known (channel, event id) pairs."""
        async with self.db.transaction() as session:
            return await insert_inbox(session, rows)

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
                # Anything stored meanwhile has set the wake-up: only a known backlog (a chat
                # with more events than a batch takes, more chats than a round) goes on at once.
                if await self.process_round() and self._backlog:
                    continue
            except Exception as exc:
                log_failure(
                    log, "could not process the inbox; trying again in %.1f s",
                    self.poll_interval, exc=exc,
                )  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        await self._stop_downloads()
        log.info("engine worker stopped")

    async def process_pending(self) -> None:
        """Process every pending event now, waiting for the downloads steps need (tests and
        the terminal chat use this)."""
        while True:
            if await self.process_round():
                continue
            if not self._downloads:
                return
            await asyncio.wait(list(self._downloads.values()))

    async def process_round(self) -> int:
        """One round: the earliest pending events of up to 1,000 chats, in batches.

        Returns how many events were handled (processed, or failed for good). A batch is one
        transaction holding one savepoint per step, so a failing step is undone alone; batches
        run one at a time on SQLite (one writer) and side by side on PostgreSQL.
        """
        chats = await self._pending_chats()
        self._backlog = len(chats) >= MAX_CHATS_IN_ROUND
        if not chats:
            return 0
        batches = [chats[i : i + self.batch_size] for i in range(0, len(chats), self.batch_size)]
        if self.db.is_sqlite:
            return sum([await self._run_batch(batch) for batch in batches])
        results = await asyncio.gather(*(self._limited(batch) for batch in batches))
        return sum(results)

    async def _limited(self, batch: list[ChatKey]) -> int:
        async with self._slots:
            return await self._run_batch(batch)

    async def _pending_chats(self) -> list[ChatKey]:
        async with self.db.quick_reads() as session:
            result = await session.execute(
                select(InboxEvent.channel, InboxEvent.chat_id)
                .where(InboxEvent.status == InboxStatus.PENDING)
                .group_by(InboxEvent.channel, InboxEvent.chat_id)
                .order_by(func.min(InboxEvent.id))
                .limit(MAX_CHATS_IN_ROUND)
            )
            return [ChatKey(channel, chat_id) for channel, chat_id in result]

    async def _run_batch(self, keys: list[ChatKey]) -> int:
        """Runs each chat's next steps in one transaction; fetches files steps asked for.

        The steps' bookkeeping is written in bulk at the end. If a step raises (or writes
        another chat's conversation, which a later step of the batch may have read), the
        batch is undone and run again with one savepoint per step, each step's bookkeeping
        written with it, so a failing step is undone alone.
        """
        try:
            ran = await self._run_steps(keys, replaying=False)
        except Exception as exc:
            log.debug("batch of %d chats undone (%s); running it step by step", len(keys),
                      type(exc).__name__)  # fmt: skip
            ran = await self._run_steps(keys, replaying=True)
        self._backlog |= ran.backlog
        if ran.replies and self.on_replies:
            self.on_replies()
        for wanted in ran.wanted_files:  # claimed in the committed transaction
            self._start_download(wanted)
        return ran.handled

    async def _run_steps(self, keys: list[ChatKey], *, replaying: bool) -> BatchOutcome:
        ran = BatchOutcome()
        writes = StepWrites()
        async with self.db.transaction() as session:
            pending = await self._pending(session, await self._lock_chats(session, keys))
            chats: dict[ChatKey, ChatState] = {}
            if not replaying:
                chats = await self._chat_states(session, list(pending))
                _watch_conversations(session)
            for key, rows in pending.items():
                ran.backlog |= len(rows) > STEPS_PER_CHAT_IN_BATCH
                for n, row in enumerate(rows[:STEPS_PER_CHAT_IN_BATCH]):
                    more = n + 1 < len(rows)
                    if replaying:
                        outcome = await self._step_alone(session, key, row, more, writes)
                    else:
                        outcome = await self._step_in_batch(session, key, row, more, chats, writes)
                    ran.add(outcome)
                    if not outcome.handled:
                        break
            if session.info.get(CONVERSATIONS_TOUCHED):
                raise ReplayBatch("a step wrote another chat's conversation")
            if writes:
                await writes.write(session, self.clock.now())
        return ran

    async def _lock_chats(self, session: AsyncSession, keys: list[ChatKey]) -> list[ChatKey]:
        """PostgreSQL: the chats this transaction could lock (another worker has the others).

        State is read only after the locks are held, and each chat's steps then take its
        *earliest* pending events, so two workers can neither overlap nor reorder a chat.
        """
        if self.db.is_sqlite:
            return keys  # one writer: the transaction itself is the lock
        by_lock = {_lock_key(key): key for key in keys}
        locked = set((await session.scalars(LOCK_CHATS, {"keys": list(by_lock)})).all())
        return [key for lock, key in by_lock.items() if lock in locked]

    @staticmethod
    async def _pending(session: AsyncSession, keys: list[ChatKey]) -> dict[ChatKey, list[Any]]:
        """Each chat's earliest pending events: enough for its steps in a batch, and one more
        to tell whether others wait behind them."""
        if not keys:
            return {}
        params: dict[str, Any] = {
            "keys": [(key.channel, key.chat_id) for key in keys],
            "most": STEPS_PER_CHAT_IN_BATCH + 1,
        }
        found: dict[ChatKey, list[Any]] = {key: [] for key in keys}
        for row in await session.execute(PENDING_OF_CHATS, params):
            found[ChatKey(row.channel, row.chat_id)].append(row)
        return {key: rows for key, rows in found.items() if rows}

    @staticmethod
    async def _chat_states(session: AsyncSession, keys: list[ChatKey]) -> dict[ChatKey, ChatState]:
        """The person behind each known chat, and where its conversation stands."""
        if not keys:
            return {}
        params = {"keys": [(key.channel, key.chat_id) for key in keys]}
        states = {}
        for identity, user, conversation_id, flow, step, version, data in await session.execute(
            CHAT_STATES, params
        ):
            conversation = ConversationState(flow or "", step or "", version or 0, data or {})
            states[ChatKey(identity.channel, identity.chat_id)] = ChatState(
                identity, user, conversation, exists=conversation_id is not None
            )
        return states

    # -- downloads, beside the rounds -------------------------------------------------------
    async def _claim_download(self, session: AsyncSession, wanted: WantsFile) -> bool:
        """Takes the download lease of a file event, unless a live one is held (here or by
        another process); a lease left by a process that died runs out and is taken again."""
        if wanted.inbox_id in self._downloads:
            return False
        now = self.clock.now()
        claimed = await session.execute(
            update(InboxEvent)
            .where(
                InboxEvent.id == wanted.inbox_id,
                or_(InboxEvent.fetch_lease_until.is_(None), InboxEvent.fetch_lease_until <= now),
            )
            .values(fetch_lease_until=now + self.download_lease)
        )
        return bool(getattr(claimed, "rowcount", 0))

    def _start_download(self, wanted: WantsFile) -> None:
        task = asyncio.create_task(self._download(wanted))
        self._downloads[wanted.inbox_id] = task
        task.add_done_callback(lambda _: self._downloads.pop(wanted.inbox_id, None))

    async def _download(self, wanted: WantsFile) -> None:
        """Fetches the file (a few at a time) and records it on the event's inbox row."""
        async with self._download_slots:
            received = await self._fetch(wanted.event)
        stored = {"received": dataclasses.asdict(received) if received is not None else None}
        try:
            async with self.db.transaction() as session:
                await session.execute(
                    update(InboxEvent)
                    .where(
                        InboxEvent.id == wanted.inbox_id, InboxEvent.status == InboxStatus.PENDING
                    )
                    .values(file_result=stored)
                )
        except Exception as exc:  # the lease runs out and the download is tried again
            log_failure(log, "recording the file of %s failed", wanted.event.key, exc=exc)
        self.wake()

    async def _fetch(self, event: Event) -> ReceivedFile | None:
        assert self.prefetch is not None
        try:
            return await self.prefetch(event)
        except Exception as exc:
            log_failure(log, "fetching the file of %s failed", event.key, exc=exc)
            return None

    async def _stop_downloads(self) -> None:
        """Cancels this process's downloads and gives their leases back (best effort)."""
        ids = list(self._downloads)
        for task in list(self._downloads.values()):
            task.cancel()
        await asyncio.gather(*self._downloads.values(), return_exceptions=True)
        if ids:
            with contextlib.suppress(Exception):
                async with self.db.transaction() as session:
                    await session.execute(
                        update(InboxEvent)
                        .where(InboxEvent.id.in_(ids), InboxEvent.file_result.is_(None))
                        .values(fetch_lease_until=None)
                    )

    async def _step_in_batch(
        self,
        session: AsyncSession,
        key: ChatKey,
        row: Any,
        more: bool,
        chats: dict[ChatKey, ChatState],
        writes: StepWrites,
    ) -> StepOutcome:
        """One step of a batch: its state as the batch's earlier steps left it; a step that
        raises undoes the whole batch (see :meth:`_run_batch`)."""
        try:
            outcome, chats[key] = await self._step(session, key, row, more, chats.get(key), writes)
        except WantsFile as wanted:
            return await self._wait_for_file(session, wanted)
        return outcome

    async def _step_alone(
        self, session: AsyncSession, key: ChatKey, row: Any, more: bool, writes: StepWrites
    ) -> StepOutcome:
        """One step in a savepoint, written with it; if it raises, it is undone and the
        attempt recorded."""
        try:
            async with session.begin_nested():
                chat = (await self._chat_states(session, [key])).get(key)
                outcome, _ = await self._step(session, key, row, more, chat, writes)
                await writes.write(session, self.clock.now())
                return outcome
        except WantsFile as wanted:
            return await self._wait_for_file(session, wanted)
        except Exception as exc:
            log_failure(log, "step for %s failed; undone", key, exc=exc)
            return await self._record_failure(session, key, row, exc)

    async def _wait_for_file(self, session: AsyncSession, wanted: WantsFile) -> StepOutcome:
        """Not a failure: the step runs again once its file is fetched."""
        claimed = await self._claim_download(session, wanted)
        return StepOutcome(handled=0, wants_file=wanted if claimed else None)

    def _expects_file(self, conversation: ConversationState) -> bool:
        """Whether the chat's current step takes files (only then is a file downloaded)."""
        flow = self.flows.get(conversation.flow)
        accepts = getattr(flow, "accepts_files", None)
        return bool(accepts and accepts(conversation.step))

    async def _step(
        self,
        session: AsyncSession,
        key: ChatKey,
        row: Any,
        more: bool,
        chat: ChatState | None,
        writes: StepWrites,
    ) -> tuple[StepOutcome, ChatState]:
        """Runs the flow on the event of inbox ``row``; its bookkeeping goes to ``writes``.

        Returns the outcome and the chat's state as the step left it."""
        event = Event.from_json(row.payload)
        conversation = chat.conversation if chat is not None else ConversationState()
        file_blob = None
        if event.file is not None and self.prefetch and self._expects_file(conversation):
            if row.file_result is None:
                # Downloads are slow: fetched beside the rounds; the step runs once recorded.
                raise WantsFile(event, row.id)
            file_blob = _received_file(row.file_result)
        if chat is None:
            chat = await self._first_contact(session, event)
        ctx = self._context(session, event, chat)
        ctx.file_blob = file_blob
        ctx.more_waiting = more
        await self.dispatch(ctx)
        masked = None
        if ctx.conceal_input:  # a secret (a join code): stored and transcribed masked
            ctx.event = event.masked()
            masked = ctx.event.to_json()
        replies = ctx.replies
        # A reminder is never held back as a flood.
        flooding = event.kind != EventKind.TIMER and more
        if flooding and await self._is_flooding(session, key, writes):
            replies = self._flood_replies(ctx)
        else:
            ctx.data.pop("_flood_noticed", None)
        self._write_messages(ctx, replies, row.id, writes)
        state = ctx.conversation
        stored = StoredState(
            ctx.user.id, state.flow, state.step, state.version, state.data, exists=chat.exists
        )
        writes.save_state(key.channel, key.chat_id, stored)
        writes.done(row.id, attempts=row.attempts + 1, at=self.clock.now(), payload=masked)
        after = ChatState(chat.identity, ctx.user, state, exists=chat.exists)
        return StepOutcome(handled=1, replies=len(replies)), after

    async def _first_contact(self, session: AsyncSession, event: Event) -> ChatState:
        """A new person and their chat, on the first event of a chat never seen."""
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
        return ChatState(identity, user, ConversationState(), exists=False, new=True)

    def _context(self, session: AsyncSession, event: Event, chat: ChatState) -> StepContext:
        """What the step sees; the user writing (re)opens the chat's reply window."""
        now = self.clock.now()
        last = chat.identity.last_inbound_at
        stale = last is None or now - last > INBOUND_RESOLUTION
        if stale and event.kind not in NOT_WRITING:
            chat.identity.last_inbound_at = now
        return StepContext(
            session=session,
            event=event,
            user=chat.user,
            identity=chat.identity,
            conversation=chat.conversation,
            flows=self.flows,
            is_new_user=chat.new,
            clock=self.clock,
            capabilities=capabilities_of(self.channels, event.channel),
        )

    async def _is_flooding(self, session: AsyncSession, key: ChatKey, writes: StepWrites) -> bool:
        """Whether the chat's replies waiting to go out (stored, or queued in this batch)
        reach the flood threshold."""
        waiting = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.channel == key.channel,
                OutboxMessage.chat_id == key.chat_id,
                OutboxMessage.status.in_(OUTBOX_WAITING),
            )
        )
        queued = writes.waiting(key.channel, key.chat_id)
        return int(waiting or 0) + queued >= self.flood_threshold

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

    def _write_messages(
        self, ctx: StepContext, replies: list[Reply], inbox_id: int, writes: StepWrites
    ) -> None:
        """The inbound event's transcript line, and the replies with theirs, in bulk.

        A timer event's replies are notifications (after live replies) that leave the open
        question as it was: no transcript line in, and neither the contact request nor a
        numbered list of the question is touched."""
        e = ctx.event
        c = ctx.conversation
        signature = step_signature(c.flow, c.step, c.version or 0)
        timed = e.kind == EventKind.TIMER
        inbound = None
        if not timed:
            inbound = {
                "channel": e.channel,
                "chat_id": e.chat_id,
                "user_id": ctx.user.id,
                "kind": str(e.kind),
                "text": _transcript_text(e),
                "payload": e.to_json(),
            }
            self._track_contact_request(ctx, replies)
        kind, priority = (
            (OutboxKind.NOTIFICATION, NOTIFICATION_PRIORITY) if timed else (OutboxKind.REPLY, 0)
        )
        caps = ctx.capabilities
        choices = None  # the last question's buttons, when they are shown as a numbered list
        outgoing = []
        for reply in replies:
            signed = replace(sign_reply(reply, signature), locale=ctx.t.locale)
            if signed.buttons and caps is not None:  # a typed number answers a numbered list
                choices = numbered_choices(signed, caps)
            outgoing.append(
                Outgoing(
                    channel=e.channel,
                    chat_id=e.chat_id,
                    user_id=ctx.user.id,
                    payload=signed.to_json(),
                    text=signed.plain_text(),
                    kind=kind,
                    priority=priority,
                    inbox_id=inbox_id,
                )
            )
        if choices is not None and not timed:
            ctx.data[NUMBERED_CHOICES] = choices
        elif not timed:
            ctx.data.pop(NUMBERED_CHOICES, None)
        writes.queue(outgoing, inbound=inbound)

    @staticmethod
    def _track_contact_request(ctx: StepContext, replies: list[Reply]) -> None:
        """Marks the first reply after a contact request as ending it (how a channel shows
        that, e.g. removing Telegram's keyboard, is the channel's business).

        Flows never have to remember it; the fact lives in the conversation (key "_keyboard").
        """
        is_open = bool(ctx.data.get(CONTACT_REQUEST_OPEN))
        for reply in replies:
            if reply.contact_button:
                is_open = True
            elif is_open:
                reply.contact_request_over = True
                is_open = False
        if is_open:
            ctx.data[CONTACT_REQUEST_OPEN] = True
        else:
            ctx.data.pop(CONTACT_REQUEST_OPEN, None)

    async def _record_failure(
        self, session: AsyncSession, key: ChatKey, row: Any, exc: Exception
    ) -> StepOutcome:
        """Counts a failed attempt at the chat's event ``row``; gives up after a few."""
        attempts = row.attempts + 1
        gives_up = attempts >= MAX_STEP_ATTEMPTS
        now = self.clock.now()
        await session.execute(
            update(_inbox)
            .where(_inbox.c.id == row.id)
            .values(
                attempts=attempts,
                error=describe_error(exc)[:2000],
                status=InboxStatus.FAILED if gives_up else InboxStatus.PENDING,
                processed_at=now if gives_up else None,
            )
        )
        if not gives_up:
            return StepOutcome(handled=0)
        log.error("event %s of %s failed %d times; giving up", row.id, key, attempts)
        if row.payload.get("kind") == EventKind.TIMER:
            return StepOutcome(handled=1)  # a reminder lost: the user wrote nothing unanswered
        await session.execute(
            update(Conversation)
            .where(Conversation.channel == key.channel, Conversation.chat_id == key.chat_id)
            .values(version=Conversation.version + 1)
        )
        sorry = Reply(text=await _sorry_text(session, key))
        await queue_messages(
            session,
            [
                Outgoing(
                    channel=key.channel,
                    chat_id=key.chat_id,
                    user_id=None,
                    payload=sorry.to_json(),
                    text=sorry.text,
                    inbox_id=row.id,
                )
            ],
        )
        return StepOutcome(handled=1, replies=1)


def _received_file(stored: dict[str, Any]) -> ReceivedFile | None:
    """The file recorded for a file event (None: the download itself failed)."""
    received = stored.get("received")
    return ReceivedFile(**received) if received else None


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
