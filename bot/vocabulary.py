"""The few names every part speaks: events in, replies out, chat keys and step signatures.

Channel adapters turn platform updates into :class:`Event` and :class:`Reply` into platform
messages; handlers read events and emit replies. Nothing here knows a platform.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from storage.outbox import MASK  # what stored copies show instead of a secret

__all__ = [
    "GROUP",
    "PHOTO_TYPES",
    "Attachment",
    "Button",
    "ChatKey",
    "Event",
    "EventKind",
    "FileRef",
    "Reply",
    "button_payload",
    "split_button_payload",
    "step_signature",
    "strip_control",
]


GROUP = "group"  # Event.other of anything said in a group chat (flows are one-to-one)
PHOTO_TYPES = frozenset({"image/jpeg", "image/png"})  # attachments a channel may show as photos


class EventKind(StrEnum):
    """What a user did (or, for ``timer``, what time brought: see bot.timers)."""

    TEXT = "text"
    BUTTON = "button"
    FILE = "file"
    CONTACT = "contact"
    COMMAND = "command"
    JOIN = "join"  # started / unblocked the bot
    LEAVE = "leave"  # blocked the bot
    OTHER = "other"  # stickers, voice, locations… anything a flow cannot read
    TIMER = "timer"  # a timer fell due for this chat (timer_kind, timer_payload)


@dataclass(frozen=True, slots=True)
class ChatKey:
    """One conversation: a channel name and the platform's chat id as text."""

    channel: str
    chat_id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.chat_id}"


@dataclass(slots=True)
class FileRef:
    """A file the user sent, as the platform describes it (not yet downloaded)."""

    file_id: str
    unique_id: str = ""
    name: str | None = None
    mime_type: str | None = None
    size: int | None = None
    is_photo: bool = False
    album_id: str | None = None


@dataclass(slots=True)
class Event:
    """A normalised inbound update."""

    channel: str
    chat_id: str
    user_id: str
    event_id: str
    kind: EventKind
    text: str = ""  # the message; for a command, what follows it ("/start abc" → "abc")
    payload: str = ""  # button payload (after the step signature was split off)
    signature: str = ""  # step signature carried by the button, "" for other kinds
    command: str = ""  # "start" for "/start foo"
    file: FileRef | None = None
    phone: str = ""
    phone_is_own: bool = False
    locale_hint: str | None = None
    display_name: str = ""
    other: str = ""  # what an OTHER event was ("sticker", "voice"…)
    seq: int = 0  # the platform's order within the chat (Telegram: update_id); 0 = arrival
    timer_kind: str = ""  # a TIMER event's timer kind (storage.states.TimerKind)
    timer_payload: dict[str, Any] = field(default_factory=dict)  # and the timer's payload

    @property
    def key(self) -> ChatKey:
        return ChatKey(self.channel, self.chat_id)

    def cleaned(self) -> Event:
        """Takes control characters (NUL…; not newline or tab) out of every text of this event
        and its file, in place, and returns it: databases refuse some; no user means them."""
        _clean_fields(self)
        if self.file is not None:
            _clean_fields(self.file)
        return self

    def masked(self) -> Event:
        """This event with its text hidden (a secret the user typed, e.g. a join code)."""
        return replace(self, text=MASK if self.text else "")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        data = dict(data)
        data["kind"] = EventKind(data["kind"])
        if data.get("file"):
            data["file"] = FileRef(**data["file"])
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Button:
    """An inline choice; ``payload`` is short and never shown. A button with a ``url`` is a
    link instead (it opens the page; no payload): a channel without link buttons shows it as
    text (:func:`bot.channels.base.fit_reply`)."""

    label: str
    payload: str
    url: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file a reply carries: a blob of the content-addressed store (``storage.blobs``) by its
    SHA-256, with the name and type the recipient sees."""

    sha256: str
    name: str
    mime_type: str

    @property
    def is_photo(self) -> bool:
        """Whether a channel may show it as a picture (JPEG, PNG) rather than a document."""
        return self.mime_type in PHOTO_TYPES

    def to_json(self) -> dict[str, str]:
        return {"sha256": self.sha256, "name": self.name, "mime_type": self.mime_type}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attachment:
        return cls(sha256=data["sha256"], name=data["name"], mime_type=data["mime_type"])


@dataclass(slots=True)
class Reply:
    """A neutral outbound message.

    ``text`` is plain text (adapters escape it); ``title`` is shown emphasised above it where
    the channel can. ``buttons`` are rows of inline choices; ``contact_button`` asks for the
    user's phone number with the platform's own button, labelled with that text;
    ``contact_request_over`` says that a contact request an earlier reply made is over (a
    channel that shows it as a keyboard takes it away; the engine sets it). ``locale``
    is the recipient's language (set when the reply is queued): an adapter that has to add
    words of its own (a numbered list's instruction, a split message) translates them with it.
    ``secrets`` are parts of the text (a join code) that the transcript never keeps and the
    outbox forgets once the message is delivered (see storage.outbox). ``attachment`` is a
    file sent with the message (a channel that cannot send it says so in the text:
    :func:`bot.channels.base.fit_reply`).
    """

    text: str
    title: str = ""
    buttons: list[list[Button]] = field(default_factory=list)
    contact_button: str = ""
    contact_request_over: bool = False
    locale: str | None = None
    secrets: list[str] = field(default_factory=list)
    attachment: Attachment | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "title": self.title,
            "buttons": [
                [[b.label, b.payload, b.url] if b.url else [b.label, b.payload] for b in row]
                for row in self.buttons
            ],
            "contact_button": self.contact_button,
            "contact_request_over": self.contact_request_over,
            "locale": self.locale,
        }
        if self.secrets:
            data["secrets"] = list(self.secrets)
        if self.attachment is not None:
            data["attachment"] = self.attachment.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        attached = data.get("attachment")  # older rows have none
        return cls(
            text=data["text"],
            title=data.get("title", ""),
            buttons=[[Button(*button) for button in row] for row in data["buttons"]],
            contact_button=data.get("contact_button", ""),
            contact_request_over=data.get(
                "contact_request_over",
                data.get("remove_keyboard", False),  # older rows
            ),
            locale=data.get("locale"),
            secrets=list(data.get("secrets", [])),
            attachment=Attachment.from_json(attached) if attached else None,
        )

    def plain_text(self) -> str:
        """The whole message as plain text (title first)."""
        return f"{self.title}\n{self.text}" if self.title else self.text


SIGNATURE_SEPARATOR = "|"
# C0 control characters and DEL, except tab and newline.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def strip_control(text: str) -> str:
    """``text`` without control characters other than newline and tab."""
    return CONTROL_CHARACTERS.sub("", text)


def _clean_fields(item: Event | FileRef) -> None:
    for f in fields(item):
        value = getattr(item, f.name)
        if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
            setattr(item, f.name, strip_control(value))


def step_signature(flow: str, step: str, version: int) -> str:
    """A short token naming the question a button belongs to, so stale buttons are caught."""
    digest = hashlib.blake2s(f"{flow}/{step}/{version}".encode(), digest_size=3).hexdigest()
    return digest


def button_payload(signature: str, value: str) -> str:
    """The data a button carries: signature and value, at most 64 bytes."""
    data = f"{signature}{SIGNATURE_SEPARATOR}{value}"
    if len(data.encode()) > 64:
        raise ValueError(f"button payload over 64 bytes: {data!r}")
    return data


def split_button_payload(data: str) -> tuple[str, str]:
    """(signature, value) from a button's data; a payload without a signature has ''."""
    signature, sep, value = data.partition(SIGNATURE_SEPARATOR)
    return (signature, value) if sep else ("", data)
