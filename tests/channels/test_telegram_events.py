"""Updates read from their JSON give what reading python-telegram-bot's objects gave.

The reference is the channel's reading before it went without PTB (``Update.de_json``, then the
objects' attributes), kept here as it was. Both read every update the fake Bot API builds and
thousands of variants of them (a field dropped, null, of another type, an unknown field added):
the events, the button press to answer, or the parking (with the error's type) must agree.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterator
from typing import Any

import telegram as tg
from telegram import Message, Update, User

from bot.channels.common import parse_command
from bot.channels.telegram_events import (
    OTHER_KINDS,
    SHAPES,
    callback_query_id,
    plain_update,
    read_update,
)
from bot.channels.telegram_updates import update_problem
from bot.vocabulary import GROUP, Event, EventKind, FileRef, split_button_payload
from tests.fakes.telegram_api import BOT_USER, UpdateBuilder

CHAT = 5_123_456_789
Outcome = tuple[str, Any, Any]


# -- the reading through PTB's objects, as the channel did it -------------------------------
def ptb_events(update: Update) -> list[Event]:
    if (query := update.callback_query) is not None:
        chat = query.message.chat.id if query.message else query.from_user.id
        sig, value = split_button_payload(query.data or "")
        return [ptb_event(update, chat, query.from_user, EventKind.BUTTON, signature=sig,
                          payload=value)]  # fmt: skip
    if (message := update.message) is not None:
        return [ptb_message_event(update, message)]
    member = update.my_chat_member
    if member is not None and member.chat.type == "private":
        status = member.new_chat_member.status
        kind = {"kicked": EventKind.LEAVE, "member": EventKind.JOIN}.get(status)
        if kind is not None:
            return [ptb_event(update, member.chat.id, member.from_user, kind)]
    return []


def ptb_message_event(update: Update, message: Message) -> Event:
    user, chat = message.from_user, message.chat.id
    if message.chat.type != "private":
        return ptb_event(update, chat, user, EventKind.OTHER, other=GROUP)
    if (text := message.text) is not None:
        if (command := parse_command(text)) is not None:
            name, argument = command
            return ptb_event(update, chat, user, EventKind.COMMAND, command=name, text=argument)
        return ptb_event(update, chat, user, EventKind.TEXT, text=text)
    if (contact := message.contact) is not None:
        own = user is not None and contact.user_id == user.id
        return ptb_event(update, chat, user, EventKind.CONTACT, phone=contact.phone_number,
                         phone_is_own=own)  # fmt: skip
    for other in OTHER_KINDS:
        if getattr(message, other, None):
            return ptb_event(update, chat, user, EventKind.OTHER, other=other)
    album, caption = message.media_group_id, message.caption or ""
    if (doc := message.document) is not None:
        ref = FileRef(doc.file_id, doc.file_unique_id, doc.file_name, doc.mime_type,
                      doc.file_size, is_photo=False, album_id=album)  # fmt: skip
        return ptb_event(update, chat, user, EventKind.FILE, file=ref, text=caption)
    if message.photo:
        best = max(message.photo, key=lambda p: p.width * p.height)
        ref = FileRef(best.file_id, best.file_unique_id, None, "image/jpeg", best.file_size,
                      is_photo=True, album_id=album)  # fmt: skip
        return ptb_event(update, chat, user, EventKind.FILE, file=ref, text=caption)
    return ptb_event(update, chat, user, EventKind.OTHER, other="message")


def ptb_event(update: Update, chat_id: int, user: User | None, kind: EventKind,
              **fields: Any) -> Event:  # fmt: skip
    return Event(channel="telegram", chat_id=str(chat_id),
                 user_id=str(user.id if user else chat_id), event_id=str(update.update_id),
                 seq=update.update_id, kind=kind,
                 locale_hint=user.language_code if user else None,
                 display_name=user.full_name if user else "", **fields)  # fmt: skip


def through_ptb(raw: dict[str, Any]) -> Outcome:
    try:
        update = Update.de_json(copy.deepcopy(raw))
        events = ptb_events(update)
        query = update.callback_query.id if update.callback_query is not None else None
    except Exception as exc:
        return ("parked", type(exc).__name__, None)
    return ("events", events, query)


def from_json(raw: dict[str, Any]) -> Outcome:
    try:
        events = read_update(raw)
        query = callback_query_id(raw)
    except Exception as exc:
        return ("parked", type(exc).__name__, None)
    return ("events", events, query)


# -- updates and their variants --------------------------------------------------------------
def updates() -> list[tuple[dict[str, Any], bool]]:
    """Every kind the fake builds and the shapes real Telegram adds to them, each with whether
    it is read without PTB."""
    make = UpdateBuilder()
    bold = [{"type": "bold", "offset": 0, "length": 5}]
    keyboard = {"inline_keyboard": [[{"text": "Có", "callback_data": "ab|yes"},
                                     {"text": "Web", "url": "https://ocop.gov.vn"}]]}  # fmt: skip
    pressed = make.callback(CHAT, "ab|yes", language_code=None)
    pressed["callback_query"]["message"].update(entities=bold, reply_markup=keyboard,
                                                edit_date=1_700_000_000)  # fmt: skip
    gone = make.callback(CHAT, "ab|old")
    gone["callback_query"]["message"] = {"message_id": 9, "chat": make.chat(CHAT), "date": 0}
    bare = make.callback(CHAT, "ab|x")
    del bare["callback_query"]["message"]
    inline = make.callback(CHAT, "ab|y")
    del inline["callback_query"]["message"]
    inline["callback_query"]["inline_message_id"] = "im-1"
    thumbed = make.document(CHAT, "doc-2", caption="Ảnh", media_group_id="al-1")
    thumb = {"file_id": "t", "file_unique_id": "ut", "width": 90, "height": 90, "file_size": 9}
    thumbed["message"]["document"].update(thumbnail=thumb, thumb=thumb)
    premium = make.text(CHAT, "chào", user=make.user(CHAT, last_name="", language_code="en"))
    premium["message"]["from"].update(is_premium=True, username="lan_htx")
    premium["message"]["chat"].update(username="lan_htx", last_name="Nguyễn")
    group = make.text(-100_200, "nhóm")
    group["message"]["chat"] = {"id": -100_200, "type": "supergroup", "title": "HTX"}
    group_press = make.callback(CHAT, "ab|g")
    group_press["callback_query"]["message"]["chat"] = {"id": -5, "type": "group", "title": "G"}
    linked = make.text(CHAT, "xem https://ocop.gov.vn",
                       entities=[{"type": "url", "offset": 4, "length": 19}],
                       link_preview_options={"is_disabled": True})  # fmt: skip
    replying = make.text(CHAT, "trả lời", reply_to_message=make.text(CHAT, "gốc")["message"])
    italic = [{"type": "italic", "offset": 0, "length": 3}]
    captioned = make.photo(CHAT, caption="Sản phẩm", caption_entities=italic)
    plain = [
        make.text(CHAT, "Xin chào /start"),
        make.command(CHAT, "Start", "ref_42 more", mention="ocop_test_bot"),
        make.command(CHAT, "help"),
        make.text(CHAT, ""),
        make.callback(CHAT, "a1b2c3|group:food"),
        make.callback(CHAT, "no-signature"),
        pressed, gone, bare, inline, group_press,
        make.contact(CHAT, "+84912345678"),
        make.contact(CHAT, own=False),
        make.document(CHAT, "doc-9", file_name="giay-phep.pdf", file_size=2048,
                      caption="Giấy phép", media_group_id="album-1"),
        make.document(CHAT, file_size=None),
        thumbed,
        make.photo(CHAT, "ph-7", sizes=((800, 600), (1280, 960), (90, 67))),
        captioned, premium, group,
        make.message(CHAT),  # a message with nothing we read
    ]  # fmt: skip
    through_ptb_first = [
        linked, replying, make.sticker(CHAT), make.voice(CHAT), make.location(CHAT),
        make.chat_member(CHAT, "kicked"), make.chat_member(CHAT, "member"),
        make.chat_member(-100_123, "kicked"),
        make.update(edited_message=make.text(CHAT, "sửa")["message"]),
        make.message(CHAT, dice={"emoji": "🎲", "value": 3}),
    ]  # fmt: skip
    return [(raw, True) for raw in plain] + [(raw, False) for raw in through_ptb_first]


ODD_VALUES: tuple[Any, ...] = (None, {}, [], "", "x", 0, 1, True, -1, 2**40, 1.5, [{}], {"a": 1})


def paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON tree: dict keys and list items."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield (*path, i)
            yield from paths(item, (*path, i))


def containers(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        yield path
    for sub in paths(value, path):
        if isinstance(at(value, sub[len(path) :]), dict):
            yield sub


def at(tree: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        tree = tree[step]
    return tree


def variants(raw: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The update, and one change of it at a time."""
    yield raw
    for path in paths(raw):
        if path == ("update_id",):
            continue
        parent = path[:-1]
        dropped = copy.deepcopy(raw)
        del at(dropped, parent)[path[-1]]
        yield dropped
        for odd in ODD_VALUES:
            changed = copy.deepcopy(raw)
            at(changed, parent)[path[-1]] = copy.deepcopy(odd)
            yield changed
    for path in containers(raw):
        added = copy.deepcopy(raw)
        at(added, path)["new_field_from_a_later_bot_api"] = {"x": 1}
        yield added


# -- the tests -------------------------------------------------------------------------------
def test_every_variant_reads_as_through_ptb() -> None:
    compared = plain = plain_changed = 0
    for base, base_plain in updates():
        assert plain_update(base) == base_plain, base
        for raw in variants(base):
            if update_problem(raw) is not None:
                continue  # refused (webhook) or parked (polling) before any reading
            expected, got = through_ptb(raw), from_json(raw)
            assert got == expected, raw
            compared += 1
            if plain_update(raw):
                plain += 1
                plain_changed += raw != base
                assert expected[0] == "events", raw  # a plain update is one PTB parses
    assert compared > 5000 and plain > 500 and plain_changed > 300, (compared, plain)


def test_the_day_to_day_updates_are_read_without_ptb() -> None:
    make = UpdateBuilder()
    for raw in (make.text(CHAT, "chào"), make.command(CHAT, "start", "x"),
                make.callback(CHAT, "ab|1"), make.contact(CHAT), make.document(CHAT),
                make.photo(CHAT, caption="c", media_group_id="m")):  # fmt: skip
        assert plain_update(raw), raw
    for raw in (make.sticker(CHAT), make.chat_member(CHAT, "kicked"),
                make.update(edited_message=make.text(CHAT, "x")["message"])):  # fmt: skip
        assert not plain_update(raw), raw


def test_a_poll_ptb_cannot_parse_is_still_unreadable() -> None:
    poll = {"id": "p1", "question": "?", "options": [{"text": "Có"}], "total_voter_count": 0,
            "is_closed": False, "is_anonymous": True, "type": "regular",
            "allows_multiple_answers": False}  # fmt: skip
    raw = UpdateBuilder().message(CHAT, poll=poll)  # an option without voter_count
    assert from_json(raw) == through_ptb(raw) == ("parked", "TypeError", None)


def test_each_shape_requires_what_ptb_requires() -> None:
    renamed = {"from_user": "from"}
    for name, shape in SHAPES.items():
        parameters = inspect.signature(getattr(tg, name)).parameters
        required = {renamed.get(p, p) for p, value in parameters.items()
                    if value.default is value.empty and p != "api_kwargs"}  # fmt: skip
        assert required <= shape.required, name
        known = {renamed.get(p, p) for p in parameters} | {"thumb"}  # PTB drops "thumb"
        assert set(shape.fields) <= known, name


def test_the_fakes_bot_user_is_a_plain_user() -> None:
    assert SHAPES["User"](BOT_USER)
