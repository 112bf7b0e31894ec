"""``ocop-bot zalo set-refresh-token | status``: the Zalo OA's OAuth pair kept in the database.

Zalo's refresh token works once and the bot keeps the current one in the database
(``storage/zalo_tokens.py``); ``OCOP_ZALO_REFRESH_TOKEN`` only seeds the first. When Zalo refuses
the stored one (officials are told in chat, ``/healthz`` says ``failed since …``), someone
authorises the OA again on Zalo's developer site and gives the new refresh token here: asked at
a hidden prompt, or read from the first line of standard input with ``--token-stdin``; never
an argument (it would stay in the shell's history and show in ``ps``). Running ``serve``
processes take it up within a minute or two, without a restart.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.settings import Settings
from storage.clock import SYSTEM_CLOCK, Clock
from storage.db import Database
from storage.zalo_tokens import Tokens, read, set_refresh_token

__all__ = ["TokenRefused", "replace_refresh_token", "run_zalo"]

MAX_TOKEN_LENGTH = 2000  # Zalo's are a few hundred characters


class TokenRefused(Exception):
    """What is wrong with the operator's input or settings, said on stderr; exit status 1."""


def _checked(token: str) -> str:
    token = token.strip()
    if not token:
        raise TokenRefused("no refresh token was given")
    if len(token) > MAX_TOKEN_LENGTH or any(c.isspace() or not c.isprintable() for c in token):
        raise TokenRefused("that is not a refresh token (one line of letters, digits, - and _)")
    return token


async def replace_refresh_token(db: Database, app_id: str, token: str) -> Tokens:
    """Store ``token`` as the refresh token of the OA app ``app_id``, replacing the stored one
    (failed or not): the next use of the OA refreshes with it."""
    async with db.transaction() as session:
        return await set_refresh_token(session, app_id, _checked(token))


def read_token(from_stdin: bool) -> str:
    """The refresh token: one line of standard input, or typed at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline()
    if not sys.stdin.isatty():
        raise TokenRefused("no terminal to ask the token at: use --token-stdin")
    return getpass.getpass("Zalo OA refresh token: ")


def describe(app_id: str, tokens: Tokens | None, clock: Clock = SYSTEM_CLOCK) -> tuple[bool, str]:
    """Whether the OA's token works, and a line saying so (no token in it)."""
    if tokens is None:
        return False, (
            f"Zalo OA app {app_id}: no token stored yet (OCOP_ZALO_REFRESH_TOKEN is stored at "
            "the first use, or run `ocop-bot zalo set-refresh-token`)."
        )
    if tokens.failed_at is not None:
        return False, (
            f"Zalo OA app {app_id}: failed since {tokens.failed_at:%Y-%m-%d %H:%M} UTC "
            f"({tokens.failure}). Set a new refresh token with "
            "`ocop-bot zalo set-refresh-token`."
        )
    if not tokens.usable(clock.now()):
        return True, f"Zalo OA app {app_id}: a refresh token is stored; the next use refreshes."
    assert tokens.access_expires_at is not None
    return True, (
        f"Zalo OA app {app_id}: working; the access token is valid until "
        f"{tokens.access_expires_at:%Y-%m-%d %H:%M} UTC and is renewed before then."
    )


async def run_zalo(settings: Settings, args: argparse.Namespace) -> int:
    """The ``zalo`` command; 0 on success, 1 with the reason on stderr."""
    app_id = settings.zalo_app_id
    if not app_id:
        print("OCOP_ZALO_APP_ID is not set: which Zalo app is it for?", file=sys.stderr)
        return 1
    db = Database(settings.database_url)
    try:
        if args.zalo_command == "status":
            async with db.sessions() as session:
                works, line = describe(app_id, await read(session, app_id))
            print(line)
            return 0 if works else 1
        try:
            await replace_refresh_token(db, app_id, read_token(args.token_stdin))
        except TokenRefused as exc:
            print(f"Nothing was changed: {exc}", file=sys.stderr)
            return 1
    finally:
        await db.dispose()
    print(
        f"New refresh token stored for Zalo OA app {app_id}. Running bots take it up within a "
        "minute or two (no restart); messages waiting for Zalo then go."
    )
    return 0
