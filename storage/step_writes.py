"""The bookkeeping of engine steps, gathered in memory and written in a few bulk statements.

A step's bookkeeping is its transcript lines and replies (outbox rows), its inbox row marked
done and its chat's conversation state. :class:`StepWrites` holds them for the steps of one
transaction and :meth:`StepWrites.write` writes them with one statement per table, in the
caller's transaction, so a batch of steps costs a handful of statements however many steps it
holds. A chat's later steps in the same batch overwrite its state in memory: only the last one
is written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation, InboxEvent
from storage.outbox import MessageGroup, Outgoing, queue_message_groups
from storage.states import InboxStatus

__all__ = ["StepWrites", "StoredState"]

_conversations: Table = Conversation.__table__  # type: ignore[assignment]  # plain table writes
_inbox: Table = InboxEvent.__table__  # type: ignore[assignment]

UPDATE_STATE = (
    update(_conversations)
    .where(
        _conversations.c.channel == bindparam("b_channel"),
        _conversations.c.chat_id == bindparam("b_chat_id"),
    )
    .values(
        flow=bindparam("b_flow"),
        step=bindparam("b_step"),
        version=bindparam("b_version"),
        data=bindparam("b_data"),
        updated_at=bindparam("b_at"),
    )
)
MARK_DONE = (
    update(_inbox)
    .where(_inbox.c.id == bindparam("b_id"))
    .values(status=InboxStatus.DONE, processed_at=bindparam("b_at"), attempts=bindparam("b_n"))
)
MASK_PAYLOAD = (
    update(_inbox).where(_inbox.c.id == bindparam("b_id")).values(payload=bindparam("b_payload"))
)


@dataclass
class StoredState:
    """A chat's conversation as a step leaves it; ``exists``: the row was there before."""

    user_id: int
    flow: str
    step: str
    version: int
    data: dict[str, Any]
    exists: bool


class StepWrites:
    """The bookkeeping of the steps of one transaction, until :meth:`write`."""

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        self._messages: list[MessageGroup] = []
        self._waiting: Counter[tuple[str, str]] = Counter()
        self._done: list[dict[str, Any]] = []
        self._masked: list[dict[str, Any]] = []
        self._states: dict[tuple[str, str], StoredState] = {}

    def __bool__(self) -> bool:
        return bool(self._messages or self._done or self._states)

    def queue(self, messages: list[Outgoing], *, inbound: dict[str, Any] | None = None) -> None:
        """Replies to send (and transcribe) after ``inbound``, the transcript line they answer."""
        self._messages.append((inbound, messages))
        for m in messages:
            self._waiting[(m.channel, m.chat_id)] += 1

    def waiting(self, channel: str, chat_id: str) -> int:
        """How many messages to this chat are queued here and not written yet."""
        return self._waiting[(channel, chat_id)]

    def done(
        self, inbox_id: int, *, attempts: int, at: datetime, payload: dict[str, Any] | None = None
    ) -> None:
        """The inbox row was handled (``payload``: what it is to hold instead, e.g. masked)."""
        self._done.append({"b_id": inbox_id, "b_at": at, "b_n": attempts})
        if payload is not None:
            self._masked.append({"b_id": inbox_id, "b_payload": payload})

    def save_state(self, channel: str, chat_id: str, state: StoredState) -> None:
        """The chat's conversation as its latest step left it."""
        earlier = self._states.get((channel, chat_id))
        if earlier is not None and not earlier.exists:
            state.exists = False  # still to be inserted
        self._states[(channel, chat_id)] = state

    async def write(self, session: AsyncSession, now: datetime) -> None:
        """Writes everything gathered, in the caller's transaction, and forgets it."""
        await session.flush()  # new users and identities the steps added come first
        if self._messages:
            await queue_message_groups(session, self._messages)
        updates = [
            {"b_channel": channel, "b_chat_id": chat_id, "b_flow": s.flow, "b_step": s.step,
             "b_version": s.version, "b_data": s.data, "b_at": now}
            for (channel, chat_id), s in self._states.items() if s.exists
        ]  # fmt: skip
        inserts = [
            {"channel": channel, "chat_id": chat_id, "user_id": s.user_id, "flow": s.flow,
             "step": s.step, "version": s.version, "data": s.data, "updated_at": now}
            for (channel, chat_id), s in self._states.items() if not s.exists
        ]  # fmt: skip
        if updates:
            await session.execute(UPDATE_STATE, updates)
        if inserts:
            await session.execute(insert(_conversations), inserts)
        if self._done:
            await session.execute(MARK_DONE, self._done)
        if self._masked:
            await session.execute(MASK_PAYLOAD, self._masked)
        self._clear()
