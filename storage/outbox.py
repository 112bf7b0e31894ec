"""Queueing a message: the outbox row and its transcript line, always together."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import utcnow
from storage.models import OutboxMessage, TranscriptEntry

__all__ = ["queue_message"]


def queue_message(
    session: AsyncSession,
    *,
    channel: str,
    chat_id: str,
    user_id: int | None,
    payload: dict[str, Any],
    text: str,
    kind: str = "reply",
    priority: int = 0,
    inbox_id: int | None = None,
) -> OutboxMessage:
    """Add a message to send (and to the chat's transcript) in the caller's transaction."""
    message = OutboxMessage(
        channel=channel,
        chat_id=chat_id,
        kind=kind,
        priority=priority,
        payload=payload,
        inbox_id=inbox_id,
        next_attempt_at=utcnow(),
    )
    session.add(message)
    session.add(
        TranscriptEntry(
            channel=channel,
            chat_id=chat_id,
            user_id=user_id,
            direction="out",
            kind=kind,
            text=text,
            payload=payload,
        )
    )
    return message
