"""A fake Zalo Bot Platform server speaking real HTTP (aiohttp), for tests.

In tests::

    async with FakeZaloBotAPI() as api:
        channel = ZaloBotChannel(api.token, api.url, engine)
        api.push(api.make.text("8a3f…", "xin chào"))
        sent = await api.wait_sent("8a3f…", n=1)

It serves ``/bot<token>/<method>`` (getMe, getUpdates, setWebhook, deleteWebhook,
getWebhookInfo, sendMessage, sendPhoto, sendChatAction) with JSON, form or query parameters,
answering ``{"ok": true, "result": …}`` or ``{"ok": false, "error_code", "description"}`` (the
HTTP status is the error code), and refusing what the platform refuses: a text or caption that is
empty or over 2,000 characters (counted as UTF-16 units, the stricter reading of "characters"),
a webhook secret not of 8 to 256 characters, ``getUpdates`` while a webhook is set, sends to a
chat that never wrote to the bot (``add_chat`` makes one exist), a chat action other than
``typing``. ``sendPhoto`` fetches the ``photo`` address it is given, as Zalo does, and refuses it
(400) unless it answers 200 with a JPEG or PNG; the bytes are recorded on the message.

``getUpdates`` is a long poll that answers the first queued update (``batch=True``: all of them,
as a list) and forgets it — the platform has no offset, so what it answered is delivered —, or
408 "Request timeout" when none came within ``timeout`` seconds. With a webhook set, queued
updates are POSTed to it instead (one chat's in order, each retried on a non-2xx answer), with
the secret in ``X-Bot-Api-Secret-Token`` and wrapped as ``{"ok": true, "result": …}`` (or flat,
``wrap_webhook=False``); ``post_update`` POSTs one to any address with any secret.

Users' pictures are served as a CDN would (``add_photo`` returns the address to put in an image
update; ``chunked=True`` sends no Content-Length, ``fail_after`` drops the connection).
Chats in ``blocked`` are answered 403 on every send; ``fail`` answers the next calls of a method
with an error; flood limits (:class:`~tests.fakes.telegram_api.RateLimit`, off unless asked for)
answer 429 for sends over them, saying nothing about when to retry (``fail(..., retry_after=N)``
does say it, in ``parameters.retry_after``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import ClientSession, ClientTimeout, web

from tests.fakes.telegram_api import RateLimit

__all__ = [
    "BOT",
    "DEFAULT_TOKEN",
    "MAX_TEXT",
    "ApiError",
    "FakeZaloBotAPI",
    "Picture",
    "RateLimit",
    "SentMessage",
    "UpdateBuilder",
]

DEFAULT_TOKEN = "1234567890123456789:ZaloBot-TEST_token-of-the-fake"
BOT = {"id": "b07a1e5c0ca1d0e1", "account_name": "bot.ocop_test", "account_type": "BASIC",
       "can_join_groups": False}  # fmt: skip
MAX_TEXT = 2000
SECRET_HEADER = "X-Bot-Api-Secret-Token"
SENDS = frozenset({"sendMessage", "sendPhoto"})
PICTURE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def _units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class ApiError(Exception):
    """An error answer of the platform."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code,
                                "description": self.description}  # fmt: skip
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class SentMessage:
    """A message the bot sent; ``plain`` is what the user sees (a photo's caption)."""

    message_id: str
    chat_id: str
    text: str
    kind: str = "text"  # or "photo"
    photo_url: str | None = None
    photo: bytes | None = None  # what the fake fetched from ``photo_url``
    at: float = field(default_factory=time.monotonic)

    @property
    def plain(self) -> str:
        return self.text


@dataclass
class Picture:
    """A user's picture on the platform's CDN."""

    content: bytes
    path: str
    chunked: bool = False  # no Content-Length: its size is known only by reading it
    fail_after: int | None = None  # bytes sent before the connection drops
    fetches: int = 0


@dataclass
class _Fault:
    method: str
    status: int
    count: int
    chat_id: str | None
    retry_after: int | None
    description: str | None

    def error(self) -> ApiError:
        default = {429: "Too many requests", 403: "The user has blocked the bot",
                   400: "Bad request", 500: "Internal server error"}  # fmt: skip
        text = self.description or default.get(self.status, "Error")
        return ApiError(self.status, text, self.retry_after)


class UpdateBuilder:
    """Realistic updates: string ids, dates in milliseconds that only grow, unique message ids."""

    def __init__(self) -> None:
        self._message_ids = itertools.count(1)
        self._last_date = 0

    def date(self) -> int:
        self._last_date = max(int(time.time() * 1000), self._last_date + 1)
        return self._last_date

    def message(self, chat_id: str, event_name: str, *, group: bool = False,
                user_id: str | None = None, name: str = "Nguyễn Thị Lan",
                date: int | None = None, **fields: Any) -> dict[str, Any]:  # fmt: skip
        message = {
            "message_id": f"{next(self._message_ids):08x}{chat_id[-8:]}",
            "from": {"id": user_id or chat_id, "name": name, "is_bot": False},
            "chat": {"id": chat_id, "chat_type": "GROUP" if group else "PRIVATE"},
            "date": self.date() if date is None else date,
            **{k: v for k, v in fields.items() if v is not None},
        }
        return {"event_name": event_name, "message": message}

    def text(self, chat_id: str, text: str, **kw: Any) -> dict[str, Any]:
        return self.message(chat_id, "message.text.received", text=text, **kw)

    def image(self, chat_id: str, url: str, caption: str | None = None,
              **kw: Any) -> dict[str, Any]:  # fmt: skip
        return self.message(chat_id, "message.image.received", photo=url, caption=caption, **kw)

    def sticker(self, chat_id: str, **kw: Any) -> dict[str, Any]:
        return self.message(chat_id, "message.sticker.received", sticker="s-0d1e", **kw)

    def unsupported(self, chat_id: str, **kw: Any) -> dict[str, Any]:
        """What Zalo sends for a file, a contact card, a video…: the event, without contents."""
        return self.message(chat_id, "message.unsupported.received", **kw)

    @staticmethod
    def wrapped(update: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "result": update}


def _chat_of(update: dict[str, Any]) -> str | None:
    message = update.get("result", update).get("message") or {}
    chat = message.get("chat") or {}
    return str(chat["id"]) if "id" in chat else None


class FakeZaloBotAPI:
    """The fake platform; an async context manager listening on ``host:port`` (0 = any free)."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, host: str = "127.0.0.1", port: int = 0,
                 rate_limit: RateLimit | None = None, batch: bool = False,
                 wrap_webhook: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.token, self.host, self.port = token, host, port
        self.rate_limit = rate_limit
        self.batch = batch
        self.wrap_webhook = wrap_webhook
        self.clock = clock
        self.make = UpdateBuilder()
        self.app = web.Application(client_max_size=8 * 1024 * 1024)
        self.app.router.add_route("*", "/bot{token}/{method}", self._api)
        self.app.router.add_get("/cdn/{path}", self._picture)
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._changed = asyncio.Condition()
        self._deliverer: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._closing = False
        self.updates: list[dict[str, Any]] = []  # queued, not yet answered or delivered
        self.sent: list[SentMessage] = []
        self.send_attempts: list[tuple[str, str, int]] = []  # (method, chat, HTTP status)
        self.actions: list[dict[str, Any]] = []  # sendChatAction calls
        self.calls: Counter[str] = Counter()
        self.faults: list[_Fault] = []
        self.blocked: set[str] = set()
        self.chats: set[str] = set()
        self.accepted: list[tuple[float, str]] = []  # sends let through: (time, chat)
        self.too_many = 0
        self.pictures: dict[str, Picture] = {}
        self.photo_fetches: list[tuple[str, int]] = []  # (address, status) sendPhoto fetched
        self.webhook: dict[str, Any] | None = None
        self.webhook_posts: list[int] = []  # the status each webhook delivery got
        self.requests: list[str] = []  # every request's path (token included), as received
        self._message_ids = itertools.count(1)

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The API root to give the bot (``<url>/bot<token>/<method>``)."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
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

    async def __aenter__(self) -> FakeZaloBotAPI:
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

    def push(self, *updates: dict[str, Any]) -> None:
        """Queue updates for getUpdates (or the webhook); their chats exist from now on."""
        for update in updates:
            if (chat := _chat_of(update)) is not None:
                self.chats.add(chat)
            self.updates.append(update)
        self._notify_soon()

    def add_chat(self, chat_id: str) -> None:
        self.chats.add(chat_id)

    def block(self, chat_id: str) -> None:
        """The user blocked the bot: every send to the chat is answered 403 from now on."""
        self.blocked.add(chat_id)

    def fail(self, method: str, status: int, *, count: int = 1, chat_id: str | None = None,
             retry_after: int | None = None, description: str | None = None) -> None:  # fmt: skip
        """Answer the next ``count`` calls of ``method`` (for ``chat_id``) with an error."""
        self.faults.append(_Fault(method, status, count, chat_id, retry_after, description))

    def limit(self, rate_limit: RateLimit | None = None, /, **fields: Any) -> None:
        """Flood limits from now on (a :class:`RateLimit` or its fields; None: no limit)."""
        self.rate_limit = RateLimit(**fields) if fields else rate_limit

    def add_photo(self, content: bytes, *, chunked: bool = False,
                  fail_after: int | None = None) -> str:  # fmt: skip
        """Put a user's picture on the CDN; returns its address."""
        path = f"p{len(self.pictures) + 1:04d}.jpg"
        self.pictures[path] = Picture(content, path, chunked, fail_after)
        return f"{self.url}/cdn/{path}"

    def sent_to(self, chat_id: str | None = None) -> list[SentMessage]:
        return [m for m in self.sent if chat_id is None or m.chat_id == chat_id]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def wait_sent(self, chat_id: str | None = None, n: int = 1,
                        timeout: float = 5.0) -> list[SentMessage]:  # fmt: skip
        try:
            await self.wait_until(lambda: len(self.sent_to(chat_id)) >= n, timeout)
        except TimeoutError:
            got = [m.plain[:60] for m in self.sent_to(chat_id)]
            raise TimeoutError(f"{len(got)} of {n} messages sent to {chat_id}: {got}") from None
        return self.sent_to(chat_id)

    async def post_update(self, url: str, update: dict[str, Any], secret: str | None) -> int:
        """POST one update to ``url`` as the platform would (``secret`` None: no header)."""
        assert self._session is not None
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        body = self.make.wrapped(update) if self.wrap_webhook else update
        async with self._session.post(url, json=body, headers=headers) as response:
            return response.status

    # -- the platform's API -------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        method = request.match_info["method"]
        handler = self._methods.get(method)
        self.calls[method] += 1
        self._notify_soon()
        params: dict[str, Any] = {}
        try:
            if handler is None:
                raise ApiError(404, "Not Found")
            params = await _params(request)
            chat = params.get("chat_id")
            fault = self._fault(method, chat)
            if fault is not None:
                raise fault
            admitted = self._admit(method, chat)
            try:
                result = await handler(self, params)
            except ApiError:
                if admitted is not None:  # refused: it took no slot
                    self.accepted.remove(admitted)
                raise
        except ApiError as exc:
            if method in SENDS:
                self.send_attempts.append((method, str(params.get("chat_id")), exc.code))
            return web.json_response(exc.body(), status=exc.code)
        if method in SENDS:
            self.send_attempts.append((method, str(params.get("chat_id")), 200))
        body: dict[str, Any] = {"ok": True}
        if result is not None:
            body["result"] = result
        return web.json_response(body)

    def _fault(self, method: str, chat_id: Any) -> ApiError | None:
        if method in SENDS and chat_id in self.blocked:
            return ApiError(403, "The user has blocked the bot")
        for fault in self.faults:
            if fault.method == method and fault.count > 0 and fault.chat_id in (None, chat_id):
                fault.count -= 1
                return fault.error()
        return None

    def _admit(self, method: str, chat_id: Any) -> tuple[float, str] | None:
        """Record a send within the flood limits; 429 (nothing recorded) over them."""
        if method not in SENDS:
            return None
        now, limit = self.clock(), self.rate_limit
        if limit is not None:
            chat_window = limit.chat_window or limit.window
            for per_second, window, chat in (
                (limit.global_per_second, limit.window, None),
                (limit.per_chat_per_second, chat_window, chat_id),
            ):
                if per_second is None:
                    continue
                recent = [t for t, c in self.accepted
                          if t > now - window and chat in (None, c)]  # fmt: skip
                if len(recent) >= limit.allowed(per_second, window):
                    self.too_many += 1
                    raise ApiError(429, "Too many requests")
        admitted = (now, str(chat_id))
        self.accepted.append(admitted)
        return admitted

    def _chat(self, p: dict[str, Any]) -> str:
        chat = p.get("chat_id")
        if not isinstance(chat, str) or chat not in self.chats:
            raise ApiError(400, "chat_id is invalid or the user never wrote to the bot")
        return chat

    @staticmethod
    def _text(value: Any, what: str, *, required: bool) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not 1 <= _units(value) <= MAX_TEXT:
            raise ApiError(400, f"{what} must be 1 to {MAX_TEXT} characters")
        return value

    async def _get_me(self, p: dict[str, Any]) -> Any:
        return BOT

    async def _get_updates(self, p: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: a webhook is set; use deleteWebhook first")
        deadline = time.monotonic() + float(p.get("timeout") or 30)
        async with self._changed:
            while not self.updates:
                if time.monotonic() >= deadline or self._closing:
                    raise ApiError(408, "Request timeout")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
        self._notify_soon()
        if self.batch:
            answered, self.updates = self.updates, []
            return answered
        return self.updates.pop(0)

    async def _set_webhook(self, p: dict[str, Any]) -> Any:
        url, secret = p.get("url"), p.get("secret_token")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ApiError(400, "url must be an https address")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise ApiError(400, "secret_token must be 8 to 256 characters")
        self.webhook = {"url": url, "secret_token": secret, "updated_at": int(time.time() * 1000)}
        await self._notify()
        return {"url": url, "updated_at": self.webhook["updated_at"]}

    async def _delete_webhook(self, p: dict[str, Any]) -> Any:
        self.webhook = None
        return {"url": "", "updated_at": int(time.time() * 1000)}

    async def _get_webhook_info(self, p: dict[str, Any]) -> Any:
        hook = self.webhook or {}
        return {"url": hook.get("url", ""), "updated_at": hook.get("updated_at", 0)}

    def _record(self, message: SentMessage) -> dict[str, Any]:
        self.sent.append(message)
        self._notify_soon()
        return {"message_id": message.message_id, "date": int(time.time() * 1000)}

    async def _send_message(self, p: dict[str, Any]) -> Any:
        chat = self._chat(p)
        text = self._text(p.get("text"), "text", required=True)
        return self._record(SentMessage(self._next_id(), chat, text, at=self.clock()))

    async def _send_photo(self, p: dict[str, Any]) -> Any:
        chat = self._chat(p)
        caption = self._text(p.get("caption"), "caption", required=False)
        url = p.get("photo")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ApiError(400, "photo must be the address of a picture")
        content = await self._fetch(url)
        message = SentMessage(self._next_id(), chat, caption, "photo", url, content, self.clock())
        return self._record(message)

    async def _fetch(self, url: str) -> bytes:
        """Fetch a picture to send, as the platform does; 400 unless a JPEG or PNG comes."""
        assert self._session is not None
        try:
            async with self._session.get(url) as response:
                status, content = response.status, await response.read()
        except Exception:
            status, content = 0, b""
        self.photo_fetches.append((url, status))
        if status != 200 or not content.startswith(PICTURE_MAGIC):
            raise ApiError(400, "photo could not be fetched from its address")
        return content

    async def _send_chat_action(self, p: dict[str, Any]) -> Any:
        self._chat(p)
        if p.get("action") != "typing":
            raise ApiError(400, "action must be typing")
        self.actions.append(p)
        return None

    def _next_id(self) -> str:
        return f"m{next(self._message_ids):010d}"

    _methods: ClassVar[dict[str, Callable[[FakeZaloBotAPI, dict[str, Any]], Any]]] = {
        "getMe": _get_me,
        "getUpdates": _get_updates,
        "setWebhook": _set_webhook,
        "deleteWebhook": _delete_webhook,
        "getWebhookInfo": _get_webhook_info,
        "sendMessage": _send_message,
        "sendPhoto": _send_photo,
        "sendChatAction": _send_chat_action,
    }

    # -- the CDN ------------------------------------------------------------------------------
    async def _picture(self, request: web.Request) -> web.StreamResponse:
        picture = self.pictures.get(request.match_info["path"])
        if picture is None:
            return web.Response(status=404)
        picture.fetches += 1
        if picture.fail_after is None and not picture.chunked:
            return web.Response(body=picture.content, content_type="image/jpeg")
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        if picture.chunked:
            response.enable_chunked_encoding()
        else:
            response.content_length = len(picture.content)
        await response.prepare(request)
        end = len(picture.content) if picture.fail_after is None else picture.fail_after
        for start in range(0, end, 64 * 1024):
            await response.write(picture.content[start : min(start + 64 * 1024, end)])
        if picture.fail_after is not None:
            assert request.transport is not None
            request.transport.close()  # the connection drops half way
            return response
        await response.write_eof()
        return response

    # -- webhook delivery ---------------------------------------------------------------------
    async def _deliver_webhooks(self) -> None:
        while True:
            async with self._changed:
                await self._changed.wait_for(lambda: bool(self.webhook and self.updates))
            hook = self.webhook
            assert hook is not None
            batch, chats = [], set()
            for update in self.updates:  # one update per chat at a time keeps chat order
                if (chat := _chat_of(update)) in chats:
                    break
                chats.add(chat)
                batch.append(update)
            results = await asyncio.gather(*(self._post(hook, u) for u in batch))
            done = [u for u, ok in zip(batch, results, strict=True) if ok]
            self.updates = [u for u in self.updates if not any(u is d for d in done)]
            await self._notify()
            if not all(results):
                await asyncio.sleep(0.2)

    async def _post(self, hook: dict[str, Any], update: dict[str, Any]) -> bool:
        try:
            status = await self.post_update(hook["url"], update, hook["secret_token"])
        except Exception:
            status = 0
        self.webhook_posts.append(status)
        return 200 <= status < 300


async def _params(request: web.Request) -> dict[str, Any]:
    """Query string plus a JSON or form body."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ApiError(400, "the body must be a JSON object")
            params.update(body)
        else:
            params.update((await request.post()).items())
    return params
