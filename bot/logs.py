"""Logging for every ``ocop-bot`` command: one format, secrets masked, no message contents.

:func:`setup_logging` puts one handler on the root logger with a :class:`RedactingFilter` that
replaces the bot token and the webhook secret (wherever they appear: in the message, its
arguments, URLs such as ``/bot<token>/getUpdates``, exception texts) whatever the level. The
libraries that log requests, responses or SQL with their data at DEBUG (python-telegram-bot,
httpx, aiosqlite, SQLAlchemy, aiohttp) are kept at WARNING even when ``OCOP_LOG_LEVEL=DEBUG``:
what they would print is the producers' messages.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

__all__ = ["CHATTY_LOGGERS", "MASK", "RedactingFilter", "setup_logging"]

MASK = "***"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers whose DEBUG/INFO lines carry updates, replies, SQL parameters or the token's URL.
CHATTY_LOGGERS = (
    "telegram",
    "httpx",
    "httpcore",
    "aiosqlite",
    "asyncpg",
    "sqlalchemy",
    "aiohttp",
    "alembic.runtime.plugins",
)
# Values SQLAlchemy and PostgreSQL put into error texts: statement parameters, unique keys.
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\n\(Background on this error|\n\n|\Z)", re.S)
_KEY_VALUES = re.compile(r"(Key \([^)]*\))=\(.*?\)(?= already exists| is not present|\.|$)", re.M)


class RedactingFilter(logging.Filter):
    """Replaces known secrets (and SQL parameters in errors) in every record it passes."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        # Longest first, so a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        text = _SQL_PARAMETERS.sub("[parameters hidden]", text)
        return _KEY_VALUES.sub(r"\1=(hidden)", text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it
            return True
        record.msg, record.args = self.scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


def setup_logging(
    level: str,
    secrets: Iterable[str | None] = (),
    *,
    file: Path | None = None,
    stream: TextIO | None = None,
    quiet: Iterable[str] = (),
) -> logging.Handler:
    """One handler on the root logger (``file``, else ``stream``, else stderr) at ``level``.

    The chatty libraries stay at WARNING (or above ``level``); ``quiet`` names more loggers to
    keep at WARNING (e.g. alembic in the terminal chat). Returns the handler.
    """
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter(secrets))
    root.addHandler(handler)
    numeric = logging.getLevelName(level.upper())
    root.setLevel(numeric if isinstance(numeric, int) else logging.INFO)
    floor = max(logging.WARNING, root.level)
    for name in (*CHATTY_LOGGERS, *quiet):
        logging.getLogger(name).setLevel(floor)
    return handler
