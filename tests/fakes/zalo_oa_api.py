"""A fake Zalo Official Account API speaking real HTTP (aiohttp), for tests.

In tests::

    async with FakeZaloOA() as oa:
        oa.webhook_url = "http://127.0.0.1:8123/zalo/webhook"   # the bot's webhook
        refresh_token = oa.oauth.authorise()                    # for the bot's token keeper
        user = oa.add_user()                                    # a follower who just wrote
        await oa.push(oa.make.text(user, "xin chào"))           # signed, POSTed, retried
        [message] = oa.sent_to(user)                            # .plain, .buttons

It serves what the adapter calls, validating it as Zalo does (or as we understand Zalo does),
and Zalo's OAuth server (:class:`~tests.fakes.zalo_oauth.FakeZaloOAuth`, ``oa.oauth``) on the
same port, whose access tokens the API takes (``oa.url`` is both ``OCOP_ZALO_API_URL`` and
``OCOP_ZALO_OAUTH_URL``):

- ``POST /v3.0/oa/message/cs`` (header ``access_token``): text of 1–2,000 characters, a buttons
  template (1–5 buttons, titles of 1–100 characters, ``oa.query.show``/``oa.query.hide`` with a
  payload of at most 1,000 characters or ``oa.open.url`` with a URL; text required), a media
  template naming an uploaded image, a file message naming an uploaded file's token, or a
  ``request_user_info`` card (one element: title ≤ 100, subtitle ≤ 500). Errors come as HTTP 200
  with a non-zero ``error``: -216 for a token OAuth did not issue or that expired (and every
  token seen before :meth:`FakeZaloOA.expire_tokens`), -213 when the
  user does not follow the OA, -230 when the user's last interaction is older than the reply
  window (by ``clock``), -201 for a bad body or an unknown/expired upload, and any code asked
  for with :meth:`FakeZaloOA.fail`. Messages let through are in ``sent`` (:class:`ZaloMessage`).
- ``POST /v2.0/oa/upload/image`` (JPEG/PNG ≤ 1 MB) and ``/v2.0/oa/upload/file`` (PDF/DOC/DOCX
  ≤ 5 MB), multipart ``file``: ``attachment_id`` / ``token``, valid 7 days (``forget_upload``
  makes one unknown at once). Recorded in ``uploads``.
- ``GET /cdn/<name>``: files users "sent" (:meth:`FakeZaloOA.add_file`), for the bot to download.

Webhook events (built by ``oa.make``: ids are strings beyond 2⁵³, timestamps in ms that keep
growing) are POSTed to ``webhook_url`` signed like Zalo — ``X-ZEvent-Signature: mac=<sha256(app_id
+ body + timestamp + secret)>`` with the OA secret key or the app secret (``signs_with``) — and
sent again after ``retry_delays`` while the bot does not answer 200 (Zalo: 30 s, 5 min, 15 min,
30 min, 1 h), so duplicates can be tested. A user's events (``user_send_*``,
``user_submit_info``, ``follow``) open their reply window; ``follow``/``unfollow`` change the
followers.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from storage.clock import SYSTEM_CLOCK, Clock
from tests.fakes.zalo_oauth import FakeZaloOAuth

__all__ = [
    "APP_ID",
    "APP_SECRET",
    "OA_SECRET",
    "EventBuilder",
    "FakeZaloOA",
    "SentButton",
    "Upload",
    "ZaloMessage",
    "zalo_signature",
]

APP_ID = "4315769212930651825"
OA_ID = "2793510987642031744"
OA_SECRET = "fake-oa-secret-key-9Qx2"
APP_SECRET = "fake-app-secret-7Hn4"
FIRST_USER = 7_000_000_000_000_000_000  # user ids beyond 2**53, as Zalo's are
MAX_TEXT = 2000
MAX_BUTTONS = 5
MAX_TITLE, MAX_PAYLOAD, MAX_SUBTITLE = 100, 1000, 500
MAX_IMAGE, MAX_FILE = 1024 * 1024, 5 * 1024 * 1024
IMAGE_TYPES = {"image/jpeg", "image/png"}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FILE_TYPES = {"application/pdf", "application/msword", DOCX}
UPLOAD_LIFETIME = timedelta(days=7)
QUERY_BUTTONS = {"oa.query.show", "oa.query.hide"}
INTERACTIONS = ("user_send_", "user_submit_info", "follow")  # events that open the window
ERRORS = {-32: "Exceeded the request limit", -201: "Parameter is invalid",
          -210: "Parameter exceeds the limit", -213: "User has not followed the OA",
          -216: "Access token is invalid", -220: "Access token has expired",
          -217: "User has blocked the OA", -244: "User has restricted the OA",
          -230: "User has not interacted with the OA in the last 7 days",
          -232: "User has not interacted with the OA recently"}  # fmt: skip


def zalo_signature(app_id: str, body: bytes, timestamp: str, secret: str) -> str:
    """``X-ZEvent-Signature`` of a call, as Zalo computes it."""
    signed = app_id.encode() + body + timestamp.encode() + secret.encode()
    return "mac=" + hashlib.sha256(signed).hexdigest()


@dataclass(frozen=True)
class SentButton:
    title: str
    type: str
    payload: Any  # the text a query button sends back, or {"url": …}


@dataclass
class Upload:
    """A file the bot uploaded."""

    id: str
    kind: str  # "image" or "file"
    content: bytes
    name: str
    content_type: str
    at: datetime


@dataclass
class ZaloMessage:
    """A message the bot sent, as the user sees it: ``plain`` text, ``buttons``, and what else it
    carried (``kind``: "text", "image", "file", "request_user_info")."""

    message_id: str
    user_id: str
    kind: str
    plain: str
    buttons: list[SentButton] = field(default_factory=list)
    upload: Upload | None = None
    card: dict[str, Any] | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def labels(self) -> list[str]:
        return [b.title for b in self.buttons]


@dataclass
class Fault:
    """An error to answer instead of the next ``count`` calls of ``endpoint`` ("send",
    "upload" or "any"), for one user or all."""

    code: int
    count: int = 1
    user_id: str | None = None
    endpoint: str = "send"
    after: int = 0  # calls let through first


class ApiError(Exception):
    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message or ERRORS.get(code, "Error"))
        self.code = code

    def response(self) -> web.Response:
        """Zalo's errors come with HTTP 200; a positive code (a fault) is an HTTP status."""
        if self.code > 0:
            return web.Response(status=self.code, text="server trouble")
        return web.json_response({"error": self.code, "message": str(self)})


class EventBuilder:
    """Webhook event bodies: ids as strings, timestamps (ms, text) that keep growing."""

    def __init__(self, clock: Clock, app_id: str = APP_ID, oa_id: str = OA_ID) -> None:
        self.clock, self.app_id, self.oa_id = clock, app_id, oa_id
        self._last_ms = 0

    def timestamp(self) -> str:
        self._last_ms = max(self._last_ms + 1, int(self.clock.now().timestamp() * 1000))
        return str(self._last_ms)

    @staticmethod
    def msg_id() -> str:
        return secrets.token_hex(16)

    def envelope(self, name: str, user: str, **body: Any) -> dict[str, Any]:
        return {"app_id": self.app_id, "user_id_by_app": str(int(user) + 1),
                "event_name": name, "timestamp": self.timestamp(), "sender": {"id": user},
                "recipient": {"id": self.oa_id}, **body}  # fmt: skip

    def message(self, name: str, user: str, **message: Any) -> dict[str, Any]:
        return self.envelope(name, user, message={"msg_id": self.msg_id(), **message})

    def text(self, user: str, text: str) -> dict[str, Any]:
        return self.message("user_send_text", user, text=text)

    def image(self, user: str, url: str, text: str = "") -> dict[str, Any]:
        attachment = {"type": "image", "payload": {"thumbnail": url, "url": url}}
        extra = {"text": text} if text else {}
        return self.message("user_send_image", user, attachments=[attachment], **extra)

    def file(self, user: str, url: str, name: str = "ho-so.pdf", size: int | None = 12_345,
             type_: str = "pdf") -> dict[str, Any]:  # fmt: skip
        payload: dict[str, Any] = {"url": url, "name": name, "type": type_,
                                   "checksum": hashlib.md5(url.encode()).hexdigest()}  # fmt: skip
        if size is not None:
            payload["size"] = str(size)  # Zalo sends it as text
        return self.message("user_send_file", user,
                            attachments=[{"type": "file", "payload": payload}])  # fmt: skip

    def location(self, user: str) -> dict[str, Any]:
        payload = {"coordinates": {"latitude": "21.0278", "longitude": "105.8342"}}
        return self.message("user_send_location", user,
                            attachments=[{"type": "location", "payload": payload}])  # fmt: skip

    def sticker(self, user: str) -> dict[str, Any]:
        payload = {"id": "b7b4a1c06d8c84d2dd9d", "url": "https://zalo-api.zadn.vn/sticker.png"}
        return self.message("user_send_sticker", user,
                            attachments=[{"type": "sticker", "payload": payload}])  # fmt: skip

    def follow(self, user: str) -> dict[str, Any]:
        body = self.envelope("follow", user, follower={"id": user}, oa_id=self.oa_id,
                             source="oa_profile")  # fmt: skip
        del body["sender"], body["recipient"]
        return body

    def unfollow(self, user: str) -> dict[str, Any]:
        body = self.follow(user)
        body["event_name"] = "unfollow"
        return body

    def submit_info(self, user: str, phone: str = "84912345678", name: str = "Nguyễn Thị Lan",
                    address: str = "Lục Ngạn") -> dict[str, Any]:  # fmt: skip
        info = {"name": name, "phone": phone, "address": address, "city": "Bắc Ninh",
                "district": "Lục Ngạn", "ward": ""}  # fmt: skip
        return self.envelope("user_submit_info", user, info=info)

    def received(self, user: str) -> dict[str, Any]:
        return self.envelope("user_received_message", user,
                             message={"msg_ids": [self.msg_id()]})  # fmt: skip

    def seen(self, user: str) -> dict[str, Any]:
        return self.envelope("user_seen_message", user, message={"msg_ids": [self.msg_id()]})


class FakeZaloOA:
    """The fake OA API and Zalo's webhook sender; an async context manager on a free port."""

    def __init__(self, *, app_id: str = APP_ID, oa_secret: str = OA_SECRET,
                 app_secret: str = APP_SECRET, signs_with: str = "oa",
                 reply_window: timedelta = timedelta(hours=48), clock: Clock = SYSTEM_CLOCK,
                 retry_delays: Iterable[float] = (0.05, 0.1, 0.2, 0.4, 0.8),
                 host: str = "127.0.0.1") -> None:  # fmt: skip
        """``clock`` times the reply window, uploads, event timestamps and OAuth's tokens."""
        self.app_id, self.oa_secret, self.app_secret = app_id, oa_secret, app_secret
        self.signs_with = signs_with
        self.reply_window = reply_window
        self.clock = clock
        self.retry_delays = tuple(retry_delays)
        self.oauth = FakeZaloOAuth(app_id=app_id, secret=app_secret, clock=clock)
        self.host, self.port = host, 0
        self.make = EventBuilder(clock, app_id)
        self.webhook_url: str | None = None
        self.app = web.Application(client_max_size=16 * 1024 * 1024)
        self.app.router.add_post("/v3.0/oa/message/cs", self._send)
        self.app.router.add_post("/v2.0/oa/upload/{kind}", self._upload)
        self.app.router.add_get("/cdn/{name}", self._cdn)
        self.oauth.add_routes(self.app)
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._retrying: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()
        self._users = itertools.count(FIRST_USER + 1)
        self._ids = itertools.count(1)
        self.seen_tokens: set[str] = set()  # access tokens the bot presented
        self.revoked: set[str] = set()
        self.followers: set[str] = set()
        self.last_interaction: dict[str, datetime] = {}
        self.sent: list[ZaloMessage] = []
        self.refused: list[tuple[str, int]] = []  # (user, error) of sends answered an error
        self.uploads: dict[str, Upload] = {}
        self.upload_calls: Counter[str] = Counter()  # by kind, refused ones too
        self.faults: list[Fault] = []
        self.files: dict[str, tuple[bytes, int | None]] = {}  # CDN name -> (content, fail_after)
        self.downloads: Counter[str] = Counter()
        self.deliveries: list[tuple[str, int]] = []  # (event name, HTTP status) of each POST
        self.calls: Counter[str] = Counter()

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The API root to give the bot (``OCOP_ZALO_API_URL``)."""
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> FakeZaloOA:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        self._session = ClientSession(timeout=ClientTimeout(total=10))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in list(self._retrying):
            task.cancel()
        await asyncio.gather(*self._retrying, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- driving it from a test ---------------------------------------------------------------
    def expire_tokens(self) -> None:
        """Every access token the bot used so far is refused from now on (-216)."""
        self.revoked |= self.seen_tokens

    def new_user(self) -> str:
        return str(next(self._users))

    def add_user(self, user: str | None = None) -> str:
        """A follower who has just written to the OA (the reply window is open)."""
        user = user or self.new_user()
        self.followers.add(user)
        self.last_interaction[user] = self.clock.now()
        return user

    def fail(self, code: int, count: int = 1, user_id: str | None = None,
             endpoint: str = "send", after: int = 0) -> None:  # fmt: skip
        """Answer error ``code`` to ``count`` calls (of one user's sends) once ``after`` more
        went through; a positive ``code`` is an HTTP status (500) instead of Zalo's error."""
        self.faults.append(Fault(code, count, user_id, endpoint, after))

    def add_file(self, content: bytes, name: str = "file.bin", *,
                 fail_after: int | None = None) -> str:  # fmt: skip
        """A file a user sent, on the CDN; returns its URL."""
        key = f"{next(self._ids)}-{secrets.token_hex(4)}-{name}"
        self.files[key] = (content, fail_after)
        return f"{self.url}/cdn/{key}"

    def forget_upload(self, upload_id: str) -> None:
        self.uploads.pop(upload_id, None)

    def sent_to(self, user: str) -> list[ZaloMessage]:
        return [m for m in self.sent if m.user_id == user]

    def signature_for(self, body: bytes, timestamp: str, secret: str | None = None) -> str:
        secret = secret or (self.oa_secret if self.signs_with == "oa" else self.app_secret)
        return zalo_signature(self.app_id, body, timestamp, secret)

    async def post(self, event: dict[str, Any], *, signature: str | None = "",
                   body: bytes | None = None) -> int:  # fmt: skip
        """POST one event to the webhook once, signed (``signature`` "" = the right one,
        None = no header); returns the HTTP status (0: no answer)."""
        assert self.webhook_url and self._session is not None, "set webhook_url first"
        raw = body if body is not None else json.dumps(event, ensure_ascii=False).encode()
        if signature == "":
            signature = self.signature_for(raw, str(event.get("timestamp", "")))
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-ZEvent-Signature"] = signature
        name = str(event.get("event_name", ""))
        if name.startswith(INTERACTIONS):
            user = (event.get("sender") or event.get("follower") or {}).get("id")
            if user:
                self.last_interaction[user] = self.clock.now()
                if name == "follow":
                    self.followers.add(user)
        if name == "unfollow":
            self.followers.discard((event.get("follower") or {}).get("id"))
        try:
            async with self._session.post(self.webhook_url, data=raw, headers=headers) as resp:
                status = resp.status
        except Exception:
            status = 0
        self.deliveries.append((name, status))
        return status

    async def push(self, event: dict[str, Any]) -> int:
        """Deliver an event as Zalo does: POSTed, and POSTed again after each of
        ``retry_delays`` until answered 200 (in the background: :meth:`idle` waits for it).
        Returns the first answer's status."""
        status = await self.post(event)
        if status != 200 and self.retry_delays:
            task = asyncio.create_task(self._retry(event))
            self._retrying.add(task)
            task.add_done_callback(self._retrying.discard)
        return status

    async def _retry(self, event: dict[str, Any]) -> None:
        for delay in self.retry_delays:
            await asyncio.sleep(delay)  # the fake's own schedule, not the bot's clock
            if await self.post(event) == 200:
                return

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until no delivery is being retried."""
        async with asyncio.timeout(timeout):
            while self._retrying:
                await asyncio.gather(*list(self._retrying), return_exceptions=True)

    async def wait_sent(self, user: str, n: int = 1, timeout: float = 10.0) -> list[ZaloMessage]:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.sent_to(user)) >= n)
        return self.sent_to(user)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- the API ------------------------------------------------------------------------------
    def _fault(self, endpoint: str, user: str | None) -> None:
        for fault in self.faults:
            if fault.endpoint not in (endpoint, "any"):
                continue
            if fault.user_id is not None and fault.user_id != user:
                continue
            if fault.after > 0:
                fault.after -= 1
                continue
            fault.count -= 1
            if fault.count <= 0:
                self.faults.remove(fault)
            raise ApiError(fault.code)

    def _check_token(self, request: web.Request) -> None:
        token = request.headers.get("access_token", "")
        self.seen_tokens.add(token)
        if token in self.revoked or not self.oauth.valid(token):
            raise ApiError(-216)

    async def _send(self, request: web.Request) -> web.Response:
        self.calls["send"] += 1
        user = None
        try:
            self._check_token(request)
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(-201, "Body is not JSON") from None
            recipient = body.get("recipient") if isinstance(body, dict) else None
            user = recipient.get("user_id") if isinstance(recipient, dict) else None
            if not isinstance(user, str) or not user.isdigit():
                raise ApiError(-201, "recipient.user_id must be the user's id as text")
            self._fault("send", user)
            if user not in self.followers:
                raise ApiError(-213)
            last = self.last_interaction.get(user)
            if last is None or self.clock.now() - last > self.reply_window:
                raise ApiError(-230)
            message = self._message(user, body.get("message"))
        except ApiError as exc:
            self.refused.append((user or "", exc.code))
            return exc.response()
        self.sent.append(message)
        await self._notify()
        return web.json_response({"error": 0, "message": "Success", "data": {
            "message_id": message.message_id, "user_id": user}})  # fmt: skip

    def _message(self, user: str, message: Any) -> ZaloMessage:
        """What the user sees of a valid message; ApiError(-201) for an invalid one."""
        if not isinstance(message, dict) or not set(message) <= {"text", "attachment"}:
            raise ApiError(-201, "message must have text and/or attachment")
        text = message.get("text", "")
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise ApiError(-201, f"text must be at most {MAX_TEXT} characters")
        message_id = secrets.token_hex(16)
        attachment = message.get("attachment")
        if attachment is None:
            if not text.strip():
                raise ApiError(-201, "text is empty")
            return ZaloMessage(message_id, user, "text", text)
        if not isinstance(attachment, dict):
            raise ApiError(-201, "attachment must be an object")
        payload = attachment.get("payload")
        if not isinstance(payload, dict):
            raise ApiError(-201, "attachment.payload must be an object")
        if attachment.get("type") == "file":
            upload = self._known_upload(payload.get("token"), "file")
            if text:
                raise ApiError(-201, "a file message carries no text")
            return ZaloMessage(message_id, user, "file", "", upload=upload)
        if attachment.get("type") != "template":
            raise ApiError(-201, "attachment.type must be template or file")
        if "buttons" in payload:
            if not text.strip():
                raise ApiError(-201, "a message with buttons needs text")
            buttons = self._buttons(payload["buttons"])
            return ZaloMessage(message_id, user, "text", text, buttons=buttons)
        template = payload.get("template_type")
        elements = payload.get("elements")
        if (
            not isinstance(elements, list)
            or len(elements) != 1
            or not isinstance(elements[0], dict)
        ):
            raise ApiError(-201, "a template needs one element")
        element = elements[0]
        if template == "media":
            if element.get("media_type") != "image":
                raise ApiError(-201, "media_type must be image")
            upload = self._known_upload(element.get("attachment_id"), "image")
            return ZaloMessage(message_id, user, "image", text, upload=upload)
        if template == "request_user_info":
            title, subtitle = element.get("title"), element.get("subtitle", "")
            if not isinstance(title, str) or not 0 < len(title) <= MAX_TITLE:
                raise ApiError(-201, f"title must be 1 to {MAX_TITLE} characters")
            if not isinstance(subtitle, str) or len(subtitle) > MAX_SUBTITLE:
                raise ApiError(-201, f"subtitle must be at most {MAX_SUBTITLE} characters")
            image = element.get("image_url")
            if image is not None and not str(image).startswith(("https://", "http://")):
                raise ApiError(-201, "image_url must be a URL")
            if text:
                raise ApiError(-201, "a request_user_info card carries no text")
            plain = f"{title}\n{subtitle}".strip()
            return ZaloMessage(message_id, user, "request_user_info", plain, card=element)
        raise ApiError(-201, "unknown template_type")

    @staticmethod
    def _buttons(buttons: Any) -> list[SentButton]:
        if not isinstance(buttons, list) or not 0 < len(buttons) <= MAX_BUTTONS:
            raise ApiError(-201, f"a message has 1 to {MAX_BUTTONS} buttons")
        sent = []
        for button in buttons:
            title = button.get("title") if isinstance(button, dict) else None
            if not isinstance(title, str) or not 0 < len(title) <= MAX_TITLE:
                raise ApiError(-201, f"button titles are 1 to {MAX_TITLE} characters")
            kind, payload = button.get("type"), button.get("payload")
            if kind in QUERY_BUTTONS:
                if not isinstance(payload, str) or not 0 < len(payload) <= MAX_PAYLOAD:
                    raise ApiError(-201, f"a query payload is 1 to {MAX_PAYLOAD} characters")
            elif kind == "oa.open.url":
                url = payload.get("url") if isinstance(payload, dict) else None
                if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                    raise ApiError(-201, "oa.open.url needs payload.url")
            else:
                raise ApiError(-201, "unknown button type")
            sent.append(SentButton(title, kind, payload))
        return sent

    def _known_upload(self, upload_id: Any, kind: str) -> Upload:
        upload = self.uploads.get(upload_id) if isinstance(upload_id, str) else None
        if upload is None or upload.kind != kind:
            raise ApiError(-201, f"the {kind} upload is unknown")
        if self.clock.now() - upload.at > UPLOAD_LIFETIME:
            raise ApiError(-201, f"the {kind} upload has expired")
        return upload

    async def _upload(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        if kind not in ("image", "file"):
            raise web.HTTPNotFound()
        self.upload_calls[kind] += 1
        try:
            self._check_token(request)
            self._fault("upload", None)
            form = await request.post()
            given = form.get("file")
            if not isinstance(given, web.FileField):
                raise ApiError(-201, "file is missing")
            content = given.file.read()
            allowed = IMAGE_TYPES if kind == "image" else FILE_TYPES
            limit = MAX_IMAGE if kind == "image" else MAX_FILE
            if given.content_type not in allowed:
                raise ApiError(-201, f"an {kind} upload must be one of {sorted(allowed)}")
            if not content or len(content) > limit:
                raise ApiError(-210, f"an {kind} upload is 1 to {limit} bytes")
        except ApiError as exc:
            return exc.response()
        upload_id = secrets.token_hex(12)
        self.uploads[upload_id] = Upload(upload_id, kind, content, given.filename,
                                         given.content_type, self.clock.now())  # fmt: skip
        key = "attachment_id" if kind == "image" else "token"
        return web.json_response({"error": 0, "message": "Success", "data": {key: upload_id}})

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self.files:
            raise web.HTTPNotFound()
        self.downloads[name] += 1
        content, fail_after = self.files[name]
        if fail_after is None:
            return web.Response(body=content, content_type="application/octet-stream")
        response = web.StreamResponse()
        response.content_length = len(content)
        await response.prepare(request)
        await response.write(content[:fail_after])
        assert request.transport is not None
        request.transport.close()  # the connection drops half way
        return response
