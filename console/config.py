"""What the console needs from the process: the database, the clock and a few settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from aiohttp import web

from storage.blobs import BlobStore
from storage.clock import Clock
from storage.db import Database

__all__ = ["CONFIG", "ConsoleConfig"]


@dataclass(frozen=True)
class ConsoleConfig:
    """The console's share of the settings (``OCOP_CONSOLE_*``, ``OCOP_DEFAULT_LOCALE``)."""

    db: Database
    clock: Clock
    secure_cookies: bool = False
    forwarded_for: bool = False
    default_locale: str = "vi"
    blobs: BlobStore | None = None  # the uploaded files (verified on every read)
    bot_username: str | None = None  # the Telegram bot, for links that open it with a code
    # The public base URL of /verify/<number> (OCOP_PUBLIC_URL, else OCOP_CONSOLE_URL); None:
    # the address a request came to.
    public_url: str | None = None
    # Per channel, how long after a person's last message the bot may still write to them
    # (Zalo OA: ``OCOP_ZALO_REPLY_WINDOW_HOURS``); channels not named have none.
    reply_windows: Mapping[str, timedelta] = field(default_factory=dict)


CONFIG = web.AppKey("console_config", ConsoleConfig)
