"""Queueing messages: each outbox row goes with its transcript line, always together.

Rows are written with two bulk inserts (outbox, transcript), in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import utcnow
from storage.models import OutboxMessage, TranscriptEntry

__all__ = ["Outgoing", "queue_messages"]


@dataclass(frozen=True)
class Outgoing:
    """A message to send to one chat; ``text`` is what the transcript shows."""

    channel: str
    chat_id: str
    user_id: int | None
    payload: dict[str, Any]
    text: str
    kind: str = "reply"
    priority: int = 0
    inbox_id: int | None = None


async def queue_messages(
    session: AsyncSession, messages: list[Outgoing], *, inbound: dict[str, Any] | None = None
) -> None:
    """Add messages to send, and to their chats' transcripts, in the caller's transaction.

    ``inbound`` is the transcript line of the message they answer (direction "in"), written
    in the same insert.
    """
    now = utcnow()
    lines = [{**inbound, "direction": "in", "created_at": now}] if inbound else []
    lines += [
        {
            "channel": m.channel,
            "chat_id": m.chat_id,
            "user_id": m.user_id,
            "direction": "out",
            "kind": m.kind,
            "text": m.text,
            "payload": m.payload,
            "created_at": now,
        }
        for m in messages
    ]
    if lines:
        await session.execute(insert(TranscriptEntry), lines)
    if not messages:
        return
    await session.execute(
        insert(OutboxMessage),
        [
            {
                "channel": m.channel,
                "chat_id": m.chat_id,
                "kind": m.kind,
                "priority": m.priority,
                "payload": m.payload,
                "inbox_id": m.inbox_id,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for m in messages
        ],
    )
