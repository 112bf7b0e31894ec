"""Signing in and out: throttle, password check (argon2, in a worker thread), new session.

The answer never tells whether a username exists or is disabled: each is a wrong password.
"""

from __future__ import annotations

import asyncio
from enum import Enum

from console.config import ConsoleConfig
from storage.models import Official
from storage.officials import official_by_username
from storage.passwords import verify_password
from storage.signin import begin_attempt, open_session, revoke_session, succeed_attempt

__all__ = ["Outcome", "sign_in", "sign_out"]


class Outcome(Enum):
    """How a sign-in went."""

    SIGNED_IN = "signed_in"
    WRONG = "wrong"
    THROTTLED = "throttled"


async def sign_in(
    config: ConsoleConfig, username: str, password: str, address: str
) -> tuple[Outcome, str | None]:
    """The outcome, and the new session's token when signed in."""
    async with config.db.transaction() as session:
        attempt = await begin_attempt(session, username, address, config.clock)
    if attempt is None:
        return Outcome.THROTTLED, None
    async with config.db.sessions() as session:
        official = await official_by_username(session, username)
    usable = official is not None and official.disabled_at is None
    password_hash = official.password_hash if official is not None and usable else None
    if not await asyncio.to_thread(verify_password, password_hash, password):
        return Outcome.WRONG, None
    assert official is not None
    async with config.db.transaction() as session:
        current = await session.get(Official, official.id)
        if current is None or current.disabled_at is not None:  # disabled meanwhile
            return Outcome.WRONG, None
        await succeed_attempt(session, attempt)
        token, _row = await open_session(session, current, config.clock)
    return Outcome.SIGNED_IN, token


async def sign_out(config: ConsoleConfig, session_id: int) -> None:
    async with config.db.transaction() as session:
        await revoke_session(session, session_id, config.clock)
