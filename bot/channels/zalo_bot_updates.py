"""What a Zalo Bot Platform update may look like before we read it.

An update is ``{"event_name", "message": {"message_id", "from": {"id", "name"}, "chat": {"id",
"chat_type"}, "date", "text"?, "photo"?, "caption"?}}``. Webhook bodies may wrap it as ``{"ok":
true, "result": {…}}``; ``getUpdates`` answers one update or a list (:func:`updates_in` takes
each shape). Ids are strings (numbers are taken too); ``date`` is in milliseconds (seconds are
taken too). An update without a message (Zalo sends ``message.unsupported.received`` bare for
some protected accounts) has no chat to answer: it is read as nothing.

The platform gives no update id: an update is known by its event name and message id
(:func:`event_id_of`); one without a message id, or that cannot be read, by a hash of its
contents, so the same update delivered twice is still stored (or parked) once. The problems named
by :func:`update_problem` never quote the update (they are logged and stored).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = [
    "EVENT_IMAGE",
    "EVENT_STICKER",
    "EVENT_TEXT",
    "EVENT_UNSUPPORTED",
    "MAX_ID",
    "MAX_WEBHOOK_BODY",
    "date_ms",
    "event_id_of",
    "id_of",
    "photo_url",
    "update_kind",
    "update_problem",
    "updates_in",
]

EVENT_TEXT = "message.text.received"
EVENT_IMAGE = "message.image.received"
EVENT_STICKER = "message.sticker.received"
EVENT_UNSUPPORTED = "message.unsupported.received"
MAX_ID = 64  # characters of a chat or user id (the inbox keeps chat ids of up to 64)
MAX_EVENT_ID = 80  # the inbox's event id column
PHOTO_FIELDS = ("photo", "photo_url", "url")
MAX_WEBHOOK_BODY = 256 * 1024  # an update is a message of at most a few thousand characters
_SECONDS_BEFORE = 10**11  # a date below this is in seconds (10^11 ms is 1973)


def updates_in(body: Any) -> list[Any]:
    """The updates a webhook body or a ``getUpdates`` result holds: one update, a list of them,
    either wrapped as ``{"ok": true, "result": …}``; nothing for an empty result."""
    if isinstance(body, dict) and "result" in body and "event_name" not in body:
        body = body["result"]
    if body is None or body == {}:
        return []
    return list(body) if isinstance(body, list) else [body]


def id_of(value: Any) -> str | None:
    """An id as text (strings, or whole numbers), None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip()):
        text = str(value).strip()
        return text if len(text) <= MAX_ID else None
    return None


def date_ms(message: dict[str, Any]) -> int | None:
    """The message's date in milliseconds, when it has a readable one."""
    value = message.get("date")
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return int(value * 1000 if value < _SECONDS_BEFORE else value)


def event_id_of(raw: Any) -> str:
    """What the update is known by: ``<event name>:<message id>``, else a hash of it."""
    if isinstance(raw, dict):
        name, message = raw.get("event_name"), raw.get("message")
        message_id = id_of(message.get("message_id")) if isinstance(message, dict) else None
        if isinstance(name, str) and message_id is not None:
            key = f"{name}:{message_id}"
            if len(key) <= MAX_EVENT_ID:
                return key
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def update_kind(raw: Any) -> str:
    """The update's event name, for logs (never its contents)."""
    name = raw.get("event_name") if isinstance(raw, dict) else None
    if isinstance(name, str) and name:
        return "".join(c for c in name[:60] if c.isalnum() or c in "._-")
    return type(raw).__name__ if not isinstance(raw, dict) else "no event name"


def update_problem(raw: Any) -> str | None:
    """Why ``raw`` cannot be read as a Zalo bot update, or None if it can."""
    if not isinstance(raw, dict):
        return "not a JSON object"
    if not isinstance(raw.get("event_name"), str) or not raw["event_name"]:
        return "no event name"
    message = raw.get("message")
    if message is None:
        return None  # nothing to answer (read as no event)
    if not isinstance(message, dict):
        return "message is not an object"
    chat = message.get("chat")
    if not isinstance(chat, dict) or id_of(chat.get("id")) is None:
        return f"no chat id (text of at most {MAX_ID} characters)"
    sender = message.get("from")
    if sender is not None and not isinstance(sender, dict):
        return "from is not an object"
    if isinstance(sender, dict) and "id" in sender and id_of(sender["id"]) is None:
        return "from.id is not an id"
    for field in ("text", "caption", *PHOTO_FIELDS):
        if message.get(field) is not None and not isinstance(message[field], str):
            return f"{field} is not text"
    if raw["event_name"] == EVENT_IMAGE and photo_url(message) is None:
        return "an image without a web address"
    return None


def photo_url(message: dict[str, Any]) -> str | None:
    """The web address of an image message's picture: ``photo`` (the documented field), else
    ``photo_url`` or ``url`` (seen in some accounts of the platform; unconfirmed)."""
    for field in PHOTO_FIELDS:
        value = message.get(field)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
    return None
