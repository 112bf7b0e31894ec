"""One person, several chats: a code that links a chat on another app (Telegram, Zalo) to the
person of this one, and unlinking a chat again.

A person is a ``users`` row; each of their chats is a ``channel_identities`` row with its
``conversations`` row; what they registered hangs off the person (``producer_members``…).

* :func:`create_link_code` makes a 6-digit code for a person, valid
  :data:`LINK_CODE_VALIDITY`, of which only a SHA-256 is kept; a new code ends the person's
  earlier unused ones (they answer "expired" from then on).
* :func:`redeem_link_code`, from another chat, moves that chat's person — every chat of theirs,
  with its conversation, code tries and codes — to the code's person, audited, and deletes the
  emptied ``users`` row unless something still refers to it. It refuses a code typed on the
  chat that asked for it, and a chat whose person has data of their own (a producer they speak
  for, products, files…): merging two registrations is for an OCOP officer, and the code's
  holder cannot be handed someone else's registration by whoever types it.
* :func:`unlink_chat` gives one of a person's chats a fresh person of its own, never the last.

Wrong codes count with wrong join codes (``join_attempts`` of the chat's person, read by
:func:`storage.members.retry_in`): a few an hour, then the chat waits. Codes of the wrong shape
are not counted. Times come from the :class:`~storage.clock.Clock` passed in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import cache

from sqlalchemy import Column, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import audit
from storage.clock import Clock
from storage.members import retry_in
from storage.models import (
    Base,
    ChannelIdentity,
    Conversation,
    JoinAttempt,
    LinkCode,
    OfficialChat,
    Producer,
    User,
)
from storage.producers import producer_of_user
from storage.states import ActorKind

__all__ = [
    "CODE_DIGITS",
    "LINK_CODE_VALIDITY",
    "LinkRefused",
    "Linked",
    "UnlinkRefused",
    "chats_of",
    "create_link_code",
    "has_own_data",
    "normalise_link_code",
    "redeem_link_code",
    "unlink_chat",
]

LINK_CODE_VALIDITY = timedelta(minutes=15)
CODE_DIGITS = 6
KEPT_AFTER_EXPIRY = timedelta(days=1)  # long enough to answer "used" or "expired", then gone
# Tables that follow a chat, not a person's data: moved with the chats when people merge.
CHAT_TABLES = frozenset({"channel_identities", "conversations", "join_attempts", "link_codes"})


class LinkRefused(StrEnum):
    """Why a link code did not link this chat."""

    MALFORMED = "malformed"  # not 6 digits (not counted as a try)
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"  # too old, or replaced by a newer code of the same person
    TOO_MANY = "too_many"  # this chat typed too many wrong codes lately
    SAME_CHAT = "same_chat"  # typed on the chat that asked for it
    ALREADY_LINKED = "already_linked"  # both chats are already the same person
    THIS_CHAT_REGISTERED = "this_chat_registered"  # the other way round would work
    BOTH_REGISTERED = "both_registered"  # two registrations: an officer merges them


class UnlinkRefused(StrEnum):
    """Why a chat was not unlinked."""

    NOT_FOUND = "not_found"  # not one of this person's chats
    ONLY_CHAT = "only_chat"  # a person keeps at least one chat


@dataclass(frozen=True)
class Linked:
    """A code that worked: the person the chat now belongs to, and what they registered."""

    user: User
    producer: Producer | None


def normalise_link_code(typed: str) -> str | None:
    """The code in ``typed`` ("123456", "123 456", "123-456"), or None when it is not one."""
    code = "".join(ch for ch in typed if ch not in " -.\t")
    if len(code) == CODE_DIGITS and code.isascii() and code.isdigit():
        return code
    return None


def _hash(code: str) -> str:
    return hashlib.sha256(f"ocop-link:{code}".encode()).hexdigest()


async def create_link_code(
    session: AsyncSession, user_id: int, *, channel: str, chat_id: str, clock: Clock
) -> str:
    """A new code for ``user_id``, asked for on this chat (their earlier unused codes stop
    working); returned once, stored hashed."""
    now = clock.now()
    await session.execute(
        update(LinkCode)
        .where(LinkCode.user_id == user_id, LinkCode.used_at.is_(None), LinkCode.expires_at > now)
        .values(expires_at=now)
    )
    await session.execute(delete(LinkCode).where(LinkCode.expires_at < now - KEPT_AFTER_EXPIRY))
    while True:  # hashes are unique: draw again on the rare code some kept row already has
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if await session.scalar(select(LinkCode.id).where(LinkCode.code_hash == _hash(code))):
            continue
        break
    session.add(
        LinkCode(
            user_id=user_id,
            code_hash=_hash(code),
            channel=channel,
            chat_id=chat_id,
            expires_at=now + LINK_CODE_VALIDITY,
            created_at=now,
        )
    )
    producer = await producer_of_user(session, user_id)
    audit(session, actor_kind=ActorKind.USER, actor_id=user_id, action="link_code.created",
          entity="user", entity_id=user_id, producer_id=producer.id if producer else None,
          at=now, channel=channel)  # fmt: skip
    return code


async def chats_of(session: AsyncSession, user_id: int) -> list[ChannelIdentity]:
    """The person's chats, oldest first."""
    found = await session.scalars(
        select(ChannelIdentity)
        .where(ChannelIdentity.user_id == user_id)
        .order_by(ChannelIdentity.id)
    )
    return list(found.all())


@cache
def _user_references() -> tuple[Column[int], ...]:
    """Every column that refers to a ``users`` row."""
    return tuple(
        fk.parent
        for table in Base.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name == User.__tablename__
    )


async def _referred_from(
    session: AsyncSession, user_id: int, columns: tuple[Column[int], ...]
) -> bool:
    for column in columns:
        if await session.scalar(select(exists().where(column == user_id))):
            return True
    return False


async def has_own_data(session: AsyncSession, user_id: int) -> bool:
    """Whether the person has anything beyond their chats: a producer they speak for,
    products, files, questions, invitations, announcements received…"""
    data = tuple(c for c in _user_references() if c.table.name not in CHAT_TABLES)
    return await _referred_from(session, user_id, data)


async def redeem_link_code(
    session: AsyncSession,
    typed: str,
    *,
    user_id: int,
    channel: str,
    chat_id: str,
    clock: Clock,
) -> Linked | LinkRefused:
    """Make this chat (``channel``, ``chat_id``, of person ``user_id``) — and every other chat
    of that person — the code's person's, or say why not."""
    if await retry_in(session, user_id, clock=clock) > timedelta(0):
        return LinkRefused.TOO_MANY
    code = normalise_link_code(typed)
    if code is None:
        return LinkRefused.MALFORMED
    now = clock.now()
    row = await session.scalar(select(LinkCode).where(LinkCode.code_hash == _hash(code)))
    if row is None:
        session.add(JoinAttempt(user_id=user_id, join_code_id=None, succeeded=False, at=now))
        return LinkRefused.UNKNOWN
    if (row.channel, row.chat_id) == (channel, chat_id):
        return LinkRefused.SAME_CHAT
    if row.used_at is not None:
        return LinkRefused.USED
    if row.expires_at <= now:
        return LinkRefused.EXPIRED
    if row.user_id == user_id:
        return LinkRefused.ALREADY_LINKED
    target = row.user_id
    # Two merges at once (PostgreSQL) take the two people in one order; SQLite has one writer.
    locked = await session.scalars(
        select(User.id).where(User.id.in_((user_id, target))).order_by(User.id).with_for_update()
    )
    if len(locked.all()) != 2:  # a merge committed meanwhile took one of them: try again
        raise RuntimeError("a person of this link changed meanwhile")
    if await has_own_data(session, user_id):
        if await has_own_data(session, target):
            return LinkRefused.BOTH_REGISTERED
        return LinkRefused.THIS_CHAT_REGISTERED
    taken = await session.execute(  # one use, even with two chats at the same moment
        update(LinkCode)
        .where(LinkCode.id == row.id, LinkCode.used_at.is_(None))
        .values(used_at=now)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return LinkRefused.USED
    session.add(JoinAttempt(user_id=user_id, join_code_id=None, succeeded=True, at=now))
    moved = await _move_chats(session, user_id, target, keep=(channel, chat_id))
    person = await session.get_one(User, target)
    absorbed = await session.get_one(User, user_id)
    if person.locale is None:
        person.locale = absorbed.locale
    producer = await producer_of_user(session, target)
    audit(session, actor_kind=ActorKind.USER, actor_id=target, action="user.chats_linked",
          entity="user", entity_id=target, producer_id=producer.id if producer else None,
          at=now, channel=channel, chats=moved, from_user=user_id)  # fmt: skip
    await session.flush()
    if not await _referred_from(session, user_id, _user_references()):
        await session.delete(absorbed)
        await session.flush()
    return Linked(person, producer)


async def _move_chats(
    session: AsyncSession, source: int, target: int, *, keep: tuple[str, str]
) -> int:
    """Moves every chat of ``source`` (and what follows a chat) to ``target``; returns how many
    chats. Their conversations start afresh (a form begun as the other person is not carried
    on), except the chat ``keep``, whose step goes on."""
    chats = await chats_of(session, source)
    keys = [(c.channel, c.chat_id) for c in chats]
    await session.execute(
        update(ChannelIdentity).where(ChannelIdentity.user_id == source).values(user_id=target)
    )
    await session.execute(
        update(Conversation).where(Conversation.user_id == source).values(user_id=target)
    )
    await _restart_conversations(session, [k for k in keys if k != keep])
    for channel, chat_id in keys:
        await session.execute(
            update(OfficialChat)
            .where(OfficialChat.channel == channel, OfficialChat.chat_id == chat_id)
            .values(user_id=target)
        )
    await session.execute(
        update(JoinAttempt).where(JoinAttempt.user_id == source).values(user_id=target)
    )
    await session.execute(
        delete(LinkCode).where(LinkCode.user_id == source, LinkCode.used_at.is_(None))
    )
    await session.execute(
        update(LinkCode).where(LinkCode.user_id == source).values(user_id=target)
    )
    return len(chats)


async def _restart_conversations(session: AsyncSession, keys: list[tuple[str, str]]) -> None:
    """These chats' next message starts from the menu; buttons shown before no longer work."""
    for channel, chat_id in keys:
        await session.execute(
            update(Conversation)
            .where(Conversation.channel == channel, Conversation.chat_id == chat_id)
            .values(flow="", step="", data={}, version=Conversation.version + 1)
            .execution_options(synchronize_session=False)
        )


async def unlink_chat(
    session: AsyncSession,
    user_id: int,
    identity_id: int,
    *,
    current: tuple[str, str],
    clock: Clock,
) -> User | UnlinkRefused:
    """Give the person's chat ``identity_id`` a fresh person of its own (same name and
    language; nothing registered); returns that person. The unlinked chat's conversation
    starts afresh unless it is ``current``, the chat asking (its step goes on). Codes asked
    on that chat and not yet used stop working."""
    chats = await chats_of(session, user_id)
    chat = next((c for c in chats if c.id == identity_id), None)
    if chat is None:
        return UnlinkRefused.NOT_FOUND
    if len(chats) < 2:
        return UnlinkRefused.ONLY_CHAT
    now = clock.now()
    person = await session.get_one(User, user_id)
    fresh = User(display_name=person.display_name, locale=person.locale, created_at=now)
    session.add(fresh)
    await session.flush()
    chat.user_id = fresh.id
    key = (chat.channel, chat.chat_id)
    await session.execute(
        update(Conversation)
        .where(Conversation.channel == chat.channel, Conversation.chat_id == chat.chat_id)
        .values(user_id=fresh.id)
    )
    if key != current:
        await _restart_conversations(session, [key])
    await session.execute(
        update(OfficialChat)
        .where(OfficialChat.channel == chat.channel, OfficialChat.chat_id == chat.chat_id)
        .values(user_id=fresh.id)
    )
    await session.execute(
        update(LinkCode)
        .where(
            LinkCode.channel == chat.channel,
            LinkCode.chat_id == chat.chat_id,
            LinkCode.used_at.is_(None),
            LinkCode.expires_at > now,
        )
        .values(expires_at=now)
    )
    producer = await producer_of_user(session, user_id)
    audit(session, actor_kind=ActorKind.USER, actor_id=user_id, action="user.chat_unlinked",
          entity="user", entity_id=user_id, producer_id=producer.id if producer else None,
          at=now, channel=chat.channel, to_user=fresh.id)  # fmt: skip
    return fresh
