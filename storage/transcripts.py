"""Reading a producer's conversation: the transcript lines of all its members' chats, newest
last, a page at a time by id (keyset paging: as fast on the last page of a busy producer as on
the first), with each reply's delivery status, the official who wrote it, and the document file
a file sent became."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ChannelIdentity,
    DocumentFile,
    Official,
    OutboxMessage,
    ProducerMember,
    TranscriptEntry,
)
from storage.states import TranscriptDirection

__all__ = ["PAGE_SIZE", "Line", "TranscriptPage", "transcript_page"]

PAGE_SIZE = 50


@dataclass(frozen=True)
class Line:
    """One message in or out, as the transcript page shows it."""

    id: int
    at: datetime
    incoming: bool
    kind: str
    text: str
    buttons: list[str] = field(default_factory=list)
    file_name: str | None = None  # a file the producer sent
    file_kind: str | None = None
    file_id: int | None = None  # its document file (the console's file page), when known
    delivery: str | None = None  # an outgoing line's outbox status
    failure: str | None = None
    official_id: int | None = None
    official_name: str | None = None
    official_role: str | None = None


@dataclass(frozen=True)
class TranscriptPage:
    """A page of lines (oldest first) and the ids to page from, None at either end."""

    lines: list[Line]
    earlier: int | None  # ?before= this id shows the page before
    later: int | None  # ?after= this id shows the page after


async def _chats(
    session: AsyncSession, producer_id: int
) -> tuple[list[tuple[str, str]], list[int]]:
    rows = await session.execute(
        select(ChannelIdentity.channel, ChannelIdentity.chat_id, ChannelIdentity.user_id)
        .join(ProducerMember, ProducerMember.user_id == ChannelIdentity.user_id)
        .where(ProducerMember.producer_id == producer_id)
    )
    chats, users = [], set()
    for channel, chat_id, user_id in rows:
        chats.append((channel, chat_id))
        users.add(user_id)
    return chats, sorted(users)


async def transcript_page(
    session: AsyncSession,
    producer_id: int,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> TranscriptPage:
    """The lines of the producer's chats before ``before`` (or after ``after``; by default the
    newest), oldest first."""
    chats, users = await _chats(session, producer_id)
    if not chats:
        return TranscriptPage([], None, None)
    # One query per chat (a producer has a few), each a range of the (channel, chat_id, id)
    # index, merged here: no plan can fall back to scanning the whole transcript.
    rows = []
    for channel, chat_id in chats:
        query = select(TranscriptEntry).where(
            TranscriptEntry.channel == channel, TranscriptEntry.chat_id == chat_id
        )
        if after is not None:
            query = query.where(TranscriptEntry.id > after).order_by(TranscriptEntry.id)
        else:
            if before is not None:
                query = query.where(TranscriptEntry.id < before)
            query = query.order_by(TranscriptEntry.id.desc())
        rows += list(await session.scalars(query.limit(size + 1)))
    rows.sort(key=lambda row: row.id, reverse=after is None)
    rows = rows[: size + 1]
    more = len(rows) > size
    rows = rows[:size]
    if after is None:
        rows.reverse()
    if not rows:
        return TranscriptPage([], None, None)
    # Paging from a line means there are lines on its other side (that one at least).
    if after is None:
        earlier, later = (rows[0].id if more else None), (rows[-1].id if before else None)
    else:
        earlier, later = rows[0].id, (rows[-1].id if more else None)
    return TranscriptPage(await _lines(session, rows, users), earlier, later)


async def _lines(
    session: AsyncSession, rows: list[TranscriptEntry], users: list[int]
) -> list[Line]:
    outbox_ids = [r.outbox_id for r in rows if r.outbox_id is not None]
    deliveries: dict[int, tuple[str, str | None]] = {}
    if outbox_ids:
        found = await session.execute(
            select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.failure_reason).where(
                OutboxMessage.id.in_(outbox_ids)
            )
        )
        deliveries = {i: (status, reason) for i, status, reason in found}
    official_ids = {r.official_id for r in rows if r.official_id is not None}
    names: dict[int, tuple[str, str]] = {}
    if official_ids:
        found_names = await session.execute(
            select(Official.id, Official.display_name, Official.role).where(
                Official.id.in_(official_ids)
            )
        )
        names = {i: (name, role) for i, name, role in found_names}
    files = {
        uid: _file_of(r.payload)
        for r in rows
        if r.direction == TranscriptDirection.IN and (uid := _unique_id(r.payload))
    }
    file_ids: dict[str, int] = {}
    if files:
        found_files = await session.execute(
            select(DocumentFile.platform_unique_id, DocumentFile.id)
            .where(
                DocumentFile.platform_unique_id.in_(list(files)),
                DocumentFile.uploaded_by.in_(users),
            )
            .order_by(DocumentFile.id)
        )
        file_ids = {uid: file_id for uid, file_id in found_files}
    return [_line(r, deliveries, names, file_ids) for r in rows]


def _unique_id(payload: dict[str, Any]) -> str:
    file = payload.get("file")
    return str(file.get("unique_id") or "") if isinstance(file, dict) else ""


def _file_of(payload: dict[str, Any]) -> dict[str, Any]:
    file = payload.get("file")
    return file if isinstance(file, dict) else {}


def _line(
    row: TranscriptEntry,
    deliveries: dict[int, tuple[str, str | None]],
    names: dict[int, tuple[str, str]],
    file_ids: dict[str, int],
) -> Line:
    incoming = row.direction == TranscriptDirection.IN
    payload = row.payload or {}
    file = _file_of(payload) if incoming else {}
    buttons = [] if incoming else _button_labels(payload)
    status, reason = deliveries.get(row.outbox_id or 0, (None, None))
    author, role = names.get(row.official_id or 0, (None, None))
    return Line(
        id=row.id,
        at=row.created_at,
        incoming=incoming,
        kind=row.kind,
        text=row.text,
        buttons=buttons,
        file_name=(str(file.get("name") or "") or None) if file else None,
        file_kind=("photo" if file.get("is_photo") else str(file.get("mime_type") or ""))
        if file
        else None,
        file_id=file_ids.get(_unique_id(payload)) if file else None,
        delivery=status,
        failure=reason,
        official_id=row.official_id,
        official_name=author,
        official_role=role,
    )


def _button_labels(payload: dict[str, Any]) -> list[str]:
    rows = payload.get("buttons") or []
    return [
        str(button[0])
        for row in rows
        if isinstance(row, list)
        for button in row
        if isinstance(button, list) and button
    ]
