"""One-time codes with which a second person joins a producer (a cooperative's colleagues).

Only a hash of each code is stored. A code works once, before it expires.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import audit
from storage.clock import utcnow
from storage.models import JoinCode, Producer, ProducerMember

__all__ = [
    "CODE_ALPHABET",
    "JoinRefused",
    "create_join_code",
    "normalise_code",
    "redeem_join_code",
]

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


class JoinRefused(StrEnum):
    """Why a code did not work."""

    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    ALREADY_MEMBER = "already_member"


def normalise_code(typed: str) -> str:
    """Upper case, spaces and dashes removed."""
    return "".join(ch for ch in typed.upper() if ch.isalnum())


def _hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


async def create_join_code(
    session: AsyncSession, producer_id: int, user_id: int, valid_for: timedelta
) -> str:
    """A new code for ``producer_id``; returns the code (shown once, stored hashed)."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    session.add(
        JoinCode(
            producer_id=producer_id,
            code_hash=_hash(code),
            created_by=user_id,
            expires_at=utcnow() + valid_for,
        )
    )
    audit(
        session,
        actor_kind="user",
        actor_id=user_id,
        action="join_code.created",
        entity="producer",
        entity_id=producer_id,
    )
    return code


async def redeem_join_code(
    session: AsyncSession, typed: str, user_id: int
) -> Producer | JoinRefused:
    """Make ``user_id`` a member of the code's producer, or say why not."""
    row = await session.scalar(select(JoinCode).where(JoinCode.code_hash == _hash(typed)))
    if row is None:
        return JoinRefused.UNKNOWN
    if row.used_at is not None:
        return JoinRefused.USED
    if row.expires_at < utcnow():
        return JoinRefused.EXPIRED
    existing = await session.scalar(
        select(ProducerMember).where(ProducerMember.user_id == user_id)
    )
    if existing is not None:
        return JoinRefused.ALREADY_MEMBER
    row.used_at = utcnow()
    row.used_by = user_id
    session.add(ProducerMember(producer_id=row.producer_id, user_id=user_id, role="member"))
    audit(
        session,
        actor_kind="user",
        actor_id=user_id,
        action="producer.member_joined",
        entity="producer",
        entity_id=row.producer_id,
    )
    return await session.get_one(Producer, row.producer_id)
