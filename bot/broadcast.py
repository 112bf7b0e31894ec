"""Announcements going out: their deliveries made when they fall due, queued in the outbox a
window at a time in each person's language, and the announcement finished when none is open.

Every part is rows (:mod:`storage.announcements`, :mod:`storage.deliveries`), so a process that
stops anywhere leaves nothing half done: the next run of any process makes the rest of the
deliveries (where the last batch stopped), queues those still waiting and settles the rest as
the sender records them. The outbox holds at most ``window`` of a broadcast's messages, so it
never swamps live replies (which go first anyway: :data:`ANNOUNCEMENT_PRIORITY`) and a
cancelled announcement stops within a window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filetypes import FileKind
from bot.flow import sign_reply
from bot.i18n import translator
from bot.vocabulary import Attachment, Button, Reply
from storage.announcements import DEFAULT_LANGUAGE, materialize_deliveries
from storage.clock import SYSTEM_CLOCK, Clock
from storage.db import Database
from storage.deliveries import (
    ToQueue,
    attach_outbox,
    due_announcements,
    expire_waiting,
    finish_announcements,
    queued_count,
    sending_announcements,
    take_waiting,
)
from storage.models import Announcement
from storage.outbox import Outgoing, queue_messages
from storage.states import OutboxKind

__all__ = [
    "ANNOUNCEMENT_PRIORITY",
    "FILE_KINDS",
    "MAX_FILE",
    "Broadcaster",
    "announcement_reply",
    "window_for",
]

log = logging.getLogger(__name__)

ANNOUNCEMENT_PRIORITY = 10  # after live replies (0) and notifications (5)
# What file an announcement may carry (the console's form and `ocop-bot broadcast` check it).
FILE_KINDS = frozenset({FileKind.PDF, FileKind.JPEG, FileKind.PNG})
MAX_FILE = 20 * 1024 * 1024
# A copy rewrites its outbox and delivery rows three times (queued, sending, sent) and
# PostgreSQL keeps each old version, and its index entries, until a vacuum: the sender's and
# the broadcaster's index scans then wade through every copy sent so far, and the rate halves
# within a minute (bench/README.md, broadcast). Autovacuum may be late, or off: every 2,000
# copies, the broadcaster vacuums the two tables itself.
VACUUM_EVERY = 2000
BUSY_TABLES = ("outbox", "deliveries")


def announcement_reply(announcement: Announcement, locale: str | None) -> Reply:
    """The announcement as one person gets it: the English text for someone who chose English
    when the official wrote one (the Vietnamese otherwise), buttons in the same language, and
    how to stop announcements in the person's language; the file, if any, with it."""
    language = locale or DEFAULT_LANGUAGE
    english = language == "en" and bool(announcement.text_en)
    t = translator(language)
    text = (announcement.text_en if english else None) or announcement.text_vi
    footer = t.gettext("To stop receiving announcements, send /mute.")
    label = "label_en" if english else "label_vi"
    buttons = [
        [Button(button.get(label) or button["label_vi"], button["command"])]
        for button in announcement.buttons
    ]
    attachment = (
        Attachment(
            announcement.file_sha256, announcement.file_name or "", announcement.file_mime or ""
        )
        if announcement.file_sha256
        else None
    )
    reply = Reply(
        text=f"{text}\n\n{footer}",
        title=t.gettext("📢 Announcement from the OCOP office"),
        buttons=buttons,
        locale=t.locale,
        attachment=attachment,
    )
    return sign_reply(reply, None)


class Broadcaster:
    """Makes, queues and finishes the deliveries of announcements that are due."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = SYSTEM_CLOCK,
        window: int = 200,
        batch: int = 1000,
        chunk: int = 50,
        interval: float = 0.5,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        """``window``: the most of announcements' messages in the outbox at once (a few
        seconds of the send rate), topped up once half of it has gone, ``chunk`` messages per
        transaction; ``batch``: recipients made per transaction."""
        self.db = db
        self.clock = clock
        self.window = window
        self.batch = batch
        self.chunk = chunk
        self.interval = interval
        self.on_queued = on_queued
        self._wake = asyncio.Event()
        self._since_vacuum = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("broadcaster started")
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.step()
            except Exception:
                log.exception("broadcast step failed; trying again in %.1f s", self.interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
        log.info("broadcaster stopped")

    async def step(self) -> int:
        """Starts what is due, queues what the window allows and finishes what is done;
        returns how many messages it queued. Reads first: it writes (and so takes SQLite's
        one writer from the sender) only when there is something to write."""
        now = self.clock.now()
        async with self.db.sessions() as session:
            due = await due_announcements(session, now)
        for announcement_id in due:
            await self.make_deliveries(announcement_id)
        async with self.db.sessions() as session:
            sending = await sending_announcements(session)
            queued = await queued_count(session) if sending else 0
        if not sending:
            return 0
        if any(expires is not None and expires < now for _id, expires in sending):
            async with self.db.transaction() as session:
                expired = await expire_waiting(session, now)
            if expired:
                log.info("%d deliveries too old to send (their announcement expired)", expired)
        added = 0
        if queued <= self.window // 2:  # top up in a few larger batches, not after each send
            while (room := self.window - queued - added) > 0:
                async with self.db.transaction() as session:
                    batch = await self._queue(session, min(room, self.chunk))
                if not batch:
                    break
                added += batch
                if self.on_queued is not None:
                    self.on_queued()
        self._since_vacuum += added
        if self._since_vacuum >= VACUUM_EVERY:
            self._since_vacuum = 0
            await self.db.vacuum(BUSY_TABLES)
        if not queued and not added:
            async with self.db.transaction() as session:
                for announcement_id in await finish_announcements(session, now):
                    log.info("announcement %d: every delivery settled", announcement_id)
        return added

    async def make_deliveries(self, announcement_id: int) -> int:
        """All of an announcement's deliveries, a batch per transaction, from where the last
        batch stopped; returns how many were added."""
        added = 0
        while True:
            async with self.db.transaction() as session:
                made = await materialize_deliveries(
                    session, announcement_id, now=self.clock.now(), batch_size=self.batch
                )
            added += made.added
            if made.done:
                return added

    async def _queue(self, session: AsyncSession, limit: int) -> int:
        """The next ``limit`` waiting deliveries into the outbox (each with its message and
        transcript line) in ``session``'s transaction."""
        taken = await take_waiting(session, limit)
        if not taken:
            return 0
        announcements = await self._announcements(session, {d.announcement_id for d in taken})
        messages = [self._message(announcements[d.announcement_id], d) for d in taken]
        outbox_ids = await queue_messages(session, messages)
        await attach_outbox(
            session, [(d.delivery_id, o) for d, o in zip(taken, outbox_ids, strict=True)]
        )
        return len(taken)

    @staticmethod
    async def _announcements(session: AsyncSession, ids: set[int]) -> dict[int, Announcement]:
        rows = await session.scalars(select(Announcement).where(Announcement.id.in_(ids)))
        return {row.id: row for row in rows.all()}

    @staticmethod
    def _message(announcement: Announcement, delivery: ToQueue) -> Outgoing:
        reply = announcement_reply(announcement, delivery.locale)
        return Outgoing(
            channel=delivery.channel,
            chat_id=delivery.chat_id,
            user_id=delivery.user_id,
            payload=reply.to_json(),
            text=reply.plain_text(),
            kind=OutboxKind.ANNOUNCEMENT,
            priority=ANNOUNCEMENT_PRIORITY,
            official_id=announcement.created_by,
            expires_at=announcement.expires_at,
        )


def window_for(rate: float, seconds: float = 5.0, least: int = 50) -> int:
    """A window of ``seconds`` of sending at ``rate`` messages a second."""
    return max(least, int(rate * seconds))
