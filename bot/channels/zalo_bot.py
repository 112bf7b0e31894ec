"""Zalo Bot Platform channel: Telegram-like bots inside Zalo, on one aiohttp session.

Calls are ``POST <root>/bot<token>/<method>`` with JSON, answered ``{"ok", "result" |
"error_code", "description"}``. The platform has no buttons, no documents and no contact
sharing: choices go as numbered lists ("Reply with the number", :func:`~bot.channels.base.
fit_reply`), the phone is typed, and pictures are the only files either way.

In: an update is stored with ``engine.store`` before it is acknowledged. The webhook (``POST
/zalo-bot/webhook``, secret in ``X-Bot-Api-Secret-Token``) answers 200 only after the insert.
``getUpdates`` has no offset: an update counts as delivered once the platform has answered it,
so the poller asks for the next only after the last is stored (kept in memory and stored again
until it is), and an update answered at the very moment the process is stopped can be lost —
use the webhook in production. Updates are known by event name and message id (see
:mod:`bot.channels.zalo_bot_updates`); ``Event.seq`` is the message's date in milliseconds, so
a chat's pending events are taken in the order they were written, whatever order they arrived
in (a webhook retry, parallel requests); an update without a date gets its arrival time.

Out: plain text (the title as its first line), cut at 2,000 UTF-16 units (the platform says
"characters"; UTF-16 units are never fewer, so either reading holds). A reply's picture goes by
address (``sendPhoto``): a signed, expiring URL of our own server (:mod:`bot.channels.
file_links`, under ``OCOP_PUBLIC_URL``) that the platform fetches; without a public URL the
channel sends no files and the base channel says so in the text. A reply sent in part is
retried from the first message that did not go. The token is in every URL: no message, log line
or error of this module carries it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels.base import (
    BaseChannel,
    Capabilities,
    Rejected,
    RetryLater,
    SendError,
    TextUnits,
    TransientError,
    Unreachable,
)
from bot.channels.common import (
    EventStore,
    PartlySent,
    fetch_at_most,
    keep_trying,
    parse_command,
    read_json_object,
    secret_matches,
    split_text,
)
from bot.channels.file_links import FileLinks
from bot.channels.zalo_bot_updates import (
    EVENT_IMAGE,
    EVENT_STICKER,
    EVENT_TEXT,
    MAX_WEBHOOK_BODY,
    date_ms,
    event_id_of,
    id_of,
    photo_url,
    update_kind,
    update_problem,
    updates_in,
)
from bot.vocabulary import GROUP, Attachment, Event, EventKind, FileRef, Reply
from storage.blobs import BlobStore
from storage.clock import SYSTEM_CLOCK, Clock

__all__ = ["FILES_PATH", "MAX_TEXT", "SECRET_HEADER", "WEBHOOK_PATH", "ZaloBotChannel"]

log = logging.getLogger(__name__)

MAX_TEXT = 2000  # a message, and a photo's caption
SECRET_HEADER = "X-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/zalo-bot/webhook"
FILES_PATH = "/zalo-bot/files"
DEFAULT_RETRY_AFTER = 5.0  # seconds, when a 429 does not say
POLL_TIMEOUT = 408  # getUpdates' answer when the long poll ended without an update
GET_UPDATES_READ_TIMEOUT = 10.0  # seconds beyond the long poll's own timeout
RETRY_AFTER = re.compile(r"(?i)retry after (\d+(?:\.\d+)?)")
# Events the flows cannot read, as ``Event.other`` (bot/dispatch.py words them).
OTHER_EVENTS = {EVENT_STICKER: "sticker", "message.voice.received": "voice"}
TEXT_EVENTS = (EVENT_TEXT, "message.link.received")  # a link is a text that has one
TRANSIENT_4XX = frozenset({401, 408, 409})  # a token or timing trouble, not this message's


@dataclass(frozen=True, slots=True)
class _Part:
    """One message of a reply: text, or the photo with ``text`` as its caption."""

    text: str
    photo: bool = False


class ZaloBotChannel(BaseChannel):
    """The Zalo bot adapter. With a ``webhook`` (URL, secret) it adds the webhook route and sets
    the webhook in ``run`` (once the HTTP server listens); without, ``run`` polls."""

    name = "zalo_bot"

    def __init__(self, token: str, api_url: str, engine: EventStore, *, poll_timeout: int = 25,
                 backoff: tuple[float, float] = (1.0, 30.0),
                 webhook: tuple[str, str] | None = None, blobs: BlobStore | None = None,
                 public_url: str | None = None, send_rate: float | None = None,
                 request_timeout: float = 20.0, clock: Clock = SYSTEM_CLOCK) -> None:  # fmt: skip
        """``api_url`` is the server root (``https://bot-api.zaloplatforms.com``); replies'
        pictures go out only with both ``blobs`` (where they are) and ``public_url`` (where the
        platform fetches them from us); ``send_rate`` is the platform's messages a second."""
        self._token = token
        self._root = api_url.rstrip("/")
        self.engine = engine
        self.poll_timeout = poll_timeout
        self.backoff = backoff
        self.webhook = webhook
        self.request_timeout = request_timeout
        self.clock = clock
        self.links: FileLinks | None = None
        if public_url and blobs is not None:
            key = FileLinks.key_from(token, "zalo bot")
            self.links = FileLinks(key, public_url, blobs, FILES_PATH, clock=clock)
        self.capabilities = Capabilities(
            buttons_per_message=0,
            contact_request=False,
            file_kinds=frozenset({"photo"}),
            sends_files=frozenset({"photo"}) if self.links else frozenset(),
            caption_limit=MAX_TEXT if self.links else 0,
            text_limit=MAX_TEXT,
            text_units=TextUnits.UTF16,
            send_rate=send_rate,
        )
        self._session: aiohttp.ClientSession | None = None
        self._ready = False
        self._init_lock = asyncio.Lock()
        self._partly_sent: PartlySent[str] = PartlySent()

    # -- life cycle -------------------------------------------------------------------------
    async def initialize(self) -> None:
        """Open the HTTP session and check the token (getMe); safe to call repeatedly."""
        if not self._ready:
            async with self._init_lock:
                if not self._ready:
                    me = await self._call("getMe")
                    me = me if isinstance(me, dict) else {}
                    name = me.get("account_name") or me.get("name") or "?"
                    log.info("Zalo bot: signed in as %s", str(name)[:60])
                    self._ready = True

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
        return self._session

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
        self._ready = False

    async def __aenter__(self) -> ZaloBotChannel:
        await self.initialize()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown()

    # -- calls --------------------------------------------------------------------------------
    async def _request(self, method: str, params: dict[str, Any] | None = None,
                       read_timeout: float | None = None) -> tuple[int, Any]:  # fmt: skip
        """One call: the HTTP status and the JSON body (None if it is not JSON)."""
        url = f"{self._root}/bot{self._token}/{method}"
        read = read_timeout or self.request_timeout
        timeout = aiohttp.ClientTimeout(sock_connect=10.0, sock_read=read)
        try:
            async with self._open().post(url, json=params or {}, timeout=timeout) as response:
                status, raw = response.status, await response.read()
        except TimeoutError:
            raise TransientError(f"{method} timed out") from None
        except aiohttp.ClientError as exc:
            raise TransientError(f"{method}: {self._scrub(exc)}") from None
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, None

    async def _call(self, method: str, params: dict[str, Any] | None = None,
                    read_timeout: float | None = None) -> Any:  # fmt: skip
        """The call's ``result``; its failure as a :class:`SendError`."""
        status, body = await self._request(method, params, read_timeout)
        if 200 <= status < 300 and isinstance(body, dict) and body.get("ok") is True:
            return body.get("result")
        raise self._error(method, status, body)

    def _error(self, method: str, status: int, body: Any) -> SendError:
        """429 → :class:`RetryLater`, 403 → :class:`Unreachable` (blocked), other 4xx but a
        token or timing trouble → :class:`Rejected`, the rest → :class:`TransientError`. The
        platform's ``error_code`` counts over the HTTP status (it may answer 200 with one)."""
        body = body if isinstance(body, dict) else {}
        code = body.get("error_code")
        code = code if isinstance(code, int) and not isinstance(code, bool) else status
        description = self._scrub(str(body.get("description") or "")[:300]) or f"HTTP {status}"
        message = f"{method}: {code} {description}"
        if code == 429:
            return RetryLater(_retry_after(body, description) or DEFAULT_RETRY_AFTER, message)
        if code == 403:
            return Unreachable(message)
        if 400 <= code < 500 and code not in TRANSIENT_4XX:
            return Rejected(message)
        return TransientError(message)

    def _scrub(self, text: object) -> str:
        return str(text).replace(self._token, "<token>")

    # -- in: updates → events ---------------------------------------------------------------
    def to_event(self, raw: dict[str, Any]) -> Event | None:
        """One readable update (see :func:`update_problem`) as an event; None for an update
        without a message (nothing to answer)."""
        message = raw.get("message")
        if not isinstance(message, dict):
            return None
        chat, event_name = message["chat"], raw["event_name"]
        sender: dict[str, Any] = message["from"] if isinstance(message.get("from"), dict) else {}
        chat_id = id_of(chat["id"]) or ""
        name = sender.get("name") or sender.get("display_name")

        def event(kind: EventKind, **fields: Any) -> Event:
            return Event(
                channel=self.name,
                chat_id=chat_id,
                user_id=id_of(sender.get("id")) or chat_id,
                event_id=event_id_of(raw),
                kind=kind,
                display_name=name[:200] if isinstance(name, str) else "",
                seq=date_ms(message) or int(self.clock.now().timestamp() * 1000),
                **fields,
            )

        if str(chat.get("chat_type") or "PRIVATE").upper() != "PRIVATE":
            return event(EventKind.OTHER, other=GROUP)  # the flows are one person's conversation
        text = message.get("text")
        if event_name in TEXT_EVENTS and isinstance(text, str):
            if (command := parse_command(text)) is not None:
                return event(EventKind.COMMAND, command=command[0], text=command[1])
            return event(EventKind.TEXT, text=text)
        if event_name == EVENT_IMAGE:
            picture = FileRef(photo_url(message) or "", is_photo=True)
            return event(EventKind.FILE, file=picture, text=message.get("caption") or "")
        return event(EventKind.OTHER, other=OTHER_EVENTS.get(event_name, "unsupported"))

    async def _receive(self, raws: Sequence[Any]) -> None:
        """Store the events of readable updates and park the rest (kept for an operator, and
        acknowledged like the others)."""
        events: list[Event] = []
        parked: list[tuple[str, str, dict[str, Any]]] = []
        for raw in raws:
            kind = update_kind(raw)
            problem = update_problem(raw)
            if problem is None:
                event = self.to_event(raw)
                if event is not None:
                    events.append(event)
                else:
                    log.info("zalo bot update %s without a message: nothing to answer", kind)
                continue
            event_id = event_id_of(raw)
            log.warning("zalo bot update %s (%s) %s; parked", event_id, kind, problem)
            parked.append((event_id, f"{kind}: {problem}",
                           raw if isinstance(raw, dict) else {"update": raw}))  # fmt: skip
        if events:
            await self.engine.store(events)
        if parked:
            await self.engine.park(self.name, parked)

    # -- polling ----------------------------------------------------------------------------
    async def run_polling(self, stop: asyncio.Event) -> None:
        """Fetch updates until ``stop`` is set; the next is asked for only once the last is
        stored (an update the platform answered is not answered again)."""
        delay, webhook_deleted = self.backoff[0], False
        unstored: list[Any] = []  # received, not yet stored: stored before anything else
        stopping = asyncio.ensure_future(stop.wait())
        poll: asyncio.Future[list[Any]] | None = None
        try:
            while not stop.is_set():
                try:
                    if unstored:
                        await self._receive(unstored)
                        unstored = []
                    if not webhook_deleted:
                        await self._call("deleteWebhook")
                        webhook_deleted = True
                    poll = asyncio.ensure_future(self._get_updates(self.poll_timeout))
                    await asyncio.wait({poll, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    if not poll.done():  # stopping: end the long poll
                        await _cancel(poll)
                        break
                    unstored = poll.result()
                    if unstored:
                        await self._receive(unstored)
                        unstored = []
                    delay = self.backoff[0]
                    continue
                except RetryLater as exc:
                    delay = max(delay, exc.retry_after)
                    log.warning("zalo bot asked us to wait %.0f s before polling", delay)
                except SendError as exc:
                    log.warning("zalo bot polling failed (%s); retrying in %.1f s", exc, delay)
                except Exception as exc:  # a database error quotes the updates: only its type
                    log.error("storing %d zalo bot updates failed (%s); retrying in %.1f s",
                              len(unstored), type(exc).__name__, delay)  # fmt: skip
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(stopping), delay)
                delay = min(delay * 2, self.backoff[1])
            if unstored:
                log.error("stopping with %d zalo bot updates received and not stored: they are "
                          "lost", len(unstored))  # fmt: skip
        finally:
            stopping.cancel()
            if poll is not None:
                await _cancel(poll)

    async def _get_updates(self, timeout: int) -> list[Any]:
        """The updates of one long poll (one, or a list); none when it ended empty."""
        status, body = await self._request(
            "getUpdates", {"timeout": timeout}, read_timeout=timeout + GET_UPDATES_READ_TIMEOUT
        )
        if isinstance(body, dict) and body.get("ok") is True and 200 <= status < 300:
            return updates_in(body.get("result"))
        code = body.get("error_code") if isinstance(body, dict) else None
        if POLL_TIMEOUT in (code, status):
            return []
        raise self._error("getUpdates", status, body)

    # -- life in ``serve`` --------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        """The webhook route in webhook mode; the pictures' signed addresses with a public URL."""
        if self.webhook is not None:
            self.webhook_routes(app, self.webhook[1])
        if self.links is not None:
            self.links.routes(app)

    async def run(self, stop: asyncio.Event) -> None:
        """Polls until ``stop``; in webhook mode sets the webhook (the server listens by now),
        retrying until the platform accepts it."""
        if self.webhook is None:
            await self.run_polling(stop)
            return
        url, secret = self.webhook
        if await keep_trying(stop, lambda: self.set_webhook(url, secret), self.backoff,
                             "zalo bot setWebhook", log):  # fmt: skip
            log.info("Zalo bot: webhook set")

    async def set_webhook(self, url: str, secret: str) -> None:
        """Point the platform at our webhook (the secret: 8 to 256 characters)."""
        await self.initialize()
        await self._call("setWebhook", {"url": url, "secret_token": secret})

    # -- webhook ----------------------------------------------------------------------------
    def webhook_routes(self, app: web.Application, secret: str, path: str = WEBHOOK_PATH) -> None:
        """Add ``POST path``: the secret checked in constant time (401 and a log line when it
        is missing or wrong), a body over :data:`MAX_WEBHOOK_BODY` refused (413), one that is
        not a JSON object refused (400); the update stored (or parked), then 200; 500 when it
        cannot be stored (the platform sends it again)."""

        async def handle(request: web.Request) -> web.Response:
            given = request.headers.get(SECRET_HEADER)
            if not secret_matches(given, secret):
                log.warning("zalo bot webhook: refused a request with a %s secret from %s (401)",
                            "wrong" if given else "missing", request.remote)  # fmt: skip
                return web.Response(status=401)
            read = await read_json_object(request, MAX_WEBHOOK_BODY, "zalo bot")
            if isinstance(read, web.Response):
                return read
            _body, raw = read
            try:
                await self._receive(updates_in(raw))
            except Exception as exc:  # the error may quote the update: only its type
                log.error("storing zalo bot update %s failed (%s)", event_id_of(raw),
                          type(exc).__name__)  # fmt: skip
                return web.Response(status=500)
            return web.json_response({"ok": True})

        app.router.add_post(path, handle)

    # -- out: replies -----------------------------------------------------------------------
    def _parts(self, reply: Reply) -> list[_Part]:
        """The messages a reply goes as: its plain text (title first) cut at the limit; with a
        picture, the picture first, captioned with the first piece."""
        text = reply.plain_text()
        pieces = split_text(text, MAX_TEXT, units=TextUnits.UTF16) if text.strip() else []
        if reply.attachment is None:
            return [_Part(piece) for piece in pieces] or [_Part(text)]
        first, *rest = pieces or [""]
        return [_Part(first, photo=True), *(_Part(piece) for piece in rest)]

    async def deliver(self, chat_id: str, reply: Reply) -> str:
        """Send a reply (several messages if long); returns the last message's id."""
        await self.initialize()
        parts = self._parts(reply)
        key = PartlySent.key(chat_id, reply) if len(parts) > 1 else None
        done, message_id = (self._partly_sent.pop(key) if key else None) or (0, "")
        for i, part in enumerate(parts):
            if i < done:
                continue
            try:
                if part.photo and reply.attachment is not None:
                    sent = await self._send_photo(chat_id, reply.attachment, part.text)
                else:
                    sent = await self._call("sendMessage", {"chat_id": chat_id, "text": part.text})
            except (RetryLater, TransientError, asyncio.CancelledError):  # retried later
                if i and key:  # … from this message on (refused for good: nothing is kept)
                    self._partly_sent.remember(key, i, message_id)
                raise
            message_id = id_of(sent.get("message_id") if isinstance(sent, dict) else None) or ""
        return message_id

    async def _send_photo(self, chat_id: str, attachment: Attachment, caption: str) -> Any:
        """``sendPhoto`` by a signed address of the blob, which the platform fetches."""
        what = f"attachment {attachment.name!r} (blob {attachment.sha256})"
        if self.links is None:
            raise Rejected(f"{what}: this Zalo bot channel has no public URL for files")
        if not attachment.is_photo:
            raise Rejected(f"{what}: only JPEG and PNG pictures can be sent here")
        try:
            stored = await self.links.blobs.exists(attachment.sha256)
        except ValueError as exc:  # not a SHA-256
            raise Rejected(f"{what}: {exc}") from None
        if not stored:
            raise Rejected(f"{what} is not in the blob store")
        params = {"chat_id": chat_id, "photo": self.links.url_for(attachment.sha256)}
        if caption.strip():
            params["caption"] = caption
        return await self._call("sendPhoto", params)

    async def working(self, chat_id: str) -> None:
        """Shows "typing…" in the chat while a long job (a download) runs; never fails."""
        try:
            await self._call("sendChatAction", {"chat_id": chat_id, "action": "typing"})
        except SendError as exc:
            log.info("could not show the chat action: %s", exc)

    # -- files ------------------------------------------------------------------------------
    async def download(self, file: FileRef, max_bytes: int) -> bytes:
        """Fetch a picture the user sent from its address, refusing more than ``max_bytes``
        (by its Content-Length before, and while reading)."""
        timeout = aiohttp.ClientTimeout(total=120.0, sock_connect=10.0, sock_read=30.0)
        return await fetch_at_most(self._open(), file.file_id, max_bytes, declared=file.size,
                                   what="picture", timeout=timeout)  # fmt: skip


def _retry_after(body: dict[str, Any], description: str) -> float | None:
    """The seconds a 429 asks to wait: ``parameters.retry_after``, or "retry after N" in its
    description."""
    parameters = body.get("parameters")
    value = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    found = RETRY_AFTER.search(description)
    return float(found.group(1)) if found else None


async def _cancel(future: asyncio.Future[Any]) -> None:
    future.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await future
