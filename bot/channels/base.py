"""What the engine and sender need from a channel adapter, and the errors a send may raise.

A new channel works once it can turn its updates into :class:`~bot.vocabulary.Event` (and hand
them to ``Engine.store``) and implement :meth:`ChannelAdapter.send`; everything else has a
fallback.
"""

from __future__ import annotations

from typing import Protocol

from bot.vocabulary import FileRef, Reply

__all__ = [
    "ChannelAdapter",
    "DownloadError",
    "FileTooLarge",
    "Rejected",
    "RetryLater",
    "SendError",
    "TransientError",
    "Unreachable",
]


class SendError(Exception):
    """A message could not be delivered this time."""


class RetryLater(SendError):
    """The platform asked us to slow down (Telegram 429): wait ``retry_after`` seconds."""

    def __init__(self, retry_after: float, message: str = "") -> None:
        super().__init__(message or f"retry after {retry_after} s")
        self.retry_after = retry_after


class Unreachable(SendError):
    """The user blocked the bot or is gone (Telegram 403): stop sending to this chat."""


class Rejected(SendError):
    """The platform refused this message for good (Telegram 400); retrying will not help."""


class TransientError(SendError):
    """Network trouble or a server error: retry with back-off."""


class DownloadError(Exception):
    """A file could not be fetched from the platform."""


class FileTooLarge(DownloadError):
    """The file is over the size we accept; ``size`` is what the platform said or we saw."""

    def __init__(self, size: int | None, limit: int) -> None:
        super().__init__(f"file of {size} bytes is over the limit of {limit}")
        self.size = size
        self.limit = limit


class ChannelAdapter(Protocol):
    """A platform the bot speaks on."""

    name: str
    max_text_length: int

    async def send(self, chat_id: str, reply: Reply) -> str:
        """Deliver one reply; return the platform's message id. Raises :class:`SendError`."""
        ...

    async def download(self, file: FileRef, max_bytes: int) -> bytes:
        """Fetch a file the user sent, refusing more than ``max_bytes``."""
        ...
