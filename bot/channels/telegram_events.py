"""A Telegram update, as the Bot API's JSON gives it, read into our events without PTB objects.

The updates a bot gets all day — a private message with a text, a command, a contact, a
document or a photo, and a button press — are read straight from the dict once
:func:`plain_update` has checked every field they hold: the fields listed in the shapes below,
of their JSON types, the required ones present. Any other update (other kinds, fields not
listed, a wrong type or a missing field) is first parsed by python-telegram-bot's
``Update.de_json``, as every update was before: what PTB cannot parse raises, and the channel
parks it. Then it is read from the dict the same way. Each shape requires at least what PTB's
class requires and holds only JSON types PTB takes as they are (timestamps within range), so a
plain update is one PTB parses, and :func:`events_of` gives for it what reading PTB's objects
gave (tests/channels/test_telegram_events.py compares the two on many variants).

The reading goes through ``dict.get`` where PTB's objects were read by attribute (where PTB
took a missing object as None, reading a field of it fails here as it failed there), and
converts what PTB's classes convert (``str`` of a file id or a phone number, the full name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update

from bot.channels.common import parse_command
from bot.vocabulary import GROUP, Event, EventKind, FileRef, split_button_payload

__all__ = ["CHANNEL", "OTHER_KINDS", "SHAPES", "Shape", "callback_query_id", "events_of",
           "plain_update", "read_update"]  # fmt: skip

CHANNEL = "telegram"
OTHER_KINDS = ("sticker", "animation", "voice", "video", "video_note", "audio", "location",
               "venue", "poll", "dice", "game", "story")  # fmt: skip
MAX_TIMESTAMP = 2**32  # beyond it (year 2106) a date is not taken as plain
Check = Callable[[Any], bool]


def _int(value: Any) -> bool:
    return type(value) is int


def _str(value: Any) -> bool:
    return type(value) is str


def _bool(value: Any) -> bool:
    return type(value) is bool


def _time(value: Any) -> bool:
    return type(value) is int and 0 <= value < MAX_TIMESTAMP


@dataclass(frozen=True, slots=True)
class Shape:
    """A JSON object read without PTB: the fields it may hold (a check for each) and those it
    must hold."""

    fields: dict[str, Check]
    required: frozenset[str]

    def __call__(self, value: Any) -> bool:
        fields = self.fields
        return (
            type(value) is dict
            and self.required <= value.keys()
            and all(key in fields and fields[key](item) for key, item in value.items())
        )


def _shape(required: str, fields: dict[str, Check]) -> Shape:
    return Shape(fields, frozenset(required.split()))


def _list(shape: Check) -> Check:
    return lambda value: type(value) is list and all(shape(item) for item in value)


USER = _shape("id is_bot first_name", {
    "id": _int, "is_bot": _bool, "first_name": _str, "last_name": _str, "username": _str,
    "language_code": _str, "is_premium": _bool, "added_to_attachment_menu": _bool,
    "can_join_groups": _bool, "can_read_all_group_messages": _bool,
    "supports_inline_queries": _bool})  # fmt: skip
CHAT = _shape("id type", {"id": _int, "type": _str, "title": _str, "username": _str,
                          "first_name": _str, "last_name": _str})  # fmt: skip
ENTITY = _shape("type offset length", {"type": _str, "offset": _int, "length": _int,
                                       "url": _str, "language": _str,
                                       "custom_emoji_id": _str})  # fmt: skip
CONTACT = _shape("phone_number first_name", {"phone_number": _str, "first_name": _str,
                                             "last_name": _str, "user_id": _int,
                                             "vcard": _str})  # fmt: skip
PHOTO_SIZE = _shape("file_id file_unique_id width height", {
    "file_id": _str, "file_unique_id": _str, "width": _int, "height": _int,
    "file_size": _int})  # fmt: skip
DOCUMENT = _shape("file_id file_unique_id", {
    "file_id": _str, "file_unique_id": _str, "file_name": _str, "mime_type": _str,
    "file_size": _int, "thumbnail": PHOTO_SIZE, "thumb": PHOTO_SIZE})  # fmt: skip
BUTTON = _shape("text", {"text": _str, "url": _str, "callback_data": _str})
KEYBOARD = _shape("inline_keyboard", {"inline_keyboard": _list(_list(BUTTON))})
MESSAGE = _shape("message_id date chat", {
    "message_id": _int, "date": _time, "chat": CHAT, "from": USER, "edit_date": _time,
    "text": _str, "caption": _str, "entities": _list(ENTITY), "caption_entities": _list(ENTITY),
    "contact": CONTACT, "document": DOCUMENT, "photo": _list(PHOTO_SIZE),
    "media_group_id": _str, "reply_markup": KEYBOARD})  # fmt: skip
CALLBACK_QUERY = _shape("id from chat_instance", {
    "id": _str, "from": USER, "chat_instance": _str, "message": MESSAGE, "data": _str,
    "inline_message_id": _str})  # fmt: skip
# Each shape with the PTB class it stands for (a test checks it requires what the class does).
SHAPES: dict[str, Shape] = {"User": USER, "Chat": CHAT, "MessageEntity": ENTITY,
                            "Contact": CONTACT, "PhotoSize": PHOTO_SIZE, "Document": DOCUMENT,
                            "InlineKeyboardButton": BUTTON, "InlineKeyboardMarkup": KEYBOARD,
                            "Message": MESSAGE, "CallbackQuery": CALLBACK_QUERY}  # fmt: skip


def plain_update(raw: dict[str, Any]) -> bool:
    """Whether ``raw`` (an update that passed ``update_problem``) is a message or a button
    press made only of the fields of the shapes above, so PTB need not parse it."""
    if len(raw) != 2:
        return False
    if (message := raw.get("message")) is not None:
        return MESSAGE(message)
    query = raw.get("callback_query")
    return query is not None and CALLBACK_QUERY(query)


def read_update(raw: dict[str, Any]) -> list[Event]:
    """The events of an update that passed ``update_problem``; raises (PTB's error, or the
    reading's) when it cannot be read."""
    if not plain_update(raw):
        Update.de_json(raw)  # what PTB cannot parse is not read
    return events_of(raw)


def callback_query_id(raw: dict[str, Any]) -> Any:
    """The id of the button press to answer, if the update is one (after :func:`read_update`)."""
    query = raw.get("callback_query")
    return None if query is None else query.get("id")


def events_of(raw: dict[str, Any]) -> list[Event]:
    """Normalise one update PTB can parse; updates we do not handle give ``[]``."""
    if (query := raw.get("callback_query")) is not None:
        user, message = query.get("from"), query.get("message")
        chat = message.get("chat").get("id") if message else user.get("id")
        sig, value = split_button_payload(query.get("data") or "")
        return [_event(raw, chat, user, EventKind.BUTTON, signature=sig, payload=value)]
    if (message := raw.get("message")) is not None:
        return [_message_event(raw, message)]
    member = raw.get("my_chat_member")
    if member is not None and member.get("chat").get("type") == "private":
        status = member.get("new_chat_member").get("status")
        kind = {"kicked": EventKind.LEAVE, "member": EventKind.JOIN}.get(status)
        if kind is not None:
            return [_event(raw, member.get("chat").get("id"), member.get("from"), kind)]
    return []


def _message_event(raw: dict[str, Any], message: Any) -> Event:
    user, chat = message.get("from"), message.get("chat")
    chat_id = chat.get("id")
    if chat.get("type") != "private":  # the flows are one person's conversation
        return _event(raw, chat_id, user, EventKind.OTHER, other=GROUP)
    if (text := message.get("text")) is not None:
        if (command := parse_command(text)) is not None:
            name, argument = command
            return _event(raw, chat_id, user, EventKind.COMMAND, command=name, text=argument)
        return _event(raw, chat_id, user, EventKind.TEXT, text=text)
    if (contact := message.get("contact")) is not None:
        own = user is not None and contact.get("user_id") == user.get("id")
        return _event(raw, chat_id, user, EventKind.CONTACT,
                      phone=str(contact.get("phone_number")), phone_is_own=own)  # fmt: skip
    for other in OTHER_KINDS:  # before documents: an animation is also a document
        if message.get(other):
            return _event(raw, chat_id, user, EventKind.OTHER, other=other)
    album, caption = message.get("media_group_id"), message.get("caption") or ""
    if (doc := message.get("document")) is not None:
        ref = FileRef(str(doc.get("file_id")), str(doc.get("file_unique_id")),
                      doc.get("file_name"), doc.get("mime_type"), doc.get("file_size"),
                      is_photo=False, album_id=album)  # fmt: skip
        return _event(raw, chat_id, user, EventKind.FILE, file=ref, text=caption)
    if photo := message.get("photo"):  # Telegram sends every photo as JPEG, in several sizes
        best = max(photo, key=lambda p: p.get("width") * p.get("height"))
        ref = FileRef(str(best.get("file_id")), str(best.get("file_unique_id")), None,
                      "image/jpeg", best.get("file_size"), is_photo=True,
                      album_id=album)  # fmt: skip
        return _event(raw, chat_id, user, EventKind.FILE, file=ref, text=caption)
    return _event(raw, chat_id, user, EventKind.OTHER, other="message")


def _event(raw: dict[str, Any], chat_id: Any, user: dict[str, Any] | None, kind: EventKind,
           **fields: Any) -> Event:  # fmt: skip
    update_id = raw["update_id"]
    return Event(
        channel=CHANNEL,
        chat_id=str(chat_id),
        user_id=str(user.get("id") if user else chat_id),
        event_id=str(update_id),
        seq=update_id,
        kind=kind,
        locale_hint=user.get("language_code") if user else None,
        display_name=_full_name(user) if user else "",
        **fields,
    )


def _full_name(user: dict[str, Any]) -> Any:
    """As PTB's ``User.full_name`` (None without a first name)."""
    first, last = user.get("first_name"), user.get("last_name")
    if not first:
        return None
    return f"{first} {last}" if last else first
