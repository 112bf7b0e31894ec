"""What a Zalo Official Account webhook call says: its signature, and the event it carries.

A call is signed in ``X-ZEvent-Signature: mac=<hex>``, hex being the SHA-256 (a plain hash, not
an HMAC) of ``app_id + raw body + timestamp + secret``, ``timestamp`` the body's own field.
Which secret signs (the OA secret key or the app secret) is not settled in Zalo's documents:
the adapter is told which to try (:func:`signature_variants`) and :func:`matching_variant` says
which one matched, if any.

:func:`read_event` turns a body into :class:`~bot.vocabulary.Event` (a text that is a button's
payload, ``#b:<signature>|<value>``, is that button; "/cmd args" a command; images and files
carry their CDN URL; ``user_submit_info`` is the phone number of the user's Zalo profile;
``follow`` / ``unfollow`` start and end the chat), ``[]`` for what is acknowledged and dropped
(delivery and read receipts, the OA's own messages, anything unknown), and raises
:class:`Unreadable` for an event it should read but cannot (the adapter parks it). Ids are
strings, often beyond 2⁵³: they are kept as text, never parsed as numbers. Nothing here quotes
a message in an exception (reasons are logged and stored).
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
from collections.abc import Sequence
from typing import Any

from bot.channels.common import parse_command
from bot.vocabulary import Event, EventKind, FileRef, split_button_payload

__all__ = [
    "BUTTON_PREFIX",
    "SIGNATURE_HEADER",
    "Unreadable",
    "event_id_of",
    "matching_variant",
    "normalise_phone",
    "read_event",
    "signature",
    "signature_variants",
]

SIGNATURE_HEADER = "X-ZEvent-Signature"
BUTTON_PREFIX = "#b:"  # a button's payload, sent back as the user's (hidden) text
OA_SECRET, APP_SECRET = "oa secret key", "app secret"  # the signature variants, as logged
MAX_ID = 64  # characters of an id we accept (Zalo's are about 19 digits)
MAX_EVENT_ID = 80  # the inbox's event_id column
# What users send that no flow can read, by event: what dispatch calls it (bot/dispatch.py).
OTHER_EVENTS = {
    "user_send_location": "location",
    "user_send_sticker": "sticker",
    "user_send_gif": "animation",
    "user_send_audio": "voice",
    "user_send_video": "video",
}
MEMBERSHIP = {"follow": EventKind.JOIN, "unfollow": EventKind.LEAVE}


class Unreadable(Exception):
    """An event we should read but cannot; the message names the problem, never the content."""


def signature_variants(which: str, oa_secret: str | None,
                       app_secret: str | None) -> list[tuple[str, str]]:  # fmt: skip
    """The (name, secret) pairs a signature is checked against: ``which`` is "oa", "app" or
    "both" (the ``zalo_signature_secret`` setting). ValueError when a secret it names is unset."""
    wanted = {"oa": [OA_SECRET], "app": [APP_SECRET], "both": [OA_SECRET, APP_SECRET]}
    if which not in wanted:
        raise ValueError(f'the signature secret must be "oa", "app" or "both", not {which!r}')
    secrets = {OA_SECRET: oa_secret, APP_SECRET: app_secret}
    missing = [name for name in wanted[which] if not secrets[name]]
    if missing:
        raise ValueError(f"the Zalo {' and '.join(missing)} must be set to check signatures")
    return [(name, secrets[name] or "") for name in wanted[which]]


def signature(app_id: str, body: bytes, timestamp: str, secret: str) -> str:
    """The hex SHA-256 Zalo puts in ``X-ZEvent-Signature`` (after ``mac=``)."""
    signed = app_id.encode() + body + timestamp.encode() + secret.encode()
    return hashlib.sha256(signed).hexdigest()


def matching_variant(header: str | None, app_id: str, body: bytes, timestamp: str,
                     variants: Sequence[tuple[str, str]]) -> str | None:  # fmt: skip
    """The name of the variant whose secret signed ``body``, or None; compared in constant
    time (every variant is computed and compared, whichever matches)."""
    given = (header or "").strip()
    given = given[4:] if given.lower().startswith("mac=") else given
    given_bytes = given.strip().lower().encode("ascii", "replace")
    matched = None
    for name, secret in variants:
        expected = signature(app_id, body, timestamp, secret).encode()
        if hmac.compare_digest(given_bytes, expected) and matched is None:
            matched = name
    return matched


def timestamp_of(raw: dict[str, Any]) -> str:
    """The body's ``timestamp`` field as the signature uses it (text)."""
    value = raw.get("timestamp")
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


def _seq(raw: dict[str, Any]) -> int:
    """The event's time in ms (the platform's order within a chat), 0 when unknown."""
    stamp = timestamp_of(raw)
    return int(stamp) if stamp.isascii() and stamp.isdigit() and len(stamp) <= 18 else 0


def _id(value: Any) -> str:
    """An id as text; "" when it is not one. A float would have lost digits: refused."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    text = str(value).strip()
    return text if 0 < len(text) <= MAX_ID else ""


def _user_of(raw: dict[str, Any], name: str) -> str:
    """The user's OA-scoped id: the follower of a (un)follow, else the sender."""
    holders = (raw.get("follower") if name in MEMBERSHIP else None, raw.get("sender"))
    for holder in holders:
        if isinstance(holder, dict) and (user := _id(holder.get("id"))):
            return user
    return ""


def event_id_of(raw: dict[str, Any]) -> str:
    """The key Zalo's retries are deduplicated on: the message's ``msg_id``, else the event's
    name, timestamp and user; "" when the body has none of these."""
    message = raw.get("message")
    if isinstance(message, dict) and (msg_id := _id(message.get("msg_id"))):
        return msg_id
    name = raw.get("event_name")
    if not isinstance(name, str) or not name:
        return ""
    user = _user_of(raw, name)
    stamp = timestamp_of(raw)
    if not (user or stamp):
        return ""
    key = f"{name[:40]}:{stamp}:{user}"
    if len(key) <= MAX_EVENT_ID:
        return key
    return f"{name[:24]}:{hashlib.sha256(key.encode()).hexdigest()[:48]}"


def normalise_phone(phone: str) -> str:
    """A number as Zalo gives it ("84912345678") in international form ("+84912345678")."""
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if digits.startswith("84") and len(digits) >= 10:
        return "+" + digits
    return digits


def read_event(raw: dict[str, Any], channel: str = "zalo_oa") -> list[Event]:
    """The events of one webhook body (``[]``: acknowledged, nothing to do)."""
    name = raw.get("event_name")
    if not isinstance(name, str) or not name:
        raise Unreadable("no event_name")
    reads = name in MEMBERSHIP or name == "user_submit_info" or name.startswith("user_send_")
    if not reads:  # receipts, the OA's own messages, events we do not use
        return []
    user = _user_of(raw, name)
    if not user:
        raise Unreadable(f"{name[:40]}: no user id")
    event_id = event_id_of(raw)

    def event(kind: EventKind, **fields: Any) -> Event:
        fields.setdefault("event_id", event_id)
        return Event(channel=channel, chat_id=user, user_id=user, kind=kind, seq=_seq(raw),
                     **fields)  # fmt: skip

    if name in MEMBERSHIP:
        return [event(MEMBERSHIP[name])]
    if name == "user_submit_info":
        info = raw.get("info")
        if not isinstance(info, dict):
            raise Unreadable(f"{name}: no info")
        phone, person = info.get("phone"), info.get("name")
        return [event(EventKind.CONTACT, phone=normalise_phone(str(phone or "")),
                      phone_is_own=True,  # from the user's own Zalo profile
                      display_name=person if isinstance(person, str) else "")]  # fmt: skip
    message = raw.get("message")
    if not isinstance(message, dict) or not _id(message.get("msg_id")):
        raise Unreadable(f"{name[:40]}: no message id")
    text = message.get("text")
    text = text if isinstance(text, str) else ""
    if name == "user_send_text":
        if text.startswith(BUTTON_PREFIX):
            signature_, value = split_button_payload(text[len(BUTTON_PREFIX) :])
            return [event(EventKind.BUTTON, signature=signature_, payload=value)]
        if (command := parse_command(text)) is not None:
            return [event(EventKind.COMMAND, command=command[0], text=command[1])]
        return [event(EventKind.TEXT, text=text)]
    if name in ("user_send_image", "user_send_file"):
        files = _files(message, name, album=event_id)
        ids = [event_id] + [f"{event_id}:{i}" for i in range(1, len(files))]
        texts = [text] + [""] * (len(files) - 1)  # the caption goes with the first
        return [
            event(EventKind.FILE, event_id=id_, file=ref, text=caption)
            for id_, ref, caption in zip(ids, files, texts, strict=True)
        ]
    return [event(EventKind.OTHER, other=OTHER_EVENTS.get(name, name[len("user_send_") :][:40]))]


def _files(message: dict[str, Any], name: str, album: str) -> list[FileRef]:
    """The files of an image or file message (one per attachment, each with its CDN URL;
    several make an album)."""
    attachments = message.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        raise Unreadable(f"{name}: no attachments")
    files = []
    for attachment in attachments:
        payload = attachment.get("payload") if isinstance(attachment, dict) else None
        url = payload.get("url") if isinstance(payload, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise Unreadable(f"{name}: an attachment without a URL")
        assert isinstance(payload, dict)
        if name == "user_send_image":
            files.append(FileRef(url, unique_id=url, mime_type="image/jpeg", is_photo=True))
            continue
        file_name = payload.get("name") if isinstance(payload.get("name"), str) else None
        size = str(payload.get("size", ""))
        kind = str(payload.get("type") or "").lower().lstrip(".")
        mime = mimetypes.guess_type(f"file.{kind}")[0] if kind.isalnum() else None
        declared = int(size) if size.isascii() and size.isdigit() and len(size) < 16 else None
        unique = str(payload.get("checksum") or url)
        files.append(FileRef(url, unique, file_name, mime, declared))
    if len(files) > 1:
        for ref in files:
            ref.album_id = album
    return files
