"""Telegram channel: Bot API updates in (polling or webhook), replies out, files down.

Conversation state lives in our database. An update is stored with ``engine.store`` before it is
acknowledged: polling advances the ``getUpdates`` offset only after the batch is stored, the
webhook answers 200 only after.

The calls of every update and reply (``getUpdates``, ``sendMessage``, ``answerCallbackQuery``,
``sendChatAction``, the webhook's) are plain JSON on one aiohttp session
(:meth:`AiohttpRequest.post_json`), and updates are read from their JSON
(:mod:`bot.channels.telegram_events`): building python-telegram-bot's objects for them cost
about as much of the bot's CPU as the HTTP calls themselves (bench/telegram_send.py). PTB's
:class:`telegram.Bot`, on the same session, still checks the token at start-up (``getMe``),
sends files (``sendPhoto``, ``sendDocument``, uploads included), answers ``getFile``, and
parses the updates of other shapes (what it cannot parse is parked). Errors map the same way
for both: every call goes through :meth:`TelegramChannel._call`.

A message carries one ``reply_markup``. When a reply needs a reply-keyboard change (contact
button or removal) *and* inline buttons, the keyboard change rides on its first message and the
buttons on its last; a reply that fits one message is cut in two for it (Telegram refuses to
add inline buttons to a message sent with a reply keyboard). A reply that was sent in part (a
429 or a network error after some of its messages) goes on from the first message that did not go.

A reply's attachment (a blob of the store) goes as ``sendPhoto`` (JPEG, PNG) or ``sendDocument``,
with the reply as its caption when it fits the caption limit, else with its file name as caption
and the reply in the messages that follow. Each file is uploaded once per process: the
``file_id`` Telegram gives back is kept (per SHA-256, the most recent :data:`FILE_IDS_KEPT`) and
later sends name it instead; a refused ``file_id`` is forgotten and the file uploaded again.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
import re
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, TypeVar

import httpx
from aiohttp import web
from telegram import Bot, InputFile, Message
from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, RetryAfter, TelegramError

from bot.channels.aiohttp_request import AiohttpRequest
from bot.channels.base import (
    BaseChannel,
    Capabilities,
    DownloadError,
    FileTooLarge,
    Rejected,
    RetryLater,
    SendError,
    TextUnits,
    TransientError,
    Unreachable,
)
from bot.channels.common import (
    EventStore,
    KeyedLocks,
    PartlySent,
    attachment_bytes,
    keep_trying,
    read_json_object,
    secret_matches,
)
from bot.channels.common import split_text as split_units
from bot.channels.telegram_events import callback_query_id, read_update
from bot.channels.telegram_updates import (
    MAX_TEXT,
    MAX_WEBHOOK_BODY,
    update_id_of,
    update_kind,
    update_problem,
    utf16_units,
)
from bot.i18n import translator
from bot.vocabulary import Attachment, Event, FileRef, Reply
from storage.blobs import BlobStore

__all__ = ["ALLOWED_UPDATES", "SECRET_HEADER", "EventStore", "TelegramChannel", "split_text"]

log = logging.getLogger(__name__)
# PTB 22 warns on every read of a time period as an int; opt in to timedelta values.
os.environ.setdefault("PTB_TIMEDELTA", "true")

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
PARTLY_SENT_KEPT = 1000  # replies sent in part remembered at most (the oldest are forgotten)
FILE_IDS_KEPT = 1000  # file_ids of uploaded blobs remembered at most (the least used forgotten)
MAX_CAPTION = 1024  # UTF-16 units of a caption, after entity parsing
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # a bigger picture goes as a document
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # the Bot API's limit for a file a bot uploads
WRONG_FILE_ID = re.compile(r"(?i)wrong (remote )?file[ _]?(identifier|id)")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
GET_UPDATES_READ_TIMEOUT = 10.0  # seconds beyond the long poll's own timeout
UPLOAD_DOCUMENT = "upload_document"  # the chat action shown while a long job runs
T = TypeVar("T")
Markup = dict[str, Any] | None  # a message's reply_markup, as the Bot API's JSON


@dataclass(frozen=True, slots=True)
class _Part:
    """One Telegram message of a reply: HTML text, or the caption when it is the file."""

    text: str
    file: bool = False


@dataclass(frozen=True, slots=True)
class _Uploaded:
    """How Telegram knows an uploaded blob: the method it went by and the file_id it gave."""

    method: str  # "photo" or "document"
    file_id: str


def split_text(text: str, limit: int = MAX_TEXT, first_limit: int | None = None) -> list[str]:
    """Cut plain text into pieces of at most ``limit`` UTF-16 units, at paragraphs, lines or
    words."""
    return split_units(text, limit, first_limit, TextUnits.UTF16)


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel(BaseChannel):
    """The Telegram adapter: one aiohttp session for plain JSON calls and PTB's
    :class:`telegram.Bot` (files), initialised once.

    With a ``webhook`` (URL, secret) it adds the webhook route and sets the webhook in ``run``
    (once the HTTP server listens); without, ``run`` polls.
    """

    name = "telegram"
    capabilities = Capabilities(
        buttons_per_message=100,
        url_buttons=True,
        buttons_per_row=8,
        button_label_length=64,
        reply_keyboard=True,
        contact_request=True,
        file_kinds=frozenset({"document", "photo"}),
        sends_files=frozenset({"document", "photo"}),
        caption_limit=MAX_CAPTION,
        text_limit=MAX_TEXT,
        text_units=TextUnits.UTF16,
    )

    def __init__(self, token: str, api_url: str, engine: EventStore, *, poll_timeout: int = 25,
                 connection_pool_size: int = 64, backoff: tuple[float, float] = (1.0, 30.0),
                 webhook: tuple[str, str] | None = None,
                 blobs: BlobStore | None = None) -> None:  # fmt: skip
        """``api_url`` is the server root, e.g. ``https://api.telegram.org``; ``blobs`` holds
        the files replies carry (without it a reply with a file is refused)."""
        self.webhook = webhook
        self.blobs = blobs
        root = api_url.rstrip("/")
        self._request = AiohttpRequest(connection_pool_size=connection_pool_size)
        self._api = f"{root}/bot{token}/"  # + method; holds the token: never logged
        # PTB never polls (getUpdates goes through _post): its two request slots share one.
        self.bot = Bot(token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot",
                       request=self._request, get_updates_request=self._request)  # fmt: skip
        self.engine = engine
        self.poll_timeout = poll_timeout
        self.backoff = backoff
        self._token = token
        self._files = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        self._ready = False
        self._init_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        # Replies sent in part (a 429 or a network error after some of their messages).
        self._partly_sent = PartlySent[int](PARTLY_SENT_KEPT)
        self._file_ids: OrderedDict[str, _Uploaded] = OrderedDict()  # by the blob's SHA-256
        self._uploading = KeyedLocks()  # one upload of a blob at a time
        # httpx logs every request URL at INFO, and Bot API URLs carry the token.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    # -- life cycle -------------------------------------------------------------------------
    async def initialize(self) -> None:
        """Open the HTTP pools and check the token (getMe); safe to call repeatedly."""
        if not self._ready:
            async with self._init_lock:
                if not self._ready:
                    if self._files.is_closed:  # initialised again after a shutdown
                        self._files = httpx.AsyncClient(timeout=self._files.timeout)
                    await self._call(self.bot.initialize())
                    self._ready = True

    async def shutdown(self) -> None:
        """Wait for pending callback answers, then close every connection."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.bot.shutdown()
        await self._files.aclose()
        self._ready = False

    async def __aenter__(self) -> TelegramChannel:
        await self.initialize()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown()

    # -- in: updates → events ---------------------------------------------------------------
    def to_events(self, update: dict[str, Any]) -> list[Event]:
        """Normalise one update (the Bot API's JSON, checked by ``update_problem``); updates we
        do not handle give ``[]`` (still acknowledged). Raises when it cannot be read."""
        return read_update(update)

    async def _receive(self, raws: Sequence[Any]) -> None:
        """Store the events of readable updates and park the rest, then answer buttons.

        An update that cannot be read (see :mod:`bot.channels.telegram_events`) is kept as a
        ``parked`` inbox row instead of stopping the channel; its id is still acknowledged.
        """
        events: list[Event] = []
        queries: list[str] = []
        parked: list[tuple[str, str, dict[str, Any]]] = []
        for raw in raws:
            problem = update_problem(raw)
            if problem is None:
                try:
                    events.extend(self.to_events(raw))
                    if (query_id := callback_query_id(raw)) is not None:
                        queries.append(query_id)
                    continue
                except Exception as exc:  # PTB's errors may quote the update: only the type
                    problem = f"cannot be read: {type(exc).__name__}"
            update_id = update_id_of(raw)
            kind = update_kind(raw) if isinstance(raw, dict) else type(raw).__name__
            log.warning("telegram update %s (%s) %s; parked", update_id, kind, problem)
            if isinstance(raw, dict) and update_id is not None:
                parked.append((str(update_id), f"{kind}: {problem}", raw))
        if events:
            await self.engine.store(events)
        if parked:
            await self.engine.park(self.name, parked)
        for query_id in queries:  # answered only once the event is stored
            self._spawn(self._answer(query_id))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, query_id: str) -> None:
        try:
            await self._post("answerCallbackQuery", {"callback_query_id": query_id})
        except TelegramError as exc:
            log.warning("answerCallbackQuery failed: %s", self._scrub(exc))

    # -- polling ----------------------------------------------------------------------------
    async def run_polling(self, stop: asyncio.Event) -> None:
        """Fetch updates until ``stop`` is set; each batch is stored before it is confirmed."""
        offset: int | None = None
        delay, webhook_deleted = self.backoff[0], False
        stopping = asyncio.ensure_future(stop.wait())
        poll: asyncio.Future[list[Any]] | None = None
        try:
            while not stop.is_set():
                try:
                    if not webhook_deleted:
                        await self.initialize()
                        webhook_deleted = await self._post("deleteWebhook", {})
                    poll = asyncio.ensure_future(self._get_updates(offset, 100,
                                                                   self.poll_timeout))  # fmt: skip
                    await asyncio.wait({poll, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    if not poll.done():  # stopping: end the long poll, then confirm below
                        await self._cancel(poll)
                        break
                    if updates := poll.result():
                        await self._receive(updates)
                        ids = [i for u in updates if (i := update_id_of(u)) is not None]
                        if ids:  # only now: the batch is stored (or parked)
                            offset = max(ids) + 1
                    delay = self.backoff[0]
                    continue
                except Conflict as exc:
                    log.error("telegram 409 Conflict: another poller or a webhook uses this "
                              "token (%s); waiting %.0f s", self._scrub(exc), delay)  # fmt: skip
                except RetryAfter as exc:
                    delay = max(delay, _retry_seconds(exc))
                    log.warning("telegram asked us to wait %.0f s before polling", delay)
                except (TelegramError, SendError) as exc:
                    log.warning("telegram polling failed (%s); retrying in %.1f s",
                                self._scrub(exc), delay)  # fmt: skip
                except Exception as exc:  # a database error quotes the updates: only its type
                    log.error("storing telegram updates failed (%s); retrying in %.1f s",
                              type(exc).__name__, delay)  # fmt: skip
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(stopping), delay)
                delay = min(delay * 2, self.backoff[1])
            if offset is not None:  # confirm the last stored batch (best effort)
                with contextlib.suppress(TelegramError):
                    await self._get_updates(offset, 1, 0)
        finally:
            stopping.cancel()
            if poll is not None:
                await self._cancel(poll)

    async def _get_updates(self, offset: int | None, limit: int, timeout: int) -> list[Any]:
        """``getUpdates`` as raw dicts: one update that cannot be read must not fail the batch
        (PTB's ``Bot.get_updates`` would raise for all of them, and log them all at CRITICAL)."""
        params: dict[str, Any] = {"limit": limit, "timeout": timeout,
                                  "allowed_updates": ALLOWED_UPDATES}  # fmt: skip
        if offset is not None:
            params["offset"] = offset
        result = await self._post("getUpdates", params, timeout + GET_UPDATES_READ_TIMEOUT)
        return list(result) if isinstance(result, list) else []

    async def _post(self, method: str, params: dict[str, Any],
                    read_timeout: float | None = None) -> Any:  # fmt: skip
        """A Bot API call as plain JSON; its result, or PTB's error for the answer."""
        return await self._request.post_json(self._api + method, params, read_timeout)

    @staticmethod
    async def _cancel(future: asyncio.Future[Any]) -> None:
        future.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await future

    # -- life in ``serve`` --------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        """The webhook route, in webhook mode."""
        if self.webhook is not None:
            self.webhook_routes(app, self.webhook[1])

    async def run(self, stop: asyncio.Event) -> None:
        """Polls until ``stop``; in webhook mode sets the webhook (the server listens by now),
        retrying until Telegram accepts it."""
        if self.webhook is None:
            await self.run_polling(stop)
            return
        url, secret = self.webhook
        if await keep_trying(stop, lambda: self.set_webhook(url, secret), self.backoff,
                             "telegram setWebhook", log):  # fmt: skip
            log.info("Telegram: webhook set")

    # -- webhook ----------------------------------------------------------------------------
    def webhook_routes(self, app: web.Application, secret: str,
                       path: str = "/telegram/webhook") -> None:  # fmt: skip
        """Add ``POST path``: secret checked in constant time, update stored, then 200.

        Bodies over ``MAX_WEBHOOK_BODY`` get 413, what Telegram would never send 400 (see
        :mod:`bot.channels.telegram_updates`); a well-formed update that cannot be read is
        parked and answered 200 (Telegram would only send it again).
        """

        async def handle(request: web.Request) -> web.Response:
            if not secret_matches(request.headers.get(SECRET_HEADER), secret):
                return web.Response(status=401)
            read = await read_json_object(request, MAX_WEBHOOK_BODY, "telegram")
            if isinstance(read, web.Response):
                return read
            _body, raw = read
            if (problem := update_problem(raw)) is not None:
                log.warning("refused a telegram webhook update: %s", problem)
                return web.Response(status=400)
            try:
                await self._receive([raw])
            except Exception as exc:  # the error may quote the update: only its type
                log.error("storing telegram update %s failed (%s)", raw["update_id"],
                          type(exc).__name__)  # fmt: skip
                return web.Response(status=500)  # Telegram delivers it again
            return web.Response(status=200)

        app.router.add_post(path, handle)

    async def set_webhook(self, url: str, secret: str, max_connections: int = 40) -> None:
        """Point Telegram at our webhook (called at start-up in webhook mode)."""
        await self.initialize()
        await self._call(self._post("setWebhook", {"url": url, "max_connections": max_connections,
            "allowed_updates": ALLOWED_UPDATES, "secret_token": secret}))  # fmt: skip

    # -- out: replies -----------------------------------------------------------------------
    def render(self, reply: Reply) -> list[str]:
        """The reply as escaped HTML message texts, each within 4096 characters."""
        title = html.escape(reply.title, quote=False)
        if not reply.text:
            return [f"<b>{title}</b>" if title else ""]
        first = MAX_TEXT - (utf16_units(reply.title) + 1 if reply.title else 0)
        parts = [html.escape(p, quote=False) for p in split_text(reply.text, MAX_TEXT, first)]
        if title:
            parts[0] = f"<b>{title}</b>\n{parts[0]}"
        return parts

    async def deliver(self, chat_id: str, reply: Reply) -> str:
        """Send a reply (several messages if long); returns the last message's id."""
        await self.initialize()
        inline: Markup = None
        keyboard: Markup = None
        if reply.buttons:
            inline = {"inline_keyboard": [[{"text": b.label, "url": b.url} if b.url
                else {"text": b.label, "callback_data": b.payload}
                for b in row] for row in reply.buttons]}  # fmt: skip
        if reply.contact_button:
            button = {"text": reply.contact_button, "request_contact": True}
            keyboard = {"keyboard": [[button]], "one_time_keyboard": True,
                        "resize_keyboard": True}  # fmt: skip
        elif reply.contact_request_over:  # Telegram keeps a reply keyboard until removed
            keyboard = {"remove_keyboard": True}
        parts = self._parts(reply, both_markups=inline is not None and keyboard is not None)
        # A retry of a reply sent in part goes on after the messages that went: sending it all
        # again would repeat them (and, under Telegram's 1-a-second chat limit, for ever).
        # (Only a reply of several messages can be sent in part: a single one is not looked up.)
        key = PartlySent.key(chat_id, reply) if len(parts) > 1 else None
        done, message_id = (self._partly_sent.pop(key) if key else None) or (0, 0)
        for i, part in enumerate(parts):
            if i < done:
                continue
            markup: Markup = keyboard if i == 0 else None
            markup = inline if markup is None and i == len(parts) - 1 else markup
            try:
                if part.file and reply.attachment is not None:
                    sent = await self._send_file(chat_id, reply.attachment, part.text, markup)
                    sent_id = sent.message_id
                else:
                    sent_id = await self._send_text(chat_id, part.text, markup)
            except (RetryLater, TransientError, asyncio.CancelledError):  # retried later
                if i and key:  # … from this message on (refused for good: nothing is kept)
                    self._partly_sent.remember(key, i, message_id)
                raise
            message_id = sent_id
        return str(message_id)

    async def _send_text(self, chat_id: str, text: str, markup: Markup) -> Any:
        """``sendMessage`` of an HTML text; the message's id."""
        params: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML"}
        if markup is not None:
            params["reply_markup"] = markup
        sent = await self._call(self._post("sendMessage", params))
        return sent["message_id"]

    def _parts(self, reply: Reply, both_markups: bool) -> list[_Part]:
        """The messages a reply goes as. With a file: the file, captioned with the whole reply
        when it fits, else with the file's name and followed by the reply's text. Both a
        keyboard change and inline buttons take two messages (see :meth:`_two_messages`)."""
        if reply.attachment is None:
            texts = self.render(reply)
            if both_markups and len(texts) == 1:
                head, tail = self._two_messages(reply)
                texts = self.render(head) + self.render(tail)
            return [_Part(text) for text in texts]
        if utf16_units(reply.plain_text()) <= MAX_CAPTION and not both_markups:
            return [_Part(self.render(reply)[0], file=True)]
        file = _Part(html.escape(reply.attachment.name, quote=False), file=True)
        if not reply.plain_text().strip():  # nothing to say but the buttons
            choose = translator(reply.locale).gettext("Or tap a button:")
            return [file, _Part(html.escape(choose, quote=False))]
        return [file, *(_Part(text) for text in self.render(reply))]

    @staticmethod
    def _two_messages(reply: Reply) -> tuple[Reply, Reply]:
        """A reply cut in two: the keyboard change rides on the first, the buttons on the second.

        Telegram edits only messages without a reply keyboard, so the buttons cannot be added
        afterwards. The cut is at the title, else after the first line; a one-line reply gets a
        short second message of its own.
        """
        if reply.title and reply.text:
            return Reply("", title=reply.title), replace(reply, title="")
        head, _sep, tail = reply.text.partition("\n")
        if head.strip() and tail.strip():
            return replace(reply, text=head), replace(reply, title="", text=tail)
        choose = translator(reply.locale).gettext("Or tap a button:")
        return reply, replace(reply, title="", text=choose)

    async def _send_file(self, chat_id: str, attachment: Attachment, caption: str,
                         markup: Markup) -> Message:  # fmt: skip
        """Send a blob by the file_id Telegram gave for it, else upload it (once at a time: the
        sends that wait for an upload then name its file_id). A refused file_id is forgotten
        and the file uploaded again, once."""
        sha = attachment.sha256
        known = self._known_file(sha)
        if known is None:
            async with self._uploading.hold(sha):
                known = self._known_file(sha)
                if known is None:
                    return await self._upload(chat_id, attachment, caption, markup)
        try:
            return await self._call(self._send_as(known.method, chat_id, known.file_id, caption,
                                                  markup))  # fmt: skip
        except Rejected as exc:
            if not WRONG_FILE_ID.search(str(exc)):
                raise
            log.warning("telegram refused the file_id of %s (blob %s); uploading it again",
                        attachment.name, sha)  # fmt: skip
        async with self._uploading.hold(sha):
            if self._file_ids.get(sha) == known:
                del self._file_ids[sha]
            again = self._known_file(sha)
            if again is None:
                return await self._upload(chat_id, attachment, caption, markup)
        # another send uploaded it again meanwhile
        return await self._call(self._send_as(again.method, chat_id, again.file_id, caption,
                                              markup))  # fmt: skip

    async def _upload(self, chat_id: str, attachment: Attachment, caption: str,
                      markup: Markup) -> Message:  # fmt: skip
        """Upload a blob's bytes with the message and keep the file_id Telegram gives back."""
        data = await self._blob(attachment)
        method = "photo" if attachment.is_photo and len(data) <= MAX_PHOTO_BYTES else "document"
        upload = InputFile(data, filename=attachment.name)
        sent = await self._call(self._send_as(method, chat_id, upload, caption, markup))
        file_id = (
            max(sent.photo, key=lambda p: p.width * p.height).file_id
            if method == "photo" and sent.photo
            else sent.document.file_id
            if method == "document" and sent.document
            else None
        )
        if file_id:
            self._file_ids[attachment.sha256] = _Uploaded(method, file_id)
            while len(self._file_ids) > FILE_IDS_KEPT:
                self._file_ids.popitem(last=False)
        return sent

    async def _blob(self, attachment: Attachment) -> bytes:
        """The attachment's bytes from the blob store; :class:`Rejected` when they cannot be
        had (no store, no such blob, or bytes that fail their hash): retrying will not help."""
        data = await attachment_bytes(self.blobs, attachment, "Telegram")
        if len(data) > MAX_UPLOAD_BYTES:
            what = f"attachment {attachment.name!r} (blob {attachment.sha256})"
            raise Rejected(f"{what} is {len(data)} bytes, over Telegram's {MAX_UPLOAD_BYTES}")
        return data

    def _known_file(self, sha256: str) -> _Uploaded | None:
        known = self._file_ids.get(sha256)
        if known is not None:
            self._file_ids.move_to_end(sha256)
        return known

    def _send_as(self, method: str, chat_id: str, file: str | InputFile, caption: str,
                 markup: Markup) -> Awaitable[Message]:  # fmt: skip
        """``sendPhoto`` or ``sendDocument`` of an upload or a file_id (through PTB)."""
        mode = "HTML" if caption else None
        extra = {"reply_markup": markup} if markup is not None else None
        if method == "photo":
            return self.bot.send_photo(chat_id, file, caption=caption or None, parse_mode=mode,
                                       api_kwargs=extra)  # fmt: skip
        return self.bot.send_document(chat_id, file, caption=caption or None, parse_mode=mode,
                                      api_kwargs=extra)  # fmt: skip

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except RetryAfter as exc:
            raise RetryLater(_retry_seconds(exc), self._scrub(exc)) from None
        except Forbidden as exc:
            reason = self._scrub(exc)
            raise Unreachable(reason, deleted="deactivated" in reason.lower()) from None
        except (BadRequest, ChatMigrated) as exc:
            raise Rejected(self._scrub(exc)) from None
        except TelegramError as exc:  # TimedOut, NetworkError, 5xx, …
            raise TransientError(self._scrub(exc)) from None

    def _scrub(self, exc: BaseException) -> str:
        return f"{type(exc).__name__}: {exc}".replace(self._token, "<token>")

    # -- files ------------------------------------------------------------------------------
    async def working(self, chat_id: str) -> None:
        """Shows "sending a file…" in the chat while a long job (a download) runs."""
        try:
            await self.initialize()
            await self._post("sendChatAction", {"chat_id": chat_id, "action": UPLOAD_DOCUMENT})
        except TelegramError as exc:  # only a courtesy: never fail the work for it
            log.info("could not show the chat action: %s", self._scrub(exc))

    async def download(self, file: FileRef, max_bytes: int) -> bytes:
        """Fetch a file into memory, refusing more than ``max_bytes`` (before or while)."""
        if file.size is not None and file.size > max_bytes:
            raise FileTooLarge(file.size, max_bytes)
        try:
            await self.initialize()
            info = await self.bot.get_file(file.file_id)
        except (TelegramError, SendError) as exc:
            raise DownloadError(f"getFile failed: {self._scrub(exc)}") from None
        if info.file_size is not None and info.file_size > max_bytes:
            raise FileTooLarge(info.file_size, max_bytes)
        if not info.file_path:
            raise DownloadError("getFile returned no file path")
        data, length = bytearray(), 0
        try:  # the URL holds the token: it is used here and never logged or stored
            async with self._files.stream("GET", info.file_path) as response:
                if response.status_code != 200:
                    raise DownloadError(f"file download answered HTTP {response.status_code}")
                if (length := int(response.headers.get("content-length") or 0)) > max_bytes:
                    raise FileTooLarge(length, max_bytes)
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > max_bytes:
                        raise FileTooLarge(len(data), max_bytes)
        except httpx.HTTPError as exc:
            raise DownloadError(f"file download failed: {self._scrub(exc)}") from None
        if length and len(data) != length:
            raise DownloadError(f"file download cut short: {len(data)} of {length} bytes")
        return bytes(data)
