"""Telling officials in chat of what happens in their area: a new registration, a dossier
submitted, a corrected document uploaded, a producer's question; and of trouble with the bot
itself that only people can fix (:func:`alert_zalo_token_failed`).

:func:`notify_officials` runs in the transaction of the event it tells of: for every official
whose scope (``storage.officials.Scope``) covers the producer and whose linked chat is not
muted, it queues a message through the outbox (in the official's language, with the link to
the page in the console) or, for officials who chose a daily digest, keeps the event for it.
:func:`send_due_digests` (run every minute by :func:`run_digests`, started by ``serve``) sends
each digest official one message a day at their hour (Vietnam time), never at night.

Names go into the text as plain text; the channels escape it (Telegram sends HTML with the text
escaped), so a producer called ``<b>`` is shown as typed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_, Translator, translator
from bot.notify import NOTIFICATION_PRIORITY
from bot.vocabulary import Button, Reply
from storage.clock import LOCAL_TIMEZONE, Clock
from storage.db import Database
from storage.models import OfficialChat, OfficialDigestItem, Producer, Product
from storage.official_chats import (
    DIGEST_HOURS,
    Recipient,
    add_digest_item,
    digest_items,
    mark_digest_sent,
    recipients,
)
from storage.officials import scope_of
from storage.outbox import Outgoing, queue_messages
from storage.states import NotifyMode, OfficialEvent, OfficialRole, OutboxKind

__all__ = [
    "DIGEST_LINES",
    "alert_zalo_token_failed",
    "console_link",
    "notify_officials",
    "run_digests",
    "send_due_digests",
    "set_console_url",
]

log = logging.getLogger(__name__)

DIGEST_LINES = 30  # a digest lists at most this many events, then says how many more
EVENT_TEXTS = {
    OfficialEvent.REGISTERED: N_("🆕 New registration: {producer}."),
    OfficialEvent.SUBMITTED: N_("📨 Dossier submitted: {product} of {producer}."),
    OfficialEvent.REUPLOADED: N_("✏️ Corrected document uploaded: {product} of {producer}."),
    OfficialEvent.QUESTION: N_("❓ New question from {producer}."),
}
ZALO_TOKEN_FAILED = N_(
    "⚠️ The bot can no longer send messages on Zalo: Zalo refused the Official Account's "
    "refresh token ({reason}). Messages to Zalo users wait. Whoever runs the bot must "
    "authorise the OA again and set the new refresh token with the command "
    "“ocop-bot zalo set-refresh-token”."
)
ALERTED_ROLES = (OfficialRole.PROVINCE, OfficialRole.ADMIN)
_console_url = ""


def set_console_url(url: str | None) -> None:
    """The console's absolute base URL (``OCOP_CONSOLE_URL``, e.g. ``https://ocop.example.vn``)
    that links in messages start with; without it they show the path alone."""
    global _console_url
    _console_url = (url or "").rstrip("/")


def console_link(path: str) -> str:
    """The absolute link to a console page (``path`` starts with ``/console/``)."""
    return f"{_console_url}{path}"


def _default_path(event: OfficialEvent, producer: Producer, dossier_id: int | None) -> str:
    if event is OfficialEvent.QUESTION:
        return "/console/questions"
    if event is OfficialEvent.REGISTERED or dossier_id is None:
        return f"/console/producers/{producer.id}"
    return f"/console/dossiers/{dossier_id}"


def _describe(t: Translator, event: str, producer: str, product: str) -> str:
    return t.gettext(EVENT_TEXTS[OfficialEvent(event)]).format(producer=producer, product=product)


def _with_link(t: Translator, text: str, link: str) -> Reply:
    """``text`` with a button that opens ``link`` (an absolute HTTPS link: a channel without
    link buttons shows it as text), or with the link in the text (a bare path)."""
    if link.startswith("https://"):
        button = Button(t.gettext("Open in the console"), "", url=link)
        return Reply(text=text, buttons=[[button]], locale=t.locale)
    text += "\n" + t.gettext("Open in the console: {link}").format(link=link)
    return Reply(text=text, locale=t.locale)


def _outgoing(recipient: Recipient, reply: Reply) -> Outgoing:
    chat = recipient.chat
    assert chat.channel is not None and chat.chat_id is not None
    return Outgoing(
        channel=chat.channel,
        chat_id=chat.chat_id,
        user_id=chat.user_id,
        payload=reply.to_json(),
        text=reply.plain_text(),
        kind=OutboxKind.NOTIFICATION,
        priority=NOTIFICATION_PRIORITY,
    )


async def notify_officials(
    session: AsyncSession,
    *,
    producer: Producer,
    event: OfficialEvent,
    clock: Clock,
    product: Product | None = None,
    dossier_id: int | None = None,
    path: str | None = None,
) -> int:
    """Tell the officials responsible for ``producer`` of ``event``, in the caller's
    transaction; returns how many officials were told or will be in their digest.

    ``path`` is the console page to open (default: the dossier for dossier events, the
    producer for a registration, the questions for a question).
    """
    page = path or _default_path(event, producer, dossier_id)
    messages = []
    told = 0
    for recipient in await recipients(session):
        scope = await scope_of(session, recipient.official)
        if not await scope.may_see_producer(session, producer.id):
            continue
        told += 1
        if recipient.chat.mode == NotifyMode.DIGEST:
            add_digest_item(
                session,
                recipient.official.id,
                event=event,
                producer_id=producer.id,
                product_id=product.id if product else None,
                path=page,
                clock=clock,
            )
            continue
        t = translator(recipient.official.locale)
        text = _describe(t, event, producer.name, product.name if product else "")
        messages.append(_outgoing(recipient, _with_link(t, text, console_link(page))))
    await queue_messages(session, messages)
    return told


async def alert_zalo_token_failed(session: AsyncSession, *, reason: str) -> int:
    """Tell every province official and administrator with a linked chat (not muted) that
    Zalo refused the OA's refresh token, at once whatever their digest choice, in the caller's
    transaction (the one that marks the token failed, so the alert goes once); returns how
    many."""
    messages = []
    for recipient in await recipients(session):
        if recipient.official.role not in ALERTED_ROLES:
            continue
        t = translator(recipient.official.locale)
        text = t.gettext(ZALO_TOKEN_FAILED).format(reason=reason)
        messages.append(_outgoing(recipient, Reply(text=text, locale=t.locale)))
    await queue_messages(session, messages)
    return len(messages)


def _due(chat: OfficialChat, local: datetime) -> bool:
    """Whether ``chat``'s digest of today (``local``: Vietnam time) is due now."""
    if local.hour not in DIGEST_HOURS or local.hour < chat.digest_hour:
        return False
    return chat.last_digest_on is None or chat.last_digest_on < local.date()


async def _digest_text(
    session: AsyncSession, t: Translator, items: list[OfficialDigestItem]
) -> str:
    producers = {
        p.id: p.name
        for p in await session.scalars(
            select(Producer).where(Producer.id.in_({i.producer_id for i in items}))
        )
    }
    product_ids = {i.product_id for i in items if i.product_id is not None}
    products = {
        p.id: p.name
        for p in await session.scalars(select(Product).where(Product.id.in_(product_ids)))
    }
    lines = [
        t.ngettext(
            "Your daily summary: {n} event in your area.",
            "Your daily summary: {n} events in your area.",
            len(items),
        ).format(n=len(items))
    ]
    for item in items[:DIGEST_LINES]:
        what = _describe(
            t,
            item.event,
            producers.get(item.producer_id, ""),
            products.get(item.product_id, "") if item.product_id else "",
        )
        lines.append(f"• {what} {console_link(item.path)}")
    if len(items) > DIGEST_LINES:
        more = len(items) - DIGEST_LINES
        lines.append(t.gettext("…and {n} more: see the console.").format(n=more))
    return "\n".join(lines)


async def send_due_digests(db: Database, clock: Clock) -> int:
    """Queue today's digest of every digest official whose hour has come; returns how many.

    The day is claimed by an update of ``last_digest_on`` first, so two processes never send
    one official's digest twice.
    """
    local = clock.now().astimezone(LOCAL_TIMEZONE)
    sent = 0
    async with db.transaction() as session:
        for recipient in await recipients(session):
            chat = recipient.chat
            if chat.mode != NotifyMode.DIGEST or not _due(chat, local):
                continue
            claimed = await session.execute(
                update(OfficialChat)
                .where(
                    OfficialChat.official_id == chat.official_id,
                    or_(
                        OfficialChat.last_digest_on.is_(None),
                        OfficialChat.last_digest_on < local.date(),
                    ),
                )
                .values(last_digest_on=local.date())
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue
            items = await digest_items(session, chat.official_id)
            if not items:
                continue
            t = translator(recipient.official.locale)
            text = await _digest_text(session, t, items)
            await mark_digest_sent(session, chat, items, local.date(), clock)
            reply = Reply(text=text, locale=t.locale)
            await queue_messages(session, [_outgoing(recipient, reply)])
            sent += 1
    return sent


async def run_digests(
    db: Database, clock: Clock, stop: asyncio.Event, interval: timedelta = timedelta(minutes=1)
) -> None:
    """Send the digests that are due, every ``interval``, until ``stop``."""
    while not stop.is_set():
        try:
            await send_due_digests(db, clock)
        except Exception:  # a failed pass is logged and tried again next time
            log.exception("sending the officials' digests failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval.total_seconds())
