"""Officials' chats: linking a chat with a one-time code from the console, how each official
wants to hear of events in their area, and the events waiting for a daily digest.

A link code is made, shown once and stored like a join code (``storage/members.py``: the same
alphabet, a plain selector and a slow salted hash, one live code per official, revoked after
too many wrong tries at its selector); it is short-lived (:data:`LINK_CODE_VALIDITY`) and works
once. Wrong codes count with the wrong join codes of the same chat user (``join_attempts``), so
whoever guesses at codes of either kind is slowed by one limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import audit
from storage.clock import Clock
from storage.members import (
    SELECTOR_LENGTH,
    CodeTable,
    JoinRefused,
    draw_code,
    hash_code,
    live_codes,
    take_code,
)
from storage.models import (
    ChannelIdentity,
    JoinAttempt,
    Official,
    OfficialChat,
    OfficialDigestItem,
    OfficialLinkCode,
)
from storage.states import ActorKind, NotifyMode

__all__ = [
    "DIGEST_HOURS",
    "LINK_CODE_VALIDITY",
    "LINK_PREFIX",
    "PURPOSE",
    "Recipient",
    "add_digest_item",
    "chat_of",
    "create_link_code",
    "digest_items",
    "live_code_expiry",
    "mark_digest_sent",
    "recipients",
    "redeem_link_code",
    "set_preference",
    "unlink_chat",
]

LINK_CODE_VALIDITY = timedelta(minutes=15)
LINK_PREFIX = "o-"  # a link's start payload: ``t.me/<bot>?start=o-<code>``
PURPOSE = "official"  # the hash's salt keeps these codes apart from join codes
DIGEST_HOURS = range(7, 21)  # the hours a digest may be chosen for: never at night
LINK_CODES = CodeTable(
    model=OfficialLinkCode,
    purpose=PURPOSE,
    owner_entity="official",
    owner_id=lambda code: code.official_id,
    revoked_action="official.link_code_revoked",
    attempts_name_code=False,  # join_attempts.join_code_id points at join codes only
)


async def chat_of(session: AsyncSession, official_id: int) -> OfficialChat | None:
    """The official's chat settings (None: never linked nor set)."""
    return await session.get(OfficialChat, official_id)


async def _chat_row(session: AsyncSession, official_id: int) -> OfficialChat:
    row = await chat_of(session, official_id)
    if row is None:
        row = OfficialChat(official_id=official_id, mode=NotifyMode.EVERY, digest_hour=8)
        session.add(row)
        await session.flush()
    return row


async def create_link_code(session: AsyncSession, official_id: int, clock: Clock) -> str:
    """A new link code for the official (their older live code is revoked); returned once."""
    now = clock.now()
    code = await draw_code(
        session, OfficialLinkCode, OfficialLinkCode.official_id == official_id, clock
    )
    session.add(
        OfficialLinkCode(
            official_id=official_id,
            selector=code[:SELECTOR_LENGTH],
            code_hash=hash_code(code, PURPOSE),
            created_at=now,
            expires_at=now + LINK_CODE_VALIDITY,
            failed_attempts=0,
        )
    )
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=official_id,
        action="official.link_code_created",
        entity="official",
        entity_id=official_id,
    )
    return code


async def live_code_expiry(
    session: AsyncSession, official_id: int, clock: Clock
) -> datetime | None:
    """When the official's live link code stops working (None: no live code)."""
    return await session.scalar(
        select(OfficialLinkCode.expires_at)
        .where(OfficialLinkCode.official_id == official_id, *live_codes(OfficialLinkCode, clock))
        .order_by(OfficialLinkCode.id.desc())
        .limit(1)
    )


async def redeem_link_code(
    session: AsyncSession,
    typed: str,
    *,
    user_id: int,
    channel: str,
    chat_id: str,
    clock: Clock,
) -> Official | JoinRefused:
    """Link this chat to the code's official (unlinking it from any other), or say why not."""
    row = await take_code(session, LINK_CODES, typed, user_id, clock)
    if isinstance(row, JoinRefused):
        return row
    now = row.used_at
    official = await session.get_one(Official, row.official_id)
    if official.disabled_at is not None:
        return JoinRefused.REVOKED
    await session.execute(  # a chat hears for one official only
        update(OfficialChat)
        .where(OfficialChat.channel == channel, OfficialChat.chat_id == chat_id)
        .values(channel=None, chat_id=None, user_id=None, linked_at=None)
    )
    chat = await _chat_row(session, official.id)
    chat.channel, chat.chat_id, chat.user_id, chat.linked_at = channel, chat_id, user_id, now
    session.add(JoinAttempt(user_id=user_id, join_code_id=None, succeeded=True, at=now))
    audit(
        session,
        actor_kind=ActorKind.USER,
        actor_id=user_id,
        action="official.chat_linked",
        entity="official",
        entity_id=official.id,
        channel=channel,
    )
    return official


async def unlink_chat(session: AsyncSession, official_id: int, clock: Clock) -> None:
    """The official's chat no longer gets notifications (audited); pending digest items go."""
    chat = await chat_of(session, official_id)
    if chat is None or chat.chat_id is None:
        return
    chat.channel = chat.chat_id = None
    chat.user_id = chat.linked_at = None
    await session.execute(
        update(OfficialDigestItem)
        .where(OfficialDigestItem.official_id == official_id, OfficialDigestItem.sent_at.is_(None))
        .values(sent_at=clock.now())
    )
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=official_id,
        action="official.chat_unlinked",
        entity="official",
        entity_id=official_id,
    )


async def set_preference(
    session: AsyncSession, official_id: int, mode: NotifyMode, digest_hour: int
) -> None:
    """How the official hears of events; ``digest_hour`` must be one of :data:`DIGEST_HOURS`."""
    if digest_hour not in DIGEST_HOURS:
        raise ValueError(f"a digest hour is between {DIGEST_HOURS.start} and {DIGEST_HOURS.stop}")
    chat = await _chat_row(session, official_id)
    chat.mode, chat.digest_hour = mode, digest_hour
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=official_id,
        action="official.notifications_set",
        entity="official",
        entity_id=official_id,
        mode=str(mode),
        digest_hour=digest_hour,
    )


@dataclass(frozen=True)
class Recipient:
    """An official whose linked chat hears of events (not muted, not disabled)."""

    official: Official
    chat: OfficialChat


async def recipients(session: AsyncSession) -> list[Recipient]:
    """Every official with a linked chat who is neither muted nor disabled, and whose chat has
    not blocked the bot."""
    blocked = (
        select(ChannelIdentity.id)
        .where(
            ChannelIdentity.channel == OfficialChat.channel,
            ChannelIdentity.chat_id == OfficialChat.chat_id,
            ChannelIdentity.blocked_at.is_not(None),
        )
        .exists()
    )
    rows = await session.execute(
        select(Official, OfficialChat)
        .join(OfficialChat, OfficialChat.official_id == Official.id)
        .where(
            OfficialChat.chat_id.is_not(None),
            OfficialChat.mode != NotifyMode.MUTED,
            Official.disabled_at.is_(None),
            ~blocked,
        )
        .order_by(Official.id)
    )
    return [Recipient(official, chat) for official, chat in rows]


def add_digest_item(
    session: AsyncSession,
    official_id: int,
    *,
    event: str,
    producer_id: int,
    product_id: int | None,
    path: str,
    clock: Clock,
) -> None:
    """An event kept for the official's next digest."""
    session.add(
        OfficialDigestItem(
            official_id=official_id,
            event=event,
            producer_id=producer_id,
            product_id=product_id,
            path=path[:200],
            created_at=clock.now(),
        )
    )


async def digest_items(session: AsyncSession, official_id: int) -> list[OfficialDigestItem]:
    """The official's events not yet sent in a digest, oldest first."""
    rows = await session.scalars(
        select(OfficialDigestItem)
        .where(OfficialDigestItem.official_id == official_id, OfficialDigestItem.sent_at.is_(None))
        .order_by(OfficialDigestItem.id)
    )
    return list(rows)


async def mark_digest_sent(
    session: AsyncSession, chat: OfficialChat, items: list[OfficialDigestItem], on: date,
    clock: Clock,
) -> None:  # fmt: skip
    """The digest of ``on`` (a Vietnam date) went with ``items``."""
    now = clock.now()
    for item in items:
        item.sent_at = now
    chat.last_digest_on = on
