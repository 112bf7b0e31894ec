"""Console sign-in: throttling by recent failures, and server-side sessions.

Every try is recorded (``login_attempts``) *before* the password is checked, as a failure that
a correct password then turns into a success: a try counts from the moment it starts, so tries
sent side by side do not each get a full allowance while the slow check runs. An account that
failed :data:`ACCOUNT_FAILURES` times since its last success within :data:`WINDOW`, or an
address that failed :data:`ADDRESS_FAILURES` times within it, is refused without checking the
password until the window has moved on.

A session is a random token in the browser's cookie; the database keeps only its SHA-256. It
ends when revoked, :data:`LIFETIME` after sign-in, after :data:`IDLE` without a request, or as
soon as its official is disabled. Times come from the :class:`~storage.clock.Clock`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import Clock
from storage.models import ConsoleSession, LoginAttempt, Official
from storage.officials import fold_username

__all__ = [
    "ACCOUNT_FAILURES",
    "ADDRESS_FAILURES",
    "IDLE",
    "LIFETIME",
    "WINDOW",
    "SignedIn",
    "begin_attempt",
    "find_session",
    "open_session",
    "revoke_session",
    "succeed_attempt",
    "token_hash",
    "touch_session",
]

WINDOW = timedelta(minutes=15)
ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 20
LIFETIME = timedelta(hours=12)
IDLE = timedelta(hours=2)
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _attempt_key(username: str) -> str:
    return fold_username(username)[:60]


async def _failures_of_account(session: AsyncSession, username: str, since: datetime) -> int:
    last_success = await session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.succeeded.is_(True)
        )
    )
    start = max(since, last_success) if last_success else since
    count = await session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.username == username,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at > start,
        )
    )
    return int(count or 0)


async def _failures_of_address(session: AsyncSession, address: str, since: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.address == address,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at > since,
        )
    )
    return int(count or 0)


async def begin_attempt(
    session: AsyncSession, username: str, address: str, clock: Clock
) -> int | None:
    """Record a try as failed and return its id, or None (nothing recorded) when the account
    or the address has failed too often lately."""
    now = clock.now()
    key, address = _attempt_key(username), address[:64]
    since = now - WINDOW
    if await _failures_of_account(session, key, since) >= ACCOUNT_FAILURES:
        return None
    if await _failures_of_address(session, address, since) >= ADDRESS_FAILURES:
        return None
    attempt = LoginAttempt(username=key, address=address, succeeded=False, at=now)
    session.add(attempt)
    await session.flush()
    return attempt.id


async def succeed_attempt(session: AsyncSession, attempt_id: int) -> None:
    """The try's password was right: it no longer counts as a failure."""
    await session.execute(
        update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(succeeded=True)
    )


async def open_session(
    session: AsyncSession, official: Official, clock: Clock
) -> tuple[str, ConsoleSession]:
    """A new session for ``official``: the token for the cookie (shown once), and its row."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    row = ConsoleSession(
        token_hash=token_hash(token),
        official_id=official.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + LIFETIME,
    )
    session.add(row)
    await session.flush()
    return token, row


@dataclass(frozen=True)
class SignedIn:
    """A live session and its official, as read at the start of a request."""

    session: ConsoleSession
    official: Official

    def needs_touch(self, clock: Clock) -> bool:
        return clock.now() - self.session.last_seen_at >= TOUCH_EVERY


async def find_session(session: AsyncSession, token: str, clock: Clock) -> SignedIn | None:
    """The live session whose cookie carries ``token``, or None: unknown, revoked, expired,
    idle too long, or its official disabled."""
    if not token or len(token) > 200:
        return None
    now = clock.now()
    row = await session.execute(
        select(ConsoleSession, Official)
        .join(Official, Official.id == ConsoleSession.official_id)
        .where(
            ConsoleSession.token_hash == token_hash(token),
            ConsoleSession.revoked_at.is_(None),
            ConsoleSession.expires_at > now,
            ConsoleSession.last_seen_at > now - IDLE,
            Official.disabled_at.is_(None),
        )
    )
    found = row.one_or_none()
    return SignedIn(found[0], found[1]) if found else None


async def touch_session(session: AsyncSession, session_id: int, clock: Clock) -> None:
    """The session was used now (keeps it from ending for idleness)."""
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == session_id)
        .values(last_seen_at=clock.now())
    )


async def revoke_session(session: AsyncSession, session_id: int, clock: Clock) -> None:
    """End one session (sign-out)."""
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == session_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
