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
processes and restarts); time comes from a :class:`~storage.clock.Clock`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import audit
from storage.clock import SYSTEM_CLOCK, Clock
from storage.models import JoinAttempt, JoinCode, Producer, ProducerMember
from storage.states import ActorKind, MemberRole

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "MAX_WRONG_PER_CODE",
    "MAX_WRONG_PER_USER",
    "WRONG_WINDOW",
    "JoinRefused",
    "create_join_code",
    "format_code",
    "hash_code",
    "looks_like_code",
    "new_code",
    "normalise_code",
    "redeem_join_code",
    "retry_in",
]

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
SELECTOR_LENGTH = 4
MAX_WRONG_PER_USER = 5
WRONG_WINDOW = timedelta(hours=1)
MAX_WRONG_PER_CODE = 10
HASH_ROUNDS = 20_000  # PBKDF2-SHA256: ~10 ms a try here, slow for whoever copies the table


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


def _live(clock: Clock) -> tuple[ColumnElement[bool], ...]:
    """A code that may still be used: not used, not revoked, not expired."""
    return (
        JoinCode.used_at.is_(None),
        JoinCode.revoked_at.is_(None),
        JoinCode.expires_at > clock.now(),
    )


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
    await session.execute(
        update(JoinCode)
        .where(JoinCode.producer_id == producer_id, *_live(clock))
        .values(revoked_at=now)
    )
    while True:
        code = new_code()
        selector = code[:SELECTOR_LENGTH]
        taken = await session.scalar(
            select(JoinCode.id).where(JoinCode.selector == selector, *_live(clock)).limit(1)
        )
        if taken is None:
            break
    session.add(
        JoinCode(
            producer_id=producer_id,
            code_hash=_hash(code),
            selector=selector,
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


async def redeem_join_code(
    session: AsyncSession, typed: str, user_id: int, *, clock: Clock = SYSTEM_CLOCK
) -> Producer | JoinRefused:
    """Make ``user_id`` a member of the code's producer, or say why not."""
    existing = await session.scalar(
        select(ProducerMember).where(ProducerMember.user_id == user_id)
    )
    if existing is not None:
        return JoinRefused.ALREADY_MEMBER
    if await retry_in(session, user_id, clock=clock) > timedelta(0):
        return JoinRefused.TOO_MANY
    if not looks_like_code(typed):
        return JoinRefused.MALFORMED
    code = normalise_code(typed)
    digest = _hash(code)
    rows = (
        await session.scalars(
            select(JoinCode)
            .where(JoinCode.selector == code[:SELECTOR_LENGTH])
            .order_by(JoinCode.id.desc())
        )
    ).all()
    now = clock.now()
    row = next((r for r in rows if hmac.compare_digest(r.code_hash, digest)), None)
    if row is None:
        live = next((r for r in rows if r.used_at is None and r.revoked_at is None), None)
        if live is not None and live.expires_at > now:
            await _count_wrong_try(session, live, clock)
        session.add(
            JoinAttempt(
                user_id=user_id,
                join_code_id=live.id if live else None,
                succeeded=False,
                at=now,
            )
        )
        return JoinRefused.UNKNOWN
    if row.used_at is not None:
        return JoinRefused.USED
    if row.revoked_at is not None:
        return JoinRefused.REVOKED
    if row.expires_at <= now:
        return JoinRefused.EXPIRED
    taken = await session.execute(  # one use, even with two colleagues at the same moment
        update(JoinCode)
        .where(JoinCode.id == row.id, JoinCode.used_at.is_(None), JoinCode.revoked_at.is_(None))
        .values(used_at=now, used_by=user_id)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return JoinRefused.USED
    session.add(JoinAttempt(user_id=user_id, join_code_id=row.id, succeeded=True, at=now))
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


async def _count_wrong_try(session: AsyncSession, code: JoinCode, clock: Clock) -> None:
    """One more wrong try at ``code``'s selector; too many revoke it."""
    tries = await session.scalar(
        update(JoinCode)
        .where(JoinCode.id == code.id)
        .values(failed_attempts=JoinCode.failed_attempts + 1)
        .returning(JoinCode.failed_attempts)
    )
    if (tries or 0) < MAX_WRONG_PER_CODE:
        return
    await session.execute(
        update(JoinCode)
        .where(JoinCode.id == code.id, JoinCode.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    audit(
        session,
        actor_kind=ActorKind.SYSTEM,
        actor_id=None,
        action="join_code.revoked",
        entity="producer",
        entity_id=code.producer_id,
        reason="too many wrong tries",
    )
