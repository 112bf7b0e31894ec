"""Zalo Official Account channel: webhook events in, replies out through the OA API, files down.

In: ``POST /zalo/webhook``. The body is read within :data:`MAX_WEBHOOK_BODY`, its signature
checked (:mod:`bot.channels.zalo_oa_events`: SHA-256 of app id, body, timestamp and the OA
secret key or the app secret, as the ``zalo_signature_secret`` setting says), its event stored
with ``engine.store`` and only then answered 200 — nothing else runs in the request, so Zalo's
two seconds are kept. Zalo sends a call again when it did not get 200 (after 30 s, 5 min…): the
inbox is unique on the message's ``msg_id``. An event that cannot be read is parked, answered
200; receipts and unknown events are answered 200 and dropped.

Out: ``POST /v3.0/oa/message/cs`` with the ``access_token`` header (from an
:class:`AccessTokens` keeper; a token Zalo refuses, -216/-220, is refreshed once and the call
made again). Plain text in pieces of 2,000 characters, the title as a first line; buttons as a
template (:data:`MAX_BUTTONS` at most: more become a numbered list in ``fit_reply``) on the last
piece, each tap coming back as the user's hidden text ``#b:<payload>``; link buttons open the
page; a contact button as a ``request_user_info`` card after the text (the answer is a
``user_submit_info`` event). Zalo answers errors with HTTP 200 and a non-zero ``error``:
-32 → :class:`RetryLater`; -213 (not a follower), -217/-244 (blocked, restricted) →
:class:`Unreachable`; -230/-232 (the reply window is closed) → :class:`OutsideWindow`; -201 and
any other → :class:`Rejected`; network errors and HTTP 5xx → :class:`TransientError`. A reply
sent in part goes on from the first message that did not go.

Files: a reply's attachment goes first, uploaded from the blob store — JPEG/PNG up to 1 MB as a
picture (``/v2.0/oa/upload/image``, sent as a media template carrying the reply's text when it
has no buttons), PDF/DOC/DOCX up to 5 MB as a file (``/v2.0/oa/upload/file``). The id Zalo gives
back is kept per SHA-256 for :data:`UPLOAD_KEPT` (Zalo keeps them about 7 days) and named on
later sends; a send by a kept id that is refused is tried once more with a fresh upload. Any
other file (a bigger one, a spreadsheet) cannot go on Zalo: the reply goes with the note every
channel adds for a file it cannot show ("ask your commune office for it"), and the log says why.
A missing or corrupted blob is :class:`Rejected`, as on Telegram.

Zalo OA has no "typing…" action: :meth:`working` does nothing. Downloads fetch the CDN URL of
the user's attachment (no token), with the size checked before and while reading.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from bot.channels.base import (
    BaseChannel,
    Capabilities,
    OutsideWindow,
    Rejected,
    RetryLater,
    SendError,
    TextUnits,
    TransientError,
    Unreachable,
    fit_reply,
)
from bot.channels.common import (
    EventStore,
    KeyedLocks,
    PartlySent,
    attachment_bytes,
    fetch_at_most,
    read_json_object,
    split_text,
)
from bot.channels.zalo_oa_events import (
    BUTTON_PREFIX,
    SIGNATURE_HEADER,
    Unreadable,
    event_id_of,
    matching_variant,
    read_event,
    timestamp_of,
)
from bot.i18n import translator
from bot.vocabulary import Attachment, Button, FileRef, Reply
from storage.blobs import BlobStore
from storage.clock import SYSTEM_CLOCK, Clock

__all__ = ["WEBHOOK_PATH", "AccessTokens", "ZaloOAChannel"]

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/zalo/webhook"
MAX_WEBHOOK_BODY = 256 * 1024  # Zalo's events are a few KiB
MAX_TEXT = 2000  # characters of a message
MAX_BUTTONS = 5  # template buttons Zalo shows under a message
# Zalo takes titles of up to 100 characters but shows about 35 on a phone: longer ones are cut
# with "…" (fit_reply) rather than wrapped out of sight.
BUTTON_LABEL = 35
MAX_CARD_TITLE, MAX_CARD_SUBTITLE = 100, 500  # the request_user_info card's texts
MAX_IMAGE_BYTES = 1024 * 1024  # /upload/image: JPEG or PNG
MAX_FILE_BYTES = 5 * 1024 * 1024  # /upload/file: PDF, DOC, DOCX
FILE_TYPES = frozenset({
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
})  # fmt: skip
UPLOAD_KEPT = timedelta(days=6)  # Zalo keeps an upload about 7 days
UPLOADS_KEPT = 1000  # uploaded ids remembered at most (the least used forgotten)
PARTLY_SENT_KEPT = 1000
TOKEN_ERRORS = frozenset({-216, -220})  # the access token is invalid or expired
RATE_LIMITED = -32
RATE_LIMIT_PAUSE = 30.0  # seconds; Zalo's limit is counted per minute and says no more
UNREACHABLE = {-213: "not a follower of the OA", -217: "the user blocked the OA",
               -244: "the user restricted the OA"}  # fmt: skip
WINDOW_CLOSED = frozenset({-230, -232})
SLOW_WEBHOOK = 1.5  # seconds; Zalo gives up on a call after 2


class AccessTokens(Protocol):
    """The OA's access token: the current one, and a fresh one once Zalo refused it
    (``bot/channels/zalo_tokens.py``: ``ZaloTokenKeeper``)."""

    async def current(self) -> str: ...

    async def refresh_after(self, rejected: str) -> str: ...


@dataclass(frozen=True, slots=True)
class _Part:
    """One Zalo message of a reply: text (with the buttons on it), the reply's file (carrying
    ``text`` when it is a picture), or the phone number request card."""

    text: str = ""
    buttons: tuple[Button, ...] = ()
    file: bool = False
    ask_phone: str = ""  # the card's title


@dataclass(frozen=True, slots=True)
class _Uploaded:
    """How Zalo knows an uploaded blob: ``image`` (an attachment_id) or ``file`` (a token)."""

    kind: str
    id: str
    at: datetime
    kept: bool = False  # named from memory (not just uploaded)


class _CannotGo(Exception):
    """The reply's file cannot be sent on Zalo (its type or size); the reason is logged."""


class ZaloOAChannel(BaseChannel):
    """The Zalo OA adapter: the webhook route, the OA API for replies, the CDN for files."""

    name = "zalo_oa"

    def __init__(self, app_id: str, api_url: str, tokens: AccessTokens, engine: EventStore, *,
                 signature_variants: Sequence[tuple[str, str]], reply_window_hours: float = 48.0,
                 send_rate: float | None = None, blobs: BlobStore | None = None,
                 info_image_url: str = "", clock: Clock = SYSTEM_CLOCK,
                 timeout: float = 30.0) -> None:  # fmt: skip
        """``signature_variants`` are the (name, secret) pairs a webhook call may be signed with
        (:func:`bot.channels.zalo_oa_events.signature_variants`); ``blobs`` holds the files
        replies carry; ``info_image_url`` is the picture on the phone number request card."""
        self.app_id = app_id
        self.api_url = api_url.rstrip("/")
        self.tokens = tokens
        self.engine = engine
        self.variants = list(signature_variants)
        self.blobs = blobs
        self.info_image_url = info_image_url
        self.clock = clock
        self.capabilities = Capabilities(
            buttons_per_message=MAX_BUTTONS,
            url_buttons=True,
            buttons_per_row=1,
            button_label_length=BUTTON_LABEL,
            reply_keyboard=False,
            contact_request=True,
            file_kinds=frozenset({"document", "photo"}),
            sends_files=frozenset({"document", "photo"}),
            caption_limit=MAX_TEXT,
            text_limit=MAX_TEXT,
            text_units=TextUnits.CHARACTERS,
            reply_window=timedelta(hours=reply_window_hours),
            send_rate=send_rate,
        )
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=10.0)
        self._session: aiohttp.ClientSession | None = None
        self._partly_sent = PartlySent[str](PARTLY_SENT_KEPT)
        self._uploads: OrderedDict[str, _Uploaded] = OrderedDict()  # by the blob's SHA-256
        self._uploading = KeyedLocks()
        self._matched: set[str] = set()  # signature variants seen matching (logged once each)

    # -- life cycle -------------------------------------------------------------------------
    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- in: the webhook --------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        """``POST /zalo/webhook`` (set this URL in the app's webhook settings on Zalo)."""
        app.router.add_post(WEBHOOK_PATH, self._webhook)

    async def _webhook(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        read = await read_json_object(request, MAX_WEBHOOK_BODY, "Zalo OA")
        if isinstance(read, web.Response):
            return read
        body, raw = read
        header = request.headers.get(SIGNATURE_HEADER)
        matched = matching_variant(header, self.app_id, body, timestamp_of(raw), self.variants)
        if matched is None:
            tried = ", ".join(name for name, _secret in self.variants)
            why = "no signature header" if not header else "the signature does not match"
            log.warning("refused a Zalo webhook call: %s (%s; tried: %s)", why, SIGNATURE_HEADER,
                        tried)  # fmt: skip
            return web.Response(status=401)
        if matched not in self._matched:
            self._matched.add(matched)
            log.info("Zalo webhook calls are signed with the %s", matched)
        try:
            await self._receive(raw)
        except Exception as exc:  # the error may quote the event: only its type
            log.error("storing a Zalo event (%s) failed (%s)", event_id_of(raw) or "no id",
                      type(exc).__name__)  # fmt: skip
            return web.Response(status=500)  # Zalo sends it again
        if (took := time.monotonic() - started) > SLOW_WEBHOOK:
            log.warning("a Zalo webhook call took %.1f s to store (Zalo waits 2 s)", took)
        return web.Response(status=200)

    async def _receive(self, raw: dict[str, Any]) -> None:
        """Store the body's events; park it when it cannot be read; drop what is not for us."""
        name = str(raw.get("event_name") or "")[:40]
        try:
            events = read_event(raw, self.name)
        except Unreadable as problem:
            # A body without ids is still parked once, however often Zalo sends it.
            digest = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()
            event_id = event_id_of(raw) or f"unreadable:{digest[:32]}"
            log.warning("Zalo event %s (%s) cannot be read: %s; parked", event_id, name, problem)
            await self.engine.park(self.name, [(event_id, str(problem), raw)])
            return
        if events:
            await self.engine.store(events)
        else:
            log.debug("Zalo event %s acknowledged, nothing to do", name)

    # -- out: replies -----------------------------------------------------------------------
    def _parts(self, reply: Reply) -> list[_Part]:
        """The messages a reply goes as: its file first (a picture carrying the whole reply
        when it has no buttons and fits), the text in pieces with the buttons on the last,
        then the phone number request card."""
        buttons = tuple(b for row in reply.buttons for b in row)
        plain = reply.plain_text()
        parts: list[_Part] = []
        texts: list[str] = []
        if plain.strip():
            first = MAX_TEXT - (len(reply.title) + 1 if reply.title else 0)
            texts = split_text(reply.text, MAX_TEXT, max(first, 1)) if reply.text else [""]
            if reply.title:
                texts[0] = f"{reply.title}\n{texts[0]}".rstrip("\n")
        if reply.attachment is not None:
            caption = reply.attachment.is_photo and not buttons and len(texts) == 1
            parts.append(_Part(text=texts[0] if caption else "", file=True))
            texts = [] if caption else texts
        if buttons and not texts:  # nothing to say but the buttons
            texts = [translator(reply.locale).gettext("Or tap a button:")]
        parts += [_Part(text) for text in texts[:-1]]
        if texts:
            parts.append(_Part(texts[-1], buttons=buttons))
        if reply.contact_button:
            parts.append(_Part(ask_phone=reply.contact_button))
        return parts

    async def deliver(self, chat_id: str, reply: Reply) -> str:
        """Send a reply (several messages if needed); returns the last message's id."""
        try:
            return await self._deliver(chat_id, reply)
        except _CannotGo as exc:  # raised before anything went: the file is the first message
            log.info("a file for %s:%s cannot go on Zalo (%s); sent with a note instead",
                     self.name, chat_id, exc)  # fmt: skip
            without = replace(self.capabilities, sends_files=frozenset())
            return await self._deliver(chat_id, fit_reply(reply, without))

    async def _deliver(self, chat_id: str, reply: Reply) -> str:
        parts = self._parts(reply)
        if not parts:
            raise Rejected("the reply has nothing to send")
        # Only a reply of several messages can be sent in part: a single one is not looked up.
        key = PartlySent.key(chat_id, reply) if len(parts) > 1 else None
        done, message_id = (self._partly_sent.pop(key) if key else None) or (0, "")
        for i, part in enumerate(parts):
            if i < done:
                continue
            try:
                message_id = await self._send_part(chat_id, reply, part)
            except (RetryLater, TransientError, asyncio.CancelledError):  # retried later
                if i and key:  # … from this message on
                    self._partly_sent.remember(key, i, message_id)
                raise
        return message_id

    async def _send_part(self, chat_id: str, reply: Reply, part: _Part) -> str:
        if part.file and reply.attachment is not None:
            return await self._send_file(chat_id, reply.attachment, part.text)
        if part.ask_phone:
            return await self._send_message(chat_id, self._phone_card(reply, part.ask_phone))
        message: dict[str, Any] = {"text": part.text}
        if part.buttons:
            buttons = [_button(b) for b in part.buttons]
            message["attachment"] = {"type": "template", "payload": {"buttons": buttons}}
        return await self._send_message(chat_id, message)

    def _phone_card(self, reply: Reply, title: str) -> dict[str, Any]:
        """The request_user_info card: the user taps it and shares their Zalo profile's phone
        number (a ``user_submit_info`` event)."""
        subtitle = translator(reply.locale).gettext(
            "Tap here to send the phone number of your Zalo account."
        )
        element = {"title": title[:MAX_CARD_TITLE], "subtitle": subtitle[:MAX_CARD_SUBTITLE]}
        if self.info_image_url:
            element["image_url"] = self.info_image_url
        return {"attachment": {"type": "template", "payload": {
            "template_type": "request_user_info", "elements": [element]}}}  # fmt: skip

    async def _send_message(self, chat_id: str, message: dict[str, Any]) -> str:
        body = {"recipient": {"user_id": chat_id}, "message": message}
        data = await self._call("/v3.0/oa/message/cs", json_body=body)
        return str(data.get("message_id") or "")

    # -- files out --------------------------------------------------------------------------
    async def _send_file(self, chat_id: str, attachment: Attachment, caption: str) -> str:
        """Send a blob by the id Zalo gave for it, else upload it first (once at a time). A
        kept id that Zalo refuses is forgotten and the file uploaded again, once."""
        uploaded = await self._upload_once(attachment)
        try:
            return await self._send_message(chat_id, _file_message(uploaded, caption))
        except Rejected as exc:
            if not uploaded.kept:
                raise
            log.warning("Zalo refused the kept upload of %s (blob %s: %s); uploading it again",
                        attachment.name, attachment.sha256, exc)  # fmt: skip
        async with self._uploading.hold(attachment.sha256):
            if self._uploads.get(attachment.sha256) == replace(uploaded, kept=False):
                del self._uploads[attachment.sha256]
        uploaded = await self._upload_once(attachment)
        return await self._send_message(chat_id, _file_message(uploaded, caption))

    async def _upload_once(self, attachment: Attachment) -> _Uploaded:
        sha = attachment.sha256
        if (known := self._known_upload(sha)) is not None:
            return known
        async with self._uploading.hold(sha):
            if (known := self._known_upload(sha)) is not None:
                return known
            data = await self._blob(attachment)
            kind = _upload_kind(attachment, len(data))
            form = _form(data, attachment)
            answer = await self._call(f"/v2.0/oa/upload/{kind}", form=form)
            upload_id = str(answer.get("attachment_id" if kind == "image" else "token") or "")
            if not upload_id:
                raise TransientError(f"Zalo's upload of {kind} answered no id")
            uploaded = _Uploaded(kind, upload_id, self.clock.now())
            self._uploads[sha] = uploaded
            while len(self._uploads) > UPLOADS_KEPT:
                self._uploads.popitem(last=False)
            return uploaded

    def _known_upload(self, sha256: str) -> _Uploaded | None:
        known = self._uploads.get(sha256)
        if known is None:
            return None
        if self.clock.now() - known.at > UPLOAD_KEPT:  # Zalo forgets it soon: upload again
            del self._uploads[sha256]
            return None
        self._uploads.move_to_end(sha256)
        return replace(known, kept=True)

    async def _blob(self, attachment: Attachment) -> bytes:
        """The attachment's bytes; :class:`Rejected` when they cannot be had."""
        return await attachment_bytes(self.blobs, attachment, "Zalo")

    # -- the API ----------------------------------------------------------------------------
    async def _call(
        self,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
    ) -> dict[str, Any]:
        """POST to the OA API with the access token; a refused token is refreshed once.
        Returns the answer's ``data``; raises the :class:`SendError` Zalo's error maps to."""
        token = await self._token(self.tokens.current)
        answer = await self._post(path, token, json_body, form)
        if _error(answer) in TOKEN_ERRORS:
            log.info("Zalo refused the access token (error %s); refreshing it", _error(answer))
            token = await self._token(lambda: self.tokens.refresh_after(token))
            answer = await self._post(path, token, json_body, form)
            if _error(answer) in TOKEN_ERRORS:
                raise TransientError(f"Zalo refused a fresh access token too ({_what(answer)})")
        if (error := _error(answer)) != 0:
            raise _refusal(error, _what(answer))
        data = answer.get("data")
        return data if isinstance(data, dict) else {}

    @staticmethod
    async def _token(get: Callable[[], Any]) -> str:
        try:
            token = await get()
        except SendError:  # the keeper's own verdict (ZaloAuthFailed waits, network back-off)
            raise
        except Exception as exc:  # anything else may quote a token: only its type
            raise TransientError(f"no Zalo access token ({type(exc).__name__})") from None
        if not isinstance(token, str) or not token:
            raise TransientError("no Zalo access token")
        return token

    async def _post(self, path: str, token: str, json_body: dict[str, Any] | None,
                    form: Callable[[], aiohttp.FormData] | None) -> dict[str, Any]:  # fmt: skip
        try:
            async with self._client().post(
                self.api_url + path,
                headers={"access_token": token},
                json=json_body,
                data=form() if form is not None else None,
            ) as response:
                if response.status == 429:
                    raise RetryLater(RATE_LIMIT_PAUSE, "Zalo answered HTTP 429")
                if response.status >= 500:
                    raise TransientError(f"Zalo answered HTTP {response.status}")
                if response.status != 200:
                    raise Rejected(f"Zalo answered HTTP {response.status}")
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"Zalo API call failed: {type(exc).__name__}") from None
        except ValueError:
            raise TransientError("Zalo answered something that is not JSON") from None
        if not isinstance(answer, dict):
            raise TransientError("Zalo answered something that is not a JSON object")
        return answer

    # -- files in ---------------------------------------------------------------------------
    async def download(self, file: FileRef, max_bytes: int) -> bytes:
        """Fetch a user's attachment from Zalo's CDN, refusing more than ``max_bytes`` (before,
        by the size Zalo declared or the Content-Length, and while reading)."""
        return await fetch_at_most(self._client(), file.file_id, max_bytes, declared=file.size)


def _button(button: Button) -> dict[str, Any]:
    if button.url:
        return {"title": button.label, "type": "oa.open.url", "payload": {"url": button.url}}
    return {"title": button.label, "type": "oa.query.hide",
            "payload": BUTTON_PREFIX + button.payload}  # fmt: skip


def _upload_kind(attachment: Attachment, size: int) -> str:
    """ "image" or "file": how Zalo takes this file; :class:`_CannotGo` when it takes none."""
    if attachment.is_photo and size <= MAX_IMAGE_BYTES:
        return "image"
    if attachment.mime_type in FILE_TYPES and size <= MAX_FILE_BYTES:
        return "file"
    limit = MAX_IMAGE_BYTES if attachment.is_photo else MAX_FILE_BYTES
    if attachment.is_photo or attachment.mime_type in FILE_TYPES:
        raise _CannotGo(f"{attachment.name!r} is {size} bytes, over Zalo's {limit}")
    raise _CannotGo(f"{attachment.name!r} is {attachment.mime_type}, which Zalo does not send")


def _form(data: bytes, attachment: Attachment) -> Callable[[], aiohttp.FormData]:
    """A fresh multipart body for each try (a FormData is spent once sent)."""

    def make() -> aiohttp.FormData:
        form = aiohttp.FormData()
        form.add_field("file", data, filename=attachment.name, content_type=attachment.mime_type)
        return form

    return make


def _file_message(uploaded: _Uploaded, caption: str) -> dict[str, Any]:
    if uploaded.kind == "image":
        media = {"template_type": "media",
                 "elements": [{"media_type": "image", "attachment_id": uploaded.id}]}  # fmt: skip
        message: dict[str, Any] = {"attachment": {"type": "template", "payload": media}}
        if caption:
            message["text"] = caption
        return message
    return {"attachment": {"type": "file", "payload": {"token": uploaded.id}}}


def _error(answer: dict[str, Any]) -> int:
    error = answer.get("error", 0)
    return error if isinstance(error, int) and not isinstance(error, bool) else -1


def _what(answer: dict[str, Any]) -> str:
    message = answer.get("message")
    text = message[:200] if isinstance(message, str) else ""
    return f"Zalo error {_error(answer)}: {text}".rstrip(": ")


def _refusal(error: int, what: str) -> SendError:
    """The send error a non-zero Zalo ``error`` means."""
    if error == RATE_LIMITED:
        return RetryLater(RATE_LIMIT_PAUSE, what)
    if error in UNREACHABLE:
        return Unreachable(f"{what} ({UNREACHABLE[error]})")
    if error in WINDOW_CLOSED:
        return OutsideWindow(what)
    return Rejected(what)
