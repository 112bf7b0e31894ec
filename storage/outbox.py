"""Queueing messages: each outbox row goes with its transcript line, always together.

Rows are written with two bulk inserts (outbox, then the transcript lines naming their rows),
in the caller's transaction. A payload's ``secrets`` (e.g. a join code in an invitation) are
masked in the transcript line; the outbox row carries them only until its message is
delivered or given up (:func:`forget_secrets`, called by the sender), so no plain secret stays
at rest after that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import utcnow
from storage.models import OutboxMessage, TranscriptEntry
from storage.states import OUTBOX_WAITING, OutboxKind, OutboxStatus, TranscriptDirection

__all__ = [
    "MASK",
    "MessageGroup",
    "Outgoing",
    "forget_secrets",
    "mask_secrets",
    "queue_message_groups",
    "queue_messages",
]

MASK = "••••"
# Plain tables: every row of an insert names every column, in one statement.
OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]
TRANSCRIPT: Table = TranscriptEntry.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Outgoing:
    """A message to send to one chat; ``text`` is what the transcript shows."""

    channel: str
    chat_id: str
    user_id: int | None
    payload: dict[str, Any]
    text: str
    kind: str = OutboxKind.REPLY
    priority: int = 0
    inbox_id: int | None = None
    official_id: int | None = None  # written by an official in the console (None: the bot)
    expires_at: datetime | None = None  # not worth sending after this


def mask_secrets(payload: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    """``payload`` (a reply) without its secrets: each one in its text and title masked."""
    secrets = payload.get("secrets") or []
    masked = {k: v for k, v in payload.items() if k != "secrets"}
    for key in ("text", "title"):
        if isinstance(masked.get(key), str):
            masked[key] = _mask(masked[key], secrets)
    return masked


def _mask(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text


async def forget_secrets(session: AsyncSession, row_ids: list[int]) -> None:
    """Masks the secrets of these outbox rows once they no longer wait to be sent."""
    if not row_ids:
        return
    rows = await session.execute(
        select(OutboxMessage.id, OutboxMessage.payload).where(
            OutboxMessage.id.in_(row_ids), OutboxMessage.status.not_in(OUTBOX_WAITING)
        )
    )
    for row_id, payload in rows:
        if payload.get("secrets"):
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(payload=mask_secrets(payload))
            )


async def queue_messages(
    session: AsyncSession, messages: list[Outgoing], *, inbound: dict[str, Any] | None = None
) -> list[int]:
    """Add messages to send, and to their chats' transcripts, in the caller's transaction.

    Each transcript line of a message keeps the id of its outbox row (its delivery status).
    ``inbound`` is the transcript line of the message they answer (direction in), written
    in the same insert. Returns the messages' outbox ids, in order.
    """
    return await queue_message_groups(session, [(inbound, messages)])


MessageGroup = tuple[dict[str, Any] | None, list[Outgoing]]


async def queue_message_groups(
    session: AsyncSession, groups: list[MessageGroup], *, now: datetime | None = None
) -> list[int]:
    """:func:`queue_messages` for several groups (an inbound line, if any, then the messages
    answering it) in two statements: one insert into the outbox, one into the transcript,
    whose lines keep the groups' order. Returns the outbox ids, in order."""
    now = now or utcnow()
    messages = [m for _, group in groups for m in group]
    outbox_ids: list[int] = []
    if messages:
        rows = [
            {
                "channel": m.channel,
                "chat_id": m.chat_id,
                "kind": m.kind,
                "priority": m.priority,
                "payload": m.payload,
                "inbox_id": m.inbox_id,
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "expires_at": m.expires_at,
            }
            for m in messages
        ]
        if session.get_bind().dialect.name == "sqlite":
            # The transaction holds the file's one write lock, so the rowids of one insert
            # follow its rows' order (asking SQLAlchemy to sort would insert row by row).
            outbox_ids = sorted(await session.scalars(insert(OUTBOX).returning(OUTBOX.c.id), rows))
        else:
            returning = insert(OUTBOX).returning(OUTBOX.c.id, sort_by_parameter_order=True)
            outbox_ids = list(await session.scalars(returning, rows))
    ids = iter(outbox_ids)
    lines: list[dict[str, Any]] = []
    for inbound, group in groups:
        if inbound:
            lines.append({**_NO_OUTBOX, **inbound, "direction": TranscriptDirection.IN,
                          "created_at": now})  # fmt: skip
        lines += [
            {
                "channel": m.channel,
                "chat_id": m.chat_id,
                "user_id": m.user_id,
                "direction": TranscriptDirection.OUT,
                "kind": m.kind,
                "text": _mask(m.text, m.payload.get("secrets") or []),
                "payload": mask_secrets(m.payload),
                "created_at": now,
                "outbox_id": next(ids),
                "official_id": m.official_id,
            }
            for m in group
        ]
    if lines:
        await session.execute(insert(TRANSCRIPT), lines)
    return outbox_ids


# Inbound lines carry no outbox row nor official: every line of one insert has the same keys.
_NO_OUTBOX: dict[str, Any] = {"outbox_id": None, "official_id": None}
