"""One-time codes with which a second person joins a producer (a cooperative's colleagues).

A code is 12 characters from an alphabet without look-alikes (shown as ``ABCD-EFGH-JKMN``):
31**12 ≈ 2**59. Its first 4 characters are a *selector*, stored plain and unique among live
codes, that finds the row; the whole code is checked against a slow salted hash (PBKDF2), the
only other thing stored. A producer has at most one live code: making a new one revokes the
old. A code works once, within its validity, and:

* a user gets ``MAX_WRONG_PER_USER`` wrong codes per ``WRONG_WINDOW`` (then waits until the
  oldest of them is an hour old); input that is not shaped like a code is not counted;
* a wrong code whose selector is a live code's counts against that code too, and the code is
  revoked after ``MAX_WRONG_PER_CODE`` such tries by anyone (whoever guesses at one
  producer's code gets at most that many tries at its 8 secret characters, ≈ 2**40).

Every try is a row in ``join_attempts`` (counted in the database, so it holds across
processes and restarts); time comes from a :class:`~storage.clock.Clock`. Officials' link codes
(``storage/official_chats.py``) are checked by the same :func:`take_code`, told their table by
a :class:`CodeTable`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from storage.audit import audit
from storage.clock import SYSTEM_CLOCK, Clock
from storage.models import JoinAttempt, JoinCode, OfficialLinkCode, Producer, ProducerMember
from storage.states import ActorKind, MemberRole

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "JOIN_CODES",
    "MAX_WRONG_PER_CODE",
    "MAX_WRONG_PER_USER",
    "WRONG_WINDOW",
    "CodeTable",
    "JoinRefused",
    "create_join_code",
    "draw_code",
    "format_code",
    "hash_code",
    "live_codes",
    "looks_like_code",
    "member_user_ids",
    "new_code",
    "normalise_code",
    "redeem_join_code",
    "retry_in",
    "take_code",
]

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
SELECTOR_LENGTH = 4
MAX_WRONG_PER_USER = 5
WRONG_WINDOW = timedelta(hours=1)
MAX_WRONG_PER_CODE = 10
HASH_ROUNDS = 20_000  # PBKDF2-SHA256: ~10 ms a try here, slow for whoever copies the table

CodeT = TypeVar("CodeT", JoinCode, OfficialLinkCode)


class JoinRefused(StrEnum):
    """Why a code did not work."""

    MALFORMED = "malformed"  # not shaped like a code (not counted as a try)
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"  # a newer code replaced it, or too many wrong tries
    TOO_MANY = "too_many"  # this user typed too many wrong codes lately
    ALREADY_MEMBER = "already_member"


def normalise_code(typed: str) -> str:
    """Upper case, spaces and dashes removed."""
    return "".join(ch for ch in typed.upper() if ch.isalnum())


def looks_like_code(typed: str) -> bool:
    """Whether ``typed`` has the shape of a join code (length and alphabet)."""
    code = normalise_code(typed)
    return len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code)


def format_code(code: str) -> str:
    """``ABCDEFGHJKMN`` → ``ABCD-EFGH-JKMN``: easier to read aloud and to type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def new_code() -> str:
    """A fresh random code (not yet checked against the live ones' selectors)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def hash_code(code: str, purpose: str = "join") -> str:
    """The slow salted hash stored for ``code``; ``purpose`` keeps the codes of different
    uses (joining a producer, linking an official's chat) apart."""
    code = normalise_code(code)
    salt = f"ocop-{purpose}:{code[:SELECTOR_LENGTH]}".encode()
    return hashlib.pbkdf2_hmac("sha256", code.encode(), salt, HASH_ROUNDS).hex()


def _hash(code: str) -> str:
    return hash_code(code)


def live_codes(model: type[CodeT], clock: Clock) -> tuple[ColumnElement[bool], ...]:
    """A code of ``model`` that may still be used: not used, not revoked, not expired."""
    return (
        model.used_at.is_(None),
        model.revoked_at.is_(None),
        model.expires_at > clock.now(),
    )


async def draw_code(
    session: AsyncSession, model: type[CodeT], owner: ColumnElement[bool], clock: Clock
) -> str:
    """Revoke the live code of ``owner`` (a condition on ``model``'s owner column) and draw a
    new code whose selector no live code of ``model`` uses; the caller stores its row."""
    await session.execute(
        update(model).where(owner, *live_codes(model, clock)).values(revoked_at=clock.now())
    )
    while True:
        code = new_code()
        taken = await session.scalar(
            select(model.id)
            .where(model.selector == code[:SELECTOR_LENGTH], *live_codes(model, clock))
            .limit(1)
        )
        if taken is None:
            return code


async def create_join_code(
    session: AsyncSession,
    producer_id: int,
    user_id: int,
    valid_for: timedelta,
    *,
    clock: Clock = SYSTEM_CLOCK,
) -> str:
    """A new code for ``producer_id`` (its older live code is revoked); returns the code
    (shown once, stored hashed)."""
    now = clock.now()
    code = await draw_code(session, JoinCode, JoinCode.producer_id == producer_id, clock)
    session.add(
        JoinCode(
            producer_id=producer_id,
            code_hash=_hash(code),
            selector=code[:SELECTOR_LENGTH],
            created_by=user_id,
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    audit(
        session,
        actor_kind=ActorKind.USER,
        actor_id=user_id,
        action="join_code.created",
        entity="producer",
        entity_id=producer_id,
    )
    return code


async def retry_in(
    session: AsyncSession, user_id: int, *, clock: Clock = SYSTEM_CLOCK
) -> timedelta:
    """How long ``user_id`` must wait before the next try (zero when they may try now)."""
    now = clock.now()
    wrong = (
        await session.scalars(
            select(JoinAttempt.at)
            .where(
                JoinAttempt.user_id == user_id,
                JoinAttempt.succeeded.is_(False),
                JoinAttempt.at > now - WRONG_WINDOW,
            )
            .order_by(JoinAttempt.at.desc())
            .limit(MAX_WRONG_PER_USER)
        )
    ).all()
    if len(wrong) < MAX_WRONG_PER_USER:
        return timedelta(0)
    return wrong[-1] + WRONG_WINDOW - now


@dataclass(frozen=True)
class CodeTable(Generic[CodeT]):
    """A table of one-time codes (join codes, officials' link codes) and what sets it apart:
    the hash's ``purpose``, whose code it is and how a revocation for wrong tries is audited."""

    model: type[CodeT]
    purpose: str  # the hash's salt (see :func:`hash_code`)
    owner_entity: str  # the audited entity a code belongs to ("producer", "official")
    owner_id: Callable[[CodeT], int]
    revoked_action: str  # audit action when too many wrong tries revoke a code
    attempts_name_code: bool  # whether ``join_attempts.join_code_id`` may point at its rows


JOIN_CODES = CodeTable(
    model=JoinCode,
    purpose="join",
    owner_entity="producer",
    owner_id=lambda code: code.producer_id,
    revoked_action="join_code.revoked",
    attempts_name_code=True,
)


async def take_code(
    session: AsyncSession, table: CodeTable[CodeT], typed: str, user_id: int, clock: Clock
) -> CodeT | JoinRefused:
    """Mark the live code ``typed`` used by ``user_id`` and return its row, or say why not.

    Checks, in order: the user's recent wrong tries, the code's shape, then its hash among the
    rows with its selector (compared in constant time). A wrong code counts as a failed
    ``join_attempts`` row and, when its selector is a live code's, as a wrong try at that code.
    A success is not recorded here: the caller adds its ``join_attempts`` row once it has
    acted on the code, dated with the returned row's ``used_at``.
    """
    model = table.model
    if await retry_in(session, user_id, clock=clock) > timedelta(0):
        return JoinRefused.TOO_MANY
    if not looks_like_code(typed):
        return JoinRefused.MALFORMED
    code = normalise_code(typed)
    digest = hash_code(code, table.purpose)
    rows = (
        await session.scalars(
            select(model).where(model.selector == code[:SELECTOR_LENGTH]).order_by(model.id.desc())
        )
    ).all()
    now = clock.now()
    row = next((r for r in rows if hmac.compare_digest(r.code_hash, digest)), None)
    if row is None:
        live = next((r for r in rows if r.used_at is None and r.revoked_at is None), None)
        if live is not None and live.expires_at > now:
            await _count_wrong_try(session, table, live, clock)
        named = live.id if live is not None and table.attempts_name_code else None
        session.add(JoinAttempt(user_id=user_id, join_code_id=named, succeeded=False, at=now))
        return JoinRefused.UNKNOWN
    if row.used_at is not None:
        return JoinRefused.USED
    if row.revoked_at is not None:
        return JoinRefused.REVOKED
    if row.expires_at <= now:
        return JoinRefused.EXPIRED
    taken = await session.execute(  # one use, even with two users at the same moment
        update(model)
        .where(model.id == row.id, model.used_at.is_(None), model.revoked_at.is_(None))
        .values(used_at=now, used_by=user_id)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return JoinRefused.USED
    set_committed_value(row, "used_at", now)  # as stored: callers date their acts with it
    set_committed_value(row, "used_by", user_id)
    return row


async def _count_wrong_try(
    session: AsyncSession, table: CodeTable[CodeT], code: CodeT, clock: Clock
) -> None:
    """One more wrong try at ``code``'s selector; too many revoke it."""
    model = table.model
    tries = await session.scalar(
        update(model)
        .where(model.id == code.id)
        .values(failed_attempts=model.failed_attempts + 1)
        .returning(model.failed_attempts)
    )
    if (tries or 0) < MAX_WRONG_PER_CODE:
        return
    await session.execute(
        update(model)
        .where(model.id == code.id, model.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    audit(
        session,
        actor_kind=ActorKind.SYSTEM,
        actor_id=None,
        action=table.revoked_action,
        entity=table.owner_entity,
        entity_id=table.owner_id(code),
        reason="too many wrong tries",
    )


async def redeem_join_code(
    session: AsyncSession, typed: str, user_id: int, *, clock: Clock = SYSTEM_CLOCK
) -> Producer | JoinRefused:
    """Make ``user_id`` a member of the code's producer, or say why not."""
    existing = await session.scalar(
        select(ProducerMember).where(ProducerMember.user_id == user_id)
    )
    if existing is not None:
        return JoinRefused.ALREADY_MEMBER
    row = await take_code(session, JOIN_CODES, typed, user_id, clock)
    if isinstance(row, JoinRefused):
        return row
    session.add(JoinAttempt(user_id=user_id, join_code_id=row.id, succeeded=True, at=row.used_at))
    session.add(
        ProducerMember(producer_id=row.producer_id, user_id=user_id, role=MemberRole.MEMBER)
    )
    audit(
        session,
        actor_kind=ActorKind.USER,
        actor_id=user_id,
        action="producer.member_joined",
        entity="producer",
        entity_id=row.producer_id,
    )
    return await session.get_one(Producer, row.producer_id)


async def member_user_ids(session: AsyncSession, producer_ids: Collection[int]) -> list[int]:
    """The users who speak for any of these producers."""
    if not producer_ids:
        return []
    found = await session.scalars(
        select(ProducerMember.user_id)
        .where(ProducerMember.producer_id.in_(list(producer_ids)))
        .order_by(ProducerMember.user_id)
    )
    return list(found.all())
