"""A fake Telegram Bot API server speaking real HTTP (aiohttp), for tests and benchmarks.

In tests::

    async with FakeTelegramAPI() as api:
        channel = TelegramChannel(api.token, api.url, engine)
        api.push(api.make.text(42, "xin chào"))
        sent = await api.wait_sent(42, n=1)

As its own process (a benchmark drives it over HTTP)::

    python -m tests.fakes.telegram_api --port 8081 [--token 123:ABC]

It serves ``/bot<token>/<method>`` (getMe, deleteWebhook, setWebhook, getWebhookInfo,
getUpdates, sendMessage, sendDocument, sendPhoto, answerCallbackQuery, editMessageReplyMarkup,
getFile) and
``GET /file/bot<token>/<path>``, with JSON, form-encoded or multipart bodies, validating what it
is sent as Telegram does (text length in UTF-16 units after entity parsing, HTML tags,
``callback_data`` bytes, no edit of a message sent with a reply keyboard, keyboard removal or
force-reply, ``getFile`` over 20 MB, ``getUpdates`` while a webhook is set, unknown chats: a chat
exists once it has sent an update, or after ``add_chat``).

``sendDocument`` and ``sendPhoto`` take a multipart upload (recorded in ``api.uploads``: bytes,
file name, type) or a ``file_id`` the fake issued (an upload's, or ``add_file``'s); any other
``file_id`` — or one ``forget_file`` dropped — is answered 400 "wrong file identifier/HTTP URL
specified", a photo's as a document (or the reverse) 400 "type of file mismatch", a caption over
1,024 UTF-16 units 400 "message caption is too long". Such a message is in ``api.sent`` with its
``kind`` ("document" or "photo"), ``file`` and the caption as ``text``/``plain``.
When a webhook is set, queued updates are POSTed to it (per chat in order, retried on non-2xx).

Control API (JSON): ``POST /_control/updates`` (an update or a list), ``POST
/_control/make/<kind>`` (builder keyword arguments, e.g. ``{"chat_id": 1, "text": "hi"}``),
``GET /_control/sent?chat_id=&since=``, ``GET /_control/wait_sent?chat_id=&n=&timeout=``,
``GET /_control/stats``, ``POST /_control/faults`` (``{"method", "status", "count",
"chat_id", "retry_after"}``), ``POST /_control/block`` (``{"chat_id"}`` or ``{"chat_ids"}``),
``POST /_control/limit`` (``{"global_per_second", "per_chat_per_second", "window",
"chat_window"}``; an empty body or ``null`` lifts the limit), ``POST /_control/chats``
(``{"chat_ids"}``: chats that exist, as if each had written to the bot), ``POST
/_control/files`` (``{"content_b64", "fail_after"?}``), ``POST /_control/reset``.

Flood limits, like Telegram's (off unless asked for)::

    api = FakeTelegramAPI(rate_limit=RateLimit(global_per_second=30, per_chat_per_second=1))
    api.limit(per_chat_per_second=1, window=3)  # at runtime: 3 per chat in any 3 s (a burst)
    api.limit(None)  # no limit

Every call that sends to a chat (:data:`SENDS`: sendMessage, editMessageReplyMarkup, and the
other send/edit methods should the fake learn them) counts against the bot's limit and the chat's,
over a sliding window of ``window`` seconds on the fake's ``clock`` (``time.monotonic`` unless
injected, so tests need not sleep). A send over either limit is answered ``429 Too Many
Requests: retry after N`` with ``parameters.retry_after`` = N, the whole seconds (at least 1)
until a slot frees, and is not recorded; ``api.too_many`` counts those answers and
``api.accepted`` holds ``(time, chat_id, method)`` of each send let through (``api.busiest()``:
the most in any window). Chats in ``api.blocked`` (``block``, ``block_chats``) are answered 403
"bot was blocked by the user" on every send. ``reset()`` keeps the limit and forgets the sends.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import math
import re
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from aiohttp import ClientSession, ClientTimeout, web

__all__ = [
    "BOT_USER",
    "DEFAULT_TOKEN",
    "SENDS",
    "FakeFile",
    "FakeTelegramAPI",
    "Fault",
    "RateLimit",
    "SentFile",
    "SentMessage",
    "UpdateBuilder",
    "parse_html",
]

DEFAULT_TOKEN = "123456789:TEST-token_for-the-fake-server"
BOT_USER = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "OCOP Bot",
    "username": "ocop_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
MAX_TEXT = 4096
MAX_CAPTION = 1024
WRONG_FILE = "wrong file identifier/HTTP URL specified"
MAX_DOWNLOAD = 20 * 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
UPDATE_TYPES = ("message", "edited_message", "callback_query", "my_chat_member", "chat_member")

JSON_FIELDS = {"reply_markup", "allowed_updates", "entities", "link_preview_options",
               "reply_parameters", "caption_entities"}  # fmt: skip
INT_FIELDS = {"chat_id", "offset", "limit", "timeout", "message_id", "cache_time",
              "max_connections", "message_thread_id"}  # fmt: skip
# Calls that send to a chat: blocked chats and the flood limits apply to them (lower case).
SENDS = frozenset({"sendmessage", "editmessagereplymarkup", "editmessagetext",
                   "editmessagecaption", "editmessagemedia", "senddocument", "sendphoto",
                   "sendmediagroup", "sendvideo", "sendaudio", "sendvoice", "sendsticker",
                   "sendlocation", "sendcontact", "copymessage", "forwardmessage"})  # fmt: skip
SEND_ATTEMPTS = frozenset({"sendmessage", "senddocument", "sendphoto"})  # in api.send_attempts
BOOL_FIELDS = {"drop_pending_updates", "show_alert", "disable_notification",
               "protect_content", "disable_web_page_preview"}  # fmt: skip


# -- HTML entity parsing (Telegram's subset) --------------------------------------------------
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code",
                "pre", "blockquote", "tg-spoiler", "span", "tg-emoji"}  # fmt: skip
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d+)|#x([0-9a-fA-F]+));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME = re.compile(r"/?\s*([a-zA-Z][a-zA-Z0-9-]*)")


def parse_html(text: str) -> str:
    """The visible text of a ``parse_mode=HTML`` message; ValueError like Telegram's 400."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        offset = _ByteOffset(text, i)
        if ch == "<":
            end = text.find(">", i)
            match = _TAG_NAME.match(text, i + 1)
            if end < 0 or match is None:
                raise ValueError(f"Unexpected end of name token at byte offset {offset}")
            name = match.group(1).lower()
            if text[i + 1] == "/":
                if not stack or stack[-1] != name:
                    expected = stack[-1] if stack else ""
                    raise ValueError(f'Unmatched end tag at byte offset {offset}, expected '
                                     f'"</{expected}>", found "</{name}>"')  # fmt: skip
                stack.pop()
            elif name not in ALLOWED_TAGS:
                raise ValueError(f'Unsupported start tag "{name}" at byte offset {offset}')
            else:
                stack.append(name)
            i = end + 1
        elif ch == "&":
            if (m := _ENTITY.match(text, i)) is None:
                raise ValueError(f"Character entity expected at byte offset {offset}")
            named, dec, hexa = m.groups()
            out.append(_NAMED[named] if named else chr(int(dec) if dec else int(hexa, 16)))
            i = m.end()
        elif ch == ">":
            raise ValueError(f"Unexpected character '>' at byte offset {offset}")
        else:
            out.append(ch)
            i += 1
    if stack:
        raise ValueError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


class _ByteOffset:
    """Formats as the UTF-8 offset of ``text[:i]``, computed only when an error is shown."""

    def __init__(self, text: str, i: int) -> None:
        self.text, self.i = text, i

    def __str__(self) -> str:
        return str(len(self.text[: self.i].encode()))


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
}  # fmt: skip


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code,
                                "description": self.description}  # fmt: skip
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


# -- records ----------------------------------------------------------------------------------
@dataclass
class SentFile:
    """A file sent to a chat: uploaded with the message, or named by a ``file_id``."""

    file_id: str
    unique_id: str  # the same for the same bytes, as on Telegram
    name: str | None
    mime_type: str | None
    content: bytes
    uploaded: bool  # False: sent by file_id


@dataclass
class SentMessage:
    """A message the bot sent: ``text`` as sent (HTML source), ``plain`` as the user sees it."""

    message_id: int
    chat_id: int | str
    text: str
    plain: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None  # as sent
    at: float = field(default_factory=time.monotonic)
    edited_markup: dict[str, Any] | None = None  # set by editMessageReplyMarkup
    kind: str = "text"  # "document", "photo": ``text`` and ``plain`` are then the caption
    file: SentFile | None = None

    def to_json(self) -> dict[str, Any]:
        """As JSON (a file's bytes as their size)."""
        body = asdict(self)
        if self.file is not None:
            body["file"]["content"] = len(self.file.content)
        return body

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]] | None:
        """The inline buttons the user sees now (after any edit)."""
        markup = self.edited_markup or self.reply_markup or {}
        return markup.get("inline_keyboard")


@dataclass
class Fault:
    """An error to answer instead of the next ``count`` calls of ``method`` (for a chat)."""

    method: str
    status: int
    count: int = 1
    chat_id: int | None = None
    retry_after: int | None = None
    description: str | None = None

    def error(self) -> ApiError:
        if self.status == 429:
            after = self.retry_after or 1
            return ApiError(429, self.description or f"Too Many Requests: retry after {after}",
                            retry_after=after)  # fmt: skip
        default = {403: "Forbidden: bot was blocked by the user", 400: "Bad Request: fault",
                   409: "Conflict: terminated by other getUpdates request; make sure that "
                   "only one bot instance is running"}  # fmt: skip
        return ApiError(self.status, self.description or default.get(self.status, "Error"))


@dataclass(frozen=True)
class RateLimit:
    """Telegram's flood limits: at most ``global_per_second`` sends for the bot and
    ``per_chat_per_second`` to one chat, counted over any ``window`` seconds (a longer window
    lets a burst through: ``per_chat_per_second=1, window=3`` allows 3 at once). ``None``: no
    limit of that kind."""

    global_per_second: float | None = 30.0
    per_chat_per_second: float | None = 1.0
    window: float = 1.0
    chat_window: float | None = None  # the per-chat limit's own window (default: ``window``)

    def __post_init__(self) -> None:
        if self.window <= 0 or (self.chat_window is not None and self.chat_window <= 0):
            raise ValueError("window must be positive")
        for rate in (self.global_per_second, self.per_chat_per_second):
            if rate is not None and rate <= 0:
                raise ValueError("a rate must be positive (None: no limit)")

    def allowed(self, per_second: float, window: float | None = None) -> int:
        """Sends allowed in one window (``window``, default the limit's) at ``per_second`` (at
        least one)."""
        return max(1, math.floor(per_second * (window or self.window) + 1e-9))


@dataclass
class FakeFile:
    """A file the fake can serve; ``fail_after`` bytes are sent before the connection drops."""

    file_id: str
    unique_id: str
    content: bytes
    file_path: str
    size: int | None = None  # what getFile reports; defaults to len(content)
    fail_after: int | None = None
    hold: asyncio.Event | None = None  # the download answers only once this is set
    downloads: int = 0  # download requests received (held ones included)
    kind: str | None = None  # "document" or "photo" when a send made it; None: either
    name: str | None = None
    mime_type: str | None = None


# -- update builders --------------------------------------------------------------------------
class UpdateBuilder:
    """Realistic update dicts with increasing ``update_id`` (private chats: chat id = user id)."""

    def __init__(self, first_update_id: int = 100_000) -> None:
        self._update_ids = itertools.count(first_update_id)
        self._message_ids = itertools.count(1)
        self._query_ids = itertools.count(1)

    def user(self, user_id: int, *, first_name: str = "Lan", last_name: str = "Nguyễn Thị",
             language_code: str | None = "vi") -> dict[str, Any]:  # fmt: skip
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if language_code:
            user["language_code"] = language_code
        return user

    @staticmethod
    def chat(chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "type": "private", "first_name": "Lan"}

    def update(self, **body: Any) -> dict[str, Any]:
        return {"update_id": next(self._update_ids), **body}

    def message(self, chat_id: int, *, user: dict[str, Any] | None = None,
                **fields: Any) -> dict[str, Any]:  # fmt: skip
        message = {"message_id": next(self._message_ids), "from": user or self.user(chat_id),
                   "chat": self.chat(chat_id), "date": int(time.time()), **fields}  # fmt: skip
        return self.update(message=message)

    def text(self, chat_id: int, text: str, **kw: Any) -> dict[str, Any]:
        return self.message(chat_id, text=text, **kw)

    def command(self, chat_id: int, command: str, args: str = "", *, mention: str = "",
                **kw: Any) -> dict[str, Any]:  # fmt: skip
        head = f"/{command}" + (f"@{mention}" if mention else "")
        entities = [{"type": "bot_command", "offset": 0, "length": _units(head)}]
        return self.message(chat_id, text=f"{head} {args}".rstrip(), entities=entities, **kw)

    def callback(self, chat_id: int, data: str, *, message_id: int | None = None,
                 message_text: str = "Chọn một mục", **kw: Any) -> dict[str, Any]:  # fmt: skip
        message = {"message_id": message_id or next(self._message_ids), "from": BOT_USER,
                   "chat": self.chat(chat_id), "date": int(time.time()),
                   "text": message_text}  # fmt: skip
        query = {"id": f"{chat_id}{next(self._query_ids):08d}", "from": self.user(chat_id, **kw),
                 "chat_instance": f"ci{chat_id}", "data": data, "message": message}  # fmt: skip
        return self.update(callback_query=query)

    def contact(self, chat_id: int, phone: str = "+84912345678", *, own: bool = True,
                **kw: Any) -> dict[str, Any]:  # fmt: skip
        contact = {"phone_number": phone, "first_name": "Lan",
                   "user_id": chat_id if own else chat_id + 1}  # fmt: skip
        return self.message(chat_id, contact=contact, **kw)

    def document(self, chat_id: int, file_id: str = "doc-1", *, file_name: str = "ho-so.pdf",
                 mime_type: str = "application/pdf", file_size: int | None = 12_345,
                 unique_id: str | None = None, caption: str | None = None,
                 media_group_id: str | None = None, **kw: Any) -> dict[str, Any]:  # fmt: skip
        doc: dict[str, Any] = {"file_id": file_id, "file_unique_id": unique_id or f"u-{file_id}",
                               "file_name": file_name, "mime_type": mime_type}  # fmt: skip
        if file_size is not None:
            doc["file_size"] = file_size
        extra: dict[str, Any] = {"caption": caption, "media_group_id": media_group_id}
        return self.message(chat_id, document=doc, **{k: v for k, v in extra.items() if v}, **kw)

    def photo(self, chat_id: int, file_id: str = "photo-1", *,
              sizes: tuple[tuple[int, int], ...] = ((90, 67), (320, 240), (1280, 960)),
              file_size: int = 150_000, caption: str | None = None,
              media_group_id: str | None = None, **kw: Any) -> dict[str, Any]:  # fmt: skip
        """The largest size (by area) gets ``file_id`` and ``file_size``; the others derived."""
        largest = max(sizes, key=lambda s: s[0] * s[1])
        photo = [{"file_id": file_id if (w, h) == largest else f"{file_id}-{w}x{h}",
                  "file_unique_id": f"u-{file_id}-{w}x{h}", "width": w, "height": h,
                  "file_size": file_size if (w, h) == largest else w * h // 10}
                 for w, h in sizes]  # fmt: skip
        extra: dict[str, Any] = {"caption": caption, "media_group_id": media_group_id}
        return self.message(chat_id, photo=photo, **{k: v for k, v in extra.items() if v}, **kw)

    def sticker(self, chat_id: int, **kw: Any) -> dict[str, Any]:
        sticker = {"file_id": "stk-1", "file_unique_id": "u-stk-1", "type": "regular",
                   "width": 512, "height": 512, "is_animated": False, "is_video": False,
                   "emoji": "👍"}  # fmt: skip
        return self.message(chat_id, sticker=sticker, **kw)

    def voice(self, chat_id: int, **kw: Any) -> dict[str, Any]:
        voice = {"file_id": "voice-1", "file_unique_id": "u-voice-1", "duration": 3,
                 "mime_type": "audio/ogg"}  # fmt: skip
        return self.message(chat_id, voice=voice, **kw)

    def location(self, chat_id: int, latitude: float = 21.03, longitude: float = 105.85,
                 **kw: Any) -> dict[str, Any]:  # fmt: skip
        return self.message(chat_id, location={"latitude": latitude, "longitude": longitude},
                            **kw)  # fmt: skip

    def chat_member(self, chat_id: int, status: str = "kicked") -> dict[str, Any]:
        """``kicked``: the user blocked the bot; ``member``: unblocked / started it."""
        old = "member" if status == "kicked" else "kicked"

        def member(status: str) -> dict[str, Any]:
            body: dict[str, Any] = {"user": BOT_USER, "status": status}
            if status == "kicked":
                body["until_date"] = 0
            return body

        body = {"chat": self.chat(chat_id), "from": self.user(chat_id),
                "date": int(time.time()), "old_chat_member": member(old),
                "new_chat_member": member(status)}  # fmt: skip
        return self.update(my_chat_member=body)


def _chat_of(update: dict[str, Any]) -> Any:
    for kind in UPDATE_TYPES:
        if body := update.get(kind):
            message = body.get("message") if kind == "callback_query" else body
            source = (message or {}).get("chat") or body.get("from") or {}
            return source.get("id")
    return None


def _kind_of(update: dict[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "")


# -- the server -------------------------------------------------------------------------------
class FakeTelegramAPI:
    """The fake Bot API; an async context manager listening on ``host:port`` (0 = any free)."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, host: str = "127.0.0.1", port: int = 0,
                 rate_limit: RateLimit | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.token, self.host, self.port = token, host, port
        self.rate_limit = rate_limit
        self.clock = clock  # monotonic seconds: the flood limits and the times recorded
        self.make = UpdateBuilder()
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/bot{token}/{method}", self._api)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self.app.router.add_route("*", "/_control/{action:.+}", self._control)
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Condition()
        self._deliverer: asyncio.Task[None] | None = None
        self._session: ClientSession | None = None
        self._closing = False
        self._background: set[asyncio.Task[None]] = set()
        self.reset()

    def reset(self) -> None:
        """Forget every update, message, fault and file."""
        self.updates: list[dict[str, Any]] = []  # queued, not yet confirmed
        self.sent: list[SentMessage] = []
        self._sent_by_chat: defaultdict[str, list[SentMessage]] = defaultdict(list)
        self.send_attempts: list[tuple[float, Any, int]] = []  # (monotonic time, chat, status)
        self.answered: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []  # sendChatAction calls
        self.edits: list[dict[str, Any]] = []
        self.get_updates_calls: list[dict[str, Any]] = []
        self.calls: Counter[str] = Counter()
        self.faults: list[Fault] = []
        self.blocked: set[int] = set()
        self.gone: set[int] = set()  # of those, accounts deleted ("user is deactivated")
        self.accepted: list[tuple[float, Any, str]] = []  # sends let through: (time, chat, method)
        self.too_many = 0  # sends answered 429 by the flood limits (not by faults)
        self.chats: set[int] = set()  # chats that exist: they sent an update (or were added)
        self.files: dict[str, FakeFile] = {}
        self.uploads: list[SentFile] = []  # files uploaded with sendDocument / sendPhoto
        self._upload_ids = itertools.count(1)
        self.webhook: dict[str, Any] | None = None
        self.webhook_failures = 0  # deliveries refused or not answered 2xx (Telegram retries)
        self.allowed_updates: list[str] | None = None
        self._poller = 0
        self._message_ids = itertools.count(1)

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The API root to give the bot (``<url>/bot<token>/<method>``)."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen; with port 0 a free port is chosen and kept in ``self.port``."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        self._session = ClientSession(timeout=ClientTimeout(total=10))
        self._deliverer = asyncio.create_task(self._deliver_webhooks())

    async def stop(self) -> None:
        """Stop listening and close every connection (long polls end at once)."""
        self._closing = True
        await self._notify()
        if self._deliverer is not None:
            self._deliverer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._deliverer
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegramAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- driving it from a test ---------------------------------------------------------------
    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _notify_soon(self) -> None:
        with contextlib.suppress(RuntimeError):  # no running loop: nobody can be waiting
            task = asyncio.get_running_loop().create_task(self._notify())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def push(self, *updates: dict[str, Any]) -> list[int]:
        """Queue updates for getUpdates (or the webhook); ids are assigned when missing."""
        ids = []
        for update in updates:
            if "update_id" not in update:
                update = self.make.update(**update)
            if isinstance(chat := _chat_of(update), int):
                self.chats.add(chat)  # a chat exists once it has sent an update
            self.updates.append(update)
            ids.append(update["update_id"])
        self.updates.sort(key=lambda u: u["update_id"])
        self._notify_soon()
        return ids

    def add_file(self, content: bytes, *, file_id: str | None = None, size: int | None = None,
                 fail_after: int | None = None) -> FakeFile:  # fmt: skip
        """Register a downloadable file; use its ``file_id`` in a document/photo update."""
        n = len(self.files) + 1
        file = FakeFile(file_id or f"file-{n}", f"u-file-{n}", content, f"documents/file_{n}",
                        size, fail_after)  # fmt: skip
        self.files[file.file_id] = file
        return file

    def forget_file(self, file_id: str) -> None:
        """Stop knowing a ``file_id``: sending by it is refused from now on (as Telegram may)."""
        self.files.pop(file_id, None)

    def fail(self, method: str, status: int, *, count: int = 1, chat_id: int | None = None,
             retry_after: int | None = None, description: str | None = None) -> None:  # fmt: skip
        """Answer the next ``count`` calls of ``method`` (for ``chat_id``) with an error."""
        self.faults.append(Fault(method, status, count, chat_id, retry_after, description))

    def fail_sends(self, status: int, **kw: Any) -> None:
        """Shorthand: 429 (``retry_after``) or 403 (blocked) for the next sendMessage calls."""
        self.fail("sendMessage", status, **kw)

    def add_chat(self, chat_id: int) -> None:
        """Make a chat exist without an update (sending to unknown chats is a 400)."""
        self.chats.add(chat_id)

    def block(self, chat_id: int, *, deleted: bool = False) -> None:
        """The user blocked the bot (``deleted``: deleted their account): every send to the
        chat is answered 403 from now on."""
        self.blocked.add(chat_id)
        if deleted:
            self.gone.add(chat_id)

    def block_chats(self, chat_ids: Iterable[int]) -> None:
        """:meth:`block` for each chat."""
        self.blocked.update(chat_ids)

    def unblock(self, chat_id: int) -> None:
        """The user unblocked the bot: sends to the chat go through again."""
        self.blocked.discard(chat_id)
        self.gone.discard(chat_id)

    def limit(self, rate_limit: RateLimit | None = None, /, **fields: Any) -> None:
        """Set the flood limits from now on: a :class:`RateLimit`, its fields (the others keep
        their Telegram-like defaults), or ``None`` for no limit."""
        self.rate_limit = RateLimit(**fields) if fields else rate_limit

    def busiest(self, window: float = 1.0, chat_id: int | str | None = None) -> int:
        """The most sends accepted (to ``chat_id``, or overall) in any ``window`` seconds."""
        times = [t for t, chat, _ in self.accepted
                 if chat_id is None or str(chat) == str(chat_id)]  # fmt: skip
        most, first = 0, 0
        for last, t in enumerate(times):
            while times[first] <= t - window:
                first += 1
            most = max(most, last - first + 1)
        return most

    def _record_sent(self, message: SentMessage) -> None:
        self.sent.append(message)
        self._sent_by_chat[str(message.chat_id)].append(message)

    def sent_to(self, chat_id: int | str | None = None) -> list[SentMessage]:
        """Messages sent, to one chat or to all. Kept per chat too: a waiter checks its chat on
        every message sent, and a scan of all of them made that quadratic (at 10,000 messages
        the server lagged, bunched its clock readings and answered 429s nobody caused)."""
        if chat_id is None:
            return list(self.sent)
        return list(self._sent_by_chat.get(str(chat_id), ()))

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds (checked on every change); TimeoutError if not."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def wait_sent(self, chat_id: int | str | None = None, n: int = 1,
                        timeout: float = 5.0) -> list[SentMessage]:  # fmt: skip
        """Wait until ``n`` messages were sent to ``chat_id`` (or overall); returns them."""
        try:
            await self.wait_until(lambda: len(self.sent_to(chat_id)) >= n, timeout)
        except TimeoutError:
            got = [m.plain[:60] for m in self.sent_to(chat_id)]
            raise TimeoutError(f"{len(got)} of {n} messages sent to {chat_id}: {got}") from None
        return self.sent_to(chat_id)

    # -- the Bot API --------------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        method = request.match_info["method"]
        handler = self._methods.get(method.lower())
        self.calls[method] += 1
        params: dict[str, Any] = {}
        try:
            if handler is None:
                raise ApiError(404, "Not Found")
            params = await _params(request)
            fault = self._fault(method, params.get("chat_id"))
            if fault is not None:
                raise fault
            admitted = self._admit(method, params.get("chat_id"))
            try:
                result = await handler(self, params)
            except ApiError:
                if admitted is not None:  # refused: it took no slot
                    self.accepted.remove(admitted)
                raise
        except ApiError as exc:
            if method.lower() in SEND_ATTEMPTS:
                self.send_attempts.append((self.clock(), params.get("chat_id"), exc.code))
            return web.json_response(exc.body(), status=exc.code)
        return web.json_response({"ok": True, "result": result})

    def _fault(self, method: str, chat_id: Any) -> ApiError | None:
        if method.lower() in SENDS and chat_id in self.blocked:
            if chat_id in self.gone:
                return ApiError(403, "Forbidden: user is deactivated")
            return ApiError(403, "Forbidden: bot was blocked by the user")
        for fault in self.faults:
            if fault.method == method and fault.count > 0 and fault.chat_id in (None, chat_id):
                fault.count -= 1
                return fault.error()
        return None

    def _admit(self, method: str, chat_id: Any) -> tuple[float, Any, str] | None:
        """Record a send within the flood limits; 429 (and nothing recorded) over them."""
        if method.lower() not in SENDS:
            return None
        now, limit = self.clock(), self.rate_limit
        if limit is not None:
            chat_window = limit.chat_window or limit.window
            recent: list[tuple[float, Any]] = []  # newest first, within the longer window
            for t, chat, _ in reversed(self.accepted):
                if t <= now - max(limit.window, chat_window):
                    break
                recent.append((t, chat))
            waits = [0.0]
            for per_second, window, times in (
                (limit.global_per_second, limit.window,
                 [t for t, _ in recent if t > now - limit.window]),
                (limit.per_chat_per_second, chat_window,
                 [t for t, chat in recent if chat == chat_id and t > now - chat_window]),
            ):  # fmt: skip
                allowed = limit.allowed(per_second, window) if per_second is not None else 0
                if per_second is not None and len(times) >= allowed:
                    # a slot frees when the allowed-th newest send leaves the window
                    waits.append(times[allowed - 1] + window - now)
            if max(waits) > 0:
                self.too_many += 1
                after = max(1, math.ceil(max(waits) - 1e-9))
                raise ApiError(429, f"Too Many Requests: retry after {after}", retry_after=after)
        admitted = (now, chat_id, method)
        self.accepted.append(admitted)
        return admitted

    async def _get_me(self, p: dict[str, Any]) -> Any:
        return BOT_USER

    async def _delete_webhook(self, p: dict[str, Any]) -> Any:
        self.webhook = None
        if p.get("drop_pending_updates"):
            self.updates.clear()
        return True

    async def _set_webhook(self, p: dict[str, Any]) -> Any:
        if not str(p.get("url", "")).startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = {k: p.get(k) for k in ("url", "secret_token", "allowed_updates")}
        self.webhook["max_connections"] = p.get("max_connections") or 40
        self.allowed_updates = p.get("allowed_updates") or self.allowed_updates
        await self._notify()
        return True

    async def _get_webhook_info(self, p: dict[str, Any]) -> Any:
        hook = self.webhook or {}
        return {"url": hook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self.updates)}  # fmt: skip

    async def _get_updates(self, p: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                           "active; use deleteWebhook to delete the webhook first")  # fmt: skip
        self.get_updates_calls.append(dict(p))
        self._poller += 1
        me = self._poller
        await self._notify()  # an older long poll ends with 409, as on Telegram
        offset, limit = p.get("offset") or 0, min(max(p.get("limit") or 100, 1), 100)
        if p.get("allowed_updates") is not None:
            self.allowed_updates = p["allowed_updates"] or None
        if offset < 0:
            del self.updates[: max(0, len(self.updates) + offset)]
        elif offset:  # confirms (deletes) every update below the offset
            confirmed = 0
            while confirmed < len(self.updates) and self.updates[confirmed]["update_id"] < offset:
                confirmed += 1
            del self.updates[:confirmed]
        deadline = time.monotonic() + float(p.get("timeout") or 0)
        async with self._changed:
            while True:
                if me != self._poller:
                    raise Fault("getUpdates", 409).error()
                batch = self._batch(limit)
                if batch or time.monotonic() >= deadline or self._closing:
                    return batch
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())

    def _batch(self, limit: int) -> list[dict[str, Any]]:
        """The first ``limit`` queued updates; types not in allowed_updates are dropped."""
        allowed = self.allowed_updates
        if not allowed:
            return self.updates[:limit]
        batch: list[dict[str, Any]] = []
        unwanted: list[dict[str, Any]] = []
        for update in self.updates:
            (batch if _kind_of(update) in allowed else unwanted).append(update)
            if len(batch) >= limit:
                break
        if unwanted:
            dropped = {u["update_id"] for u in unwanted}
            self.updates = [u for u in self.updates if u["update_id"] not in dropped]
        return batch

    async def _send_message(self, p: dict[str, Any]) -> Any:
        chat_id, text = p.get("chat_id"), p.get("text")
        if not isinstance(chat_id, int) or chat_id not in self.chats:
            raise _bad("chat not found")
        if not isinstance(text, str):
            raise _bad("message text is empty")
        mode = p.get("parse_mode")
        try:
            plain = parse_html(text) if str(mode).lower() == "html" else text
        except ValueError as exc:
            raise _bad(f"can't parse entities: {exc}") from None
        if not plain.strip():
            raise _bad("message text is empty")
        if _units(plain.strip()) > MAX_TEXT:
            raise _bad("message is too long")
        markup = _check_markup(p.get("reply_markup"))
        message = SentMessage(next(self._message_ids), chat_id, text, plain.strip(), mode, markup,
                              at=self.clock())  # fmt: skip
        self._record_sent(message)
        self.send_attempts.append((message.at, chat_id, 200))
        await self._notify()
        return self._message_json(message)

    async def _send_document(self, p: dict[str, Any]) -> Any:
        return await self._send_file(p, "document")

    async def _send_photo(self, p: dict[str, Any]) -> Any:
        return await self._send_file(p, "photo")

    async def _send_file(self, p: dict[str, Any], kind: str) -> Any:
        chat_id, given, caption = p.get("chat_id"), p.get(kind), p.get("caption") or ""
        if not isinstance(chat_id, int) or chat_id not in self.chats:
            raise _bad("chat not found")
        mode = p.get("parse_mode")
        try:
            plain = parse_html(caption) if str(mode).lower() == "html" else caption
        except ValueError as exc:
            raise _bad(f"can't parse entities: {exc}") from None
        if _units(plain.strip()) > MAX_CAPTION:
            raise _bad("message caption is too long")
        markup = _check_markup(p.get("reply_markup"))
        if isinstance(given, web.FileField):
            sent = self._upload(given, kind)
        elif isinstance(given, str) and given:
            file = self.files.get(given)
            if file is None:
                raise _bad(WRONG_FILE)
            if file.kind not in (None, kind):
                raise _bad("type of file mismatch")
            sent = SentFile(file.file_id, file.unique_id, file.name, file.mime_type,
                            file.content, uploaded=False)  # fmt: skip
        else:
            raise _bad(f"there is no {kind} in the request")
        message = SentMessage(next(self._message_ids), chat_id, caption, plain.strip(), mode,
                              markup, at=self.clock(), kind=kind, file=sent)  # fmt: skip
        self._record_sent(message)
        self.send_attempts.append((message.at, chat_id, 200))
        await self._notify()
        return self._message_json(message)

    def _upload(self, given: web.FileField, kind: str) -> SentFile:
        content = given.file.read()
        if not content:
            raise _bad("file must be non-empty")
        n = next(self._upload_ids)
        unique = "u-" + hashlib.sha256(content).hexdigest()[:16]
        folder = "photos" if kind == "photo" else "documents"
        file = FakeFile(f"{kind}-up-{n}", unique, content, f"{folder}/upload_{n}", kind=kind,
                        name=given.filename, mime_type=given.content_type)  # fmt: skip
        self.files[file.file_id] = file
        sent = SentFile(file.file_id, unique, given.filename, given.content_type, content,
                        uploaded=True)  # fmt: skip
        self.uploads.append(sent)
        return sent

    @staticmethod
    def _message_json(m: SentMessage) -> dict[str, Any]:
        body: dict[str, Any] = {"message_id": m.message_id, "from": BOT_USER,
                                "date": int(time.time()),
                                "chat": UpdateBuilder.chat(int(m.chat_id))}  # fmt: skip
        if m.file is None:
            body["text"] = m.plain
        else:
            if m.plain:
                body["caption"] = m.plain
            described = {"file_id": m.file.file_id, "file_unique_id": m.file.unique_id,
                         "file_size": len(m.file.content)}  # fmt: skip
            if m.kind == "photo":
                body["photo"] = [{**described, "width": 1280, "height": 960}]
            else:
                extra = {"file_name": m.file.name, "mime_type": m.file.mime_type}
                body["document"] = described | {k: v for k, v in extra.items() if v}
        if m.inline_keyboard:
            body["reply_markup"] = {"inline_keyboard": m.inline_keyboard}
        return body

    async def _answer_callback_query(self, p: dict[str, Any]) -> Any:
        if not p.get("callback_query_id"):
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self.answered.append(p)
        await self._notify()
        return True

    async def _send_chat_action(self, p: dict[str, Any]) -> Any:
        if p.get("chat_id") not in self.chats:
            raise _bad("chat not found")
        if p.get("action") not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.actions.append(p)
        return True

    async def _edit_message_reply_markup(self, p: dict[str, Any]) -> Any:
        found = [m for m in self.sent if m.chat_id == p.get("chat_id")
                 and m.message_id == p.get("message_id")]  # fmt: skip
        if not found:
            raise _bad("message to edit not found")
        if found[0].reply_markup is not None and "inline_keyboard" not in found[0].reply_markup:
            # Telegram edits only messages without reply_markup or with an inline keyboard.
            raise _bad("message can't be edited")
        markup = _check_markup(p.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        if markup == (found[0].edited_markup or found[0].reply_markup):
            raise _bad("message is not modified")
        found[0].edited_markup = markup
        self.edits.append(p)
        await self._notify()
        return self._message_json(found[0])

    async def _get_file(self, p: dict[str, Any]) -> Any:
        file = self.files.get(str(p.get("file_id")))
        if file is None:
            raise _bad("invalid file_id")
        size = file.size if file.size is not None else len(file.content)
        if size > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return {"file_id": file.file_id, "file_unique_id": file.unique_id, "file_size": size,
                "file_path": file.file_path}  # fmt: skip

    _methods: ClassVar[dict[str, Callable[[FakeTelegramAPI, dict[str, Any]], Any]]] = {
        "getme": _get_me,
        "deletewebhook": _delete_webhook,
        "setwebhook": _set_webhook,
        "getwebhookinfo": _get_webhook_info,
        "getupdates": _get_updates,
        "sendmessage": _send_message,
        "senddocument": _send_document,
        "sendphoto": _send_photo,
        "answercallbackquery": _answer_callback_query,
        "sendchataction": _send_chat_action,
        "editmessagereplymarkup": _edit_message_reply_markup,
        "getfile": _get_file,
    }

    async def _download(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        file = next((f for f in self.files.values() if f.file_path == path), None)
        if request.match_info["token"] != self.token or file is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        file.downloads += 1
        await self._notify()
        if file.hold is not None:
            await file.hold.wait()
        if file.fail_after is None:
            return web.Response(body=file.content, content_type="application/octet-stream")
        response = web.StreamResponse()
        response.content_length = len(file.content)
        await response.prepare(request)
        await response.write(file.content[: file.fail_after])
        assert request.transport is not None
        request.transport.close()  # the connection drops half way
        return response

    # -- webhook delivery ---------------------------------------------------------------------
    async def _deliver_webhooks(self) -> None:
        while True:
            async with self._changed:
                await self._changed.wait_for(lambda: bool(self.webhook and self.updates))
            hook = self.webhook
            assert hook is not None and self._session is not None
            batch, chats = [], set()
            for update in self.updates:  # one update per chat at a time keeps chat order
                if (chat := _chat_of(update)) in chats:
                    break
                chats.add(chat)
                batch.append(update)
                if len(batch) >= hook["max_connections"]:
                    break
            results = await asyncio.gather(*(self._post(hook, u) for u in batch))
            done = {u["update_id"] for u, ok in zip(batch, results, strict=True) if ok}
            self.updates = [u for u in self.updates if u["update_id"] not in done]
            await self._notify()
            if not all(results):
                await asyncio.sleep(0.2)

    async def _post(self, hook: dict[str, Any], update: dict[str, Any]) -> bool:
        assert self._session is not None
        headers = {SECRET_HEADER: hook["secret_token"]} if hook.get("secret_token") else {}
        try:
            async with self._session.post(hook["url"], json=update, headers=headers) as resp:
                ok = 200 <= resp.status < 300
        except Exception:
            ok = False
        self.webhook_failures += not ok
        return ok

    # -- control API (for a benchmark driving a separate process) -----------------------------
    async def _control(self, request: web.Request) -> web.StreamResponse:
        action = request.match_info["action"]
        body = await request.json() if request.can_read_body else {}
        query = request.query
        if action == "updates":
            return web.json_response({"update_ids": self.push(*_as_list(body))})
        if action.startswith("make/"):
            maker = getattr(self.make, action[5:], None)
            if maker is None or action[5] == "_":
                raise web.HTTPNotFound()
            update = maker(**body)
            self.push(update)
            return web.json_response(update)
        if action in ("sent", "wait_sent"):
            chat = int(query["chat_id"]) if "chat_id" in query else None
            if action == "wait_sent":
                try:
                    await self.wait_sent(chat, int(query.get("n", 1)),
                                         float(query.get("timeout", 10)))  # fmt: skip
                except TimeoutError as exc:
                    return web.json_response({"error": str(exc)}, status=408)
            since = int(query.get("since", 0))
            return web.json_response([m.to_json() for m in self.sent_to(chat)[since:]])
        if action == "stats":
            return web.json_response({
                "sent": len(self.sent), "pending_updates": len(self.updates),
                "answered": len(self.answered), "edits": len(self.edits),
                "calls": dict(self.calls), "webhook": self.webhook,
                "too_many": self.too_many, "accepted": len(self.accepted),
                "busiest_second": self.busiest(1.0), "blocked": sorted(self.blocked),
                "rate_limit": asdict(self.rate_limit) if self.rate_limit else None})  # fmt: skip
        if action == "faults":
            self.fail(**body)
            return web.json_response({"ok": True})
        if action == "chats":
            for chat in body.get("chat_ids", ()):
                self.add_chat(int(chat))
            return web.json_response({"ok": True, "chats": len(self.chats)})
        if action == "block":
            if "chat_id" in body:
                self.block(int(body["chat_id"]))
            self.block_chats(int(c) for c in body.get("chat_ids", ()))
            return web.json_response({"ok": True})
        if action == "limit":
            self.limit(RateLimit(**body) if body else None)
            return web.json_response({"ok": True})
        if action == "files":
            content = base64.b64decode(body.pop("content_b64"))
            return web.json_response(asdict(self.add_file(content, **body)) | {"content": None})
        if action == "reset":
            self.reset()
            return web.json_response({"ok": True})
        raise web.HTTPNotFound()


def _as_list(body: Any) -> list[dict[str, Any]]:
    return body if isinstance(body, list) else [body]


async def _params(request: web.Request) -> dict[str, Any]:
    """Query string plus a JSON, form-encoded or multipart body, typed like Telegram does."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            params.update(await request.json())
        else:
            params.update((await request.post()).items())
    for key, value in list(params.items()):
        if not isinstance(value, str):
            continue
        if key in JSON_FIELDS:
            try:
                params[key] = json.loads(value)
            except ValueError:
                raise _bad(f"can't parse {key} JSON object") from None
        elif key in INT_FIELDS and re.fullmatch(r"-?\d+", value):
            params[key] = int(value)
        elif key in BOOL_FIELDS:
            params[key] = value.lower() in ("true", "1")
    return params


def _check_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        for row in markup["inline_keyboard"]:
            for button in row:
                if not button.get("text"):
                    raise _bad("text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
                url = button.get("url")
                if (data is None) == (url is None):
                    raise _bad("a button needs callback_data or url")
                if url is not None and not str(url).startswith(("https://", "http://")):
                    raise _bad("BUTTON_URL_INVALID")
    elif "keyboard" in markup:
        if not markup["keyboard"] or not all(markup["keyboard"]):
            raise _bad("keyboard must be non-empty")
    elif markup.get("remove_keyboard") is not True and "force_reply" not in markup:
        raise _bad("can't parse reply keyboard markup JSON object")
    return markup


# -- its own process --------------------------------------------------------------------------
async def _serve(host: str, port: int, token: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with FakeTelegramAPI(token, host=host, port=port) as api:
        print(f"fake Telegram Bot API on {api.url} token={api.token}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.fakes.telegram_api --port N``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.host, args.port, args.token))


if __name__ == "__main__":
    main()
