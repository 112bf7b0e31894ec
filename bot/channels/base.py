"""What the engine and sender need from a channel adapter, and the errors a send may raise.

A new channel works once it can turn its updates into :class:`~bot.vocabulary.Event` (and hand
them to ``Engine.store``), declares its :class:`Capabilities` and implements
:meth:`BaseChannel.deliver`; everything else has a default in :class:`BaseChannel`. What a
channel cannot show is rendered once, here, for every channel (:func:`fit_reply`): buttons it
cannot carry become a numbered list in the text ("Reply with the number"), which the engine
records so that a typed number answers as the button would (``bot/dispatch.py``); a file it
cannot send becomes a short note in the text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from bot.i18n import translator
from bot.vocabulary import Attachment, Button, FileRef, Reply

if TYPE_CHECKING:
    from aiohttp import web

__all__ = [
    "NUMBERED_CHOICES",
    "BaseChannel",
    "Capabilities",
    "ChannelAdapter",
    "ChannelRegistry",
    "DownloadError",
    "FileTooLarge",
    "OutsideWindow",
    "Rejected",
    "RetryLater",
    "SendError",
    "TextUnits",
    "TransientError",
    "Unreachable",
    "capabilities_of",
    "fit_reply",
    "in_window",
    "numbered_choices",
]

# Conversation data key: the payloads of the buttons last shown as a numbered list.
NUMBERED_CHOICES = "_numbered"


class SendError(Exception):
    """A message could not be delivered this time."""


class RetryLater(SendError):
    """The platform asked us to slow down (Telegram 429): wait ``retry_after`` seconds."""

    def __init__(self, retry_after: float, message: str = "") -> None:
        super().__init__(message or f"retry after {retry_after} s")
        self.retry_after = retry_after


class Unreachable(SendError):
    """The user blocked the bot or is gone (Telegram 403): stop sending to this chat.
    ``deleted``: the account itself is gone (deactivated), not just the bot blocked."""

    def __init__(self, message: str = "", *, deleted: bool = False) -> None:
        super().__init__(message)
        self.deleted = deleted


class OutsideWindow(SendError):
    """The platform lets us write to this user only within a while after their last message
    (Zalo OA's reply window), and that time is over: not sent, and retrying will not help."""


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


class TextUnits(StrEnum):
    """How a channel counts the length of a text."""

    UTF16 = "utf-16"  # code units (Telegram)
    CHARACTERS = "characters"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can show and receive; what it cannot is done in text by :func:`fit_reply`."""

    buttons_per_message: int = 0  # 0: no buttons at all
    url_buttons: bool = False  # buttons that open a link (else the link goes into the text)
    buttons_per_row: int = 1
    button_label_length: int = 64
    reply_keyboard: bool = False
    contact_request: bool = False
    file_kinds: frozenset[str] = frozenset()  # files it receives: "document", "photo"
    sends_files: frozenset[str] = frozenset()  # files it sends: "document" (any), "photo"
    caption_limit: int = 0  # the text a sent file can carry, in ``text_units``
    text_limit: int = 4096
    text_units: TextUnits = TextUnits.CHARACTERS
    # Messages may go only this long after the user's last message (None: any time); the
    # sender fails later ones as outside the window without calling the platform.
    reply_window: timedelta | None = None
    send_rate: float | None = None  # the platform's messages a second (None: the setting's)

    def can_send(self, attachment: Attachment) -> bool:
        """Whether the channel can send this file (as a document, or a picture as a photo)."""
        kinds = self.sends_files
        return "document" in kinds or (attachment.is_photo and "photo" in kinds)


def in_window(last_inbound_at: datetime | None, now: datetime, window: timedelta) -> bool:
    """Whether a channel with a reply window lets us write at ``now`` to a user who last wrote
    at ``last_inbound_at`` (never: closed)."""
    return last_inbound_at is not None and now - last_inbound_at <= window


def _buttons(reply: Reply) -> list[Button]:
    return [button for row in reply.buttons for button in row]


def _needs_list(reply: Reply, caps: Capabilities) -> bool:
    buttons = _buttons(reply)
    return bool(buttons) and len(buttons) > caps.buttons_per_message


def _links_in_text(reply: Reply, caps: Capabilities) -> Reply:
    """Link buttons as lines of text (``label: url``) where the channel has no link buttons
    or the buttons will be a numbered list."""
    links = [b for b in _buttons(reply) if b.url]
    if not links or (caps.url_buttons and not _needs_list(reply, caps)):
        return reply
    rows = [[b for b in row if not b.url] for row in reply.buttons]
    lines = [f"{b.label}: {b.url}" for b in links]
    text = "\n".join([reply.text, *lines]) if reply.text else "\n".join(lines)
    return replace(reply, text=text, buttons=[row for row in rows if row])


def _file_in_text(reply: Reply, caps: Capabilities) -> Reply:
    """A file the channel cannot send dropped, with a note in the text that it was there."""
    if reply.attachment is None or caps.can_send(reply.attachment):
        return reply
    note = translator(reply.locale).gettext(
        "(This message came with a file, {name}, that this chat cannot show. "
        "Ask your commune office for it.)"
    )
    note = note.format(name=reply.attachment.name)
    text = f"{reply.text}\n\n{note}" if reply.text else note
    return replace(reply, text=text, attachment=None)


def fit_reply(reply: Reply, caps: Capabilities) -> Reply:
    """``reply`` as ``caps`` can show it: link buttons become text where the channel has none,
    buttons beyond the limit (all of them then) become a numbered list in the text, long rows
    are cut, long labels shortened, a contact button or its end dropped where the channel
    has no reply keyboard, and a file it cannot send replaced by a note in the text."""
    fitted = _links_in_text(_file_in_text(reply, caps), caps)
    if not caps.contact_request and reply.contact_button:
        fitted = replace(fitted, contact_button="")
    if not caps.reply_keyboard and reply.contact_request_over:
        fitted = replace(fitted, contact_request_over=False)
    buttons = _buttons(fitted)
    if not buttons:
        return fitted
    if _needs_list(fitted, caps):
        t = translator(reply.locale)
        lines = [f"{n}. {b.label}" for n, b in enumerate(buttons, 1)]
        lines.append(t.gettext("Reply with the number of your choice."))
        text = "\n".join([fitted.text, "", *lines]) if fitted.text else "\n".join(lines)
        return replace(fitted, text=text, buttons=[])
    limit, width = caps.button_label_length, max(caps.buttons_per_row, 1)
    rows = [
        [Button(_shorten(b.label, limit), b.payload, b.url) for b in row[i : i + width]]
        for row in fitted.buttons
        for i in range(0, len(row), width)
    ]
    return replace(fitted, buttons=rows)


def numbered_choices(reply: Reply, caps: Capabilities) -> list[str] | None:
    """The button payloads, in order, when :func:`fit_reply` shows them as a numbered list."""
    reply = _links_in_text(reply, caps)
    return [b.payload for b in _buttons(reply)] if _needs_list(reply, caps) else None


def _shorten(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: max(limit - 1, 1)] + "…"


class ChannelAdapter(Protocol):
    """A platform the bot speaks on."""

    name: str
    capabilities: Capabilities

    async def send(self, chat_id: str, reply: Reply) -> str:
        """Deliver one reply; return the platform's message id. Raises :class:`SendError`."""
        ...

    async def download(self, file: FileRef, max_bytes: int) -> bytes:
        """Fetch a file the user sent, refusing more than ``max_bytes``."""
        ...

    async def working(self, chat_id: str) -> None:
        """Show the user that a long job (a download) runs; a courtesy that never fails."""
        ...

    def routes(self, app: web.Application) -> None:
        """Add the channel's HTTP routes (a webhook) to the application."""
        ...

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` (a poller), once the HTTP server listens; may return at once."""
        ...

    async def shutdown(self) -> None:
        """Close connections."""
        ...


class BaseChannel:
    """Defaults for every member of :class:`ChannelAdapter` but ``deliver``."""

    name: str = "channel"
    capabilities: Capabilities = Capabilities()

    async def send(self, chat_id: str, reply: Reply) -> str:
        """What the channel cannot show rendered in text, then delivered."""
        return await self.deliver(chat_id, fit_reply(reply, self.capabilities))

    async def deliver(self, chat_id: str, reply: Reply) -> str:
        """Deliver a reply that fits the channel's capabilities."""
        raise NotImplementedError

    async def download(self, file: FileRef, max_bytes: int) -> bytes:
        raise DownloadError(f"channel {self.name} does not receive files")

    async def working(self, chat_id: str) -> None:
        return None

    def routes(self, app: web.Application) -> None:
        return None

    async def run(self, stop: asyncio.Event) -> None:
        return None

    async def shutdown(self) -> None:
        return None


class ChannelRegistry(dict[str, ChannelAdapter]):
    """The channels of a process, by name; ``serve`` adds their routes and runs them."""

    def add(self, channel: ChannelAdapter) -> None:
        self[channel.name] = channel


def capabilities_of(channels: Mapping[str, ChannelAdapter], name: str) -> Capabilities | None:
    """The capabilities of channel ``name``, if it runs in this process."""
    channel = channels.get(name)
    return channel.capabilities if channel is not None else None
