"""Messages the bot starts (not replies): queued in the same outbox, after live replies.

Each recipient gets the text in their own language; the message and its transcript line are
written in the caller's transaction, so a notification exists exactly when its cause does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flow import sign_reply
from bot.i18n import Translator, translator
from bot.vocabulary import ChatKey, Reply
from storage.models import ChannelIdentity, ProducerMember, User
from storage.outbox import Outgoing, queue_messages
from storage.states import OutboxKind

__all__ = ["NOTIFICATION_PRIORITY", "notify_producer", "notify_user"]

NOTIFICATION_PRIORITY = 5  # replies to live conversations (0) go first


async def notify_producer(
    session: AsyncSession,
    producer_id: int,
    message: Callable[[Translator], Reply],
    *,
    official_id: int | None = None,
) -> int:
    """Queue ``message`` for every reachable person of a producer; returns how many.

    ``official_id``: the official who wrote it (the transcript shows them)."""
    rows = await session.execute(
        select(ChannelIdentity, User)
        .join(User, User.id == ChannelIdentity.user_id)
        .join(ProducerMember, ProducerMember.user_id == User.id)
        .where(ProducerMember.producer_id == producer_id, ChannelIdentity.blocked_at.is_(None))
    )
    return await _queue(
        session, [(identity, user) for identity, user in rows], message, official_id
    )


async def notify_user(
    session: AsyncSession,
    user_id: int,
    message: Callable[[Translator], Reply],
    *,
    besides: ChatKey | None = None,
) -> int:
    """Queue ``message`` for every reachable chat of one person but ``besides`` (the chat a
    step answers anyway); returns how many."""
    rows = await session.execute(
        select(ChannelIdentity, User)
        .join(User, User.id == ChannelIdentity.user_id)
        .where(User.id == user_id, ChannelIdentity.blocked_at.is_(None))
        .order_by(ChannelIdentity.id)
    )
    chats = [
        (identity, user)
        for identity, user in rows
        if besides is None or ChatKey(identity.channel, identity.chat_id) != besides
    ]
    return await _queue(session, chats, message, None)


async def _queue(
    session: AsyncSession,
    chats: Sequence[tuple[ChannelIdentity, User]],
    message: Callable[[Translator], Reply],
    official_id: int | None,
) -> int:
    """``message`` as a notification to each chat, in its person's language."""
    messages = []
    for identity, user in chats:
        t = translator(user.locale)
        reply = replace(sign_reply(message(t), None), locale=t.locale)
        messages.append(
            Outgoing(
                channel=identity.channel,
                chat_id=identity.chat_id,
                user_id=user.id,
                payload=reply.to_json(),
                text=reply.plain_text(),
                kind=OutboxKind.NOTIFICATION,
                priority=NOTIFICATION_PRIORITY,
                official_id=official_id,
            )
        )
    await queue_messages(session, messages)
    return len(messages)
