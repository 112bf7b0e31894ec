"""What the platform adapters share: the inbox they store into, cutting long texts, reading
"/command args", reading a webhook body within a limit and checking its shared secret, setting
a webhook with back-off, one upload of a file at a time, remembering replies that were sent
in part, a reply's file from the blob store, and fetching a user's file from its address.

These are the pieces that are really the same on every platform; what differs (how a message,
a button or a file looks on the wire) stays in each adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

import aiohttp
from aiohttp import web

from bot.channels.base import DownloadError, FileTooLarge, Rejected, SendError, TextUnits
from bot.vocabulary import Attachment, Event, Reply
from storage.blobs import BlobCorrupted, BlobNotFound, BlobStore

__all__ = [
    "EventStore",
    "KeyedLocks",
    "PartlySent",
    "attachment_bytes",
    "fetch_at_most",
    "keep_trying",
    "parse_command",
    "read_json_object",
    "secret_matches",
    "split_text",
    "text_length",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


class EventStore(Protocol):
    """What an adapter needs from the engine: the durable, deduplicating inbox."""

    async def store(self, events: Sequence[Event]) -> int: ...

    async def park(self, channel: str, updates: Sequence[tuple[str, str, dict[str, Any]]]) -> int:
        """Keep updates that cannot be read (event id, reason, raw update)."""
        ...


def text_length(text: str, units: TextUnits) -> int:
    """The length of ``text`` as the platform counts it."""
    if units is TextUnits.UTF16:
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    return len(text)


def _fit(text: str, limit: int, units: TextUnits) -> int:
    """How many characters of ``text`` fit in ``limit`` units."""
    if units is TextUnits.CHARACTERS:
        return min(len(text), limit)
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return i
    return len(text)


def split_text(
    text: str, limit: int, first_limit: int | None = None, units: TextUnits = TextUnits.CHARACTERS
) -> list[str]:
    """Cut plain text into pieces of at most ``limit`` units (the first ``first_limit``), at
    paragraphs, lines or words."""
    parts: list[str] = []
    rest, budget = text, limit if first_limit is None else first_limit
    while text_length(rest, units) > budget:
        window = rest[: _fit(rest, budget, units)]
        cut, skip = len(window), 0
        for sep in ("\n\n", "\n", " "):
            if (at := window.rfind(sep)) >= max(1, budget // 3):
                cut, skip = at, len(sep)
                break
        parts.append(rest[:cut].rstrip())
        rest, budget = rest[cut + skip :].lstrip("\n"), limit
    parts.append(rest)
    return [p for p in parts if p.strip()] or [text]


def parse_command(text: str) -> tuple[str, str] | None:
    """``("start", "abc")`` for "/start abc" (also "/Start@bot abc"); None when ``text`` is not
    a command (a lone "/" or "/ something" is text)."""
    if not text.startswith("/") or len(text) < 2 or text[1].isspace():
        return None
    head, *rest = text.split(maxsplit=1)
    return head[1:].split("@", 1)[0].lower(), rest[0] if rest else ""


async def read_json_object(
    request: web.Request, limit: int, platform: str
) -> tuple[bytes, dict[str, Any]] | web.Response:
    """A webhook call's body, raw (a signature covers the bytes) and as the JSON object it must
    be; or the answer when it is not: 413 over ``limit`` bytes, 400 when it is not a JSON
    object (each logged, naming ``platform``)."""
    body = await _read_at_most(request, limit)
    if body is None:
        log.warning("refused a %s webhook body over %d bytes (413)", platform, limit)
        return web.Response(status=413)
    try:
        raw = json.loads(body)
    except ValueError:
        raw = None
    if not isinstance(raw, dict):
        log.warning("refused a %s webhook body that is not a JSON object (400)", platform)
        return web.Response(status=400)
    return body, raw


async def _read_at_most(request: web.Request, limit: int) -> bytes | None:
    """The request body, or None when it is longer than ``limit`` bytes."""
    if (request.content_length or 0) > limit:
        return None
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def secret_matches(given: str | None, expected: str) -> bool:
    """Whether a request's secret header is ``expected`` (compared in constant time); never
    when no secret is expected."""
    return bool(expected) and hmac.compare_digest((given or "").encode(), expected.encode())


async def keep_trying(
    stop: asyncio.Event,
    attempt: Callable[[], Awaitable[object]],
    backoff: tuple[float, float],
    what: str,
    log: logging.Logger,
) -> bool:
    """Run ``attempt`` until it succeeds (True) or ``stop`` is set (False); a :class:`SendError`
    is logged as ``what`` failing and tried again after a delay doubling from ``backoff[0]``
    up to ``backoff[1]`` seconds (setting a webhook once the HTTP server listens)."""
    delay = backoff[0]
    while not stop.is_set():
        try:
            await attempt()
            return True
        except SendError as exc:
            log.error("%s failed (%s); retrying in %.0f s", what, exc, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, backoff[1])
    return False


class KeyedLocks:
    """One lock per key, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users > 1:
                self._locks[key] = (lock, users - 1)
            else:
                del self._locks[key]


class PartlySent(Generic[T]):
    """Replies of several messages that were sent in part (a rate limit or a network error
    after some of them): how many went and the last one's id, so that the retry sends only
    the rest. Sending it all again would repeat them (and, under a per-chat limit, for ever).
    At most ``kept`` are remembered; the oldest are given up by then."""

    def __init__(self, kept: int = 1000) -> None:
        self.kept = kept
        self._sent: dict[tuple[str, str], tuple[int, T]] = {}

    @staticmethod
    def key(chat_id: str, reply: Reply) -> tuple[str, str]:
        """What identifies a reply to a chat (the same reply queued again is the same key)."""
        return chat_id, json.dumps(reply.to_json(), sort_keys=True, ensure_ascii=False)

    def pop(self, key: tuple[str, str]) -> tuple[int, T] | None:
        """(messages already sent, the last one's id), forgotten now; None: nothing went."""
        return self._sent.pop(key, None)

    def remember(self, key: tuple[str, str], done: int, last_id: T) -> None:
        while len(self._sent) >= self.kept:
            del self._sent[next(iter(self._sent))]
        self._sent[key] = (done, last_id)


async def attachment_bytes(blobs: BlobStore | None, attachment: Attachment, channel: str) -> bytes:
    """A reply's file from the blob store; :class:`Rejected` when it cannot be had (no store,
    no such blob, bytes that fail their hash, nothing): retrying will not help."""
    what = f"attachment {attachment.name!r} (blob {attachment.sha256})"
    if blobs is None:
        raise Rejected(f"{what}: this {channel} channel has no blob store")
    try:
        data = await blobs.get(attachment.sha256)
    except BlobNotFound:
        raise Rejected(f"{what} is not in the blob store") from None
    except BlobCorrupted as exc:
        raise Rejected(f"{what} failed verification: {exc}") from None
    except ValueError as exc:  # not a SHA-256
        raise Rejected(f"{what}: {exc}") from None
    if not data:
        raise Rejected(f"{what} is empty")
    return data


async def fetch_at_most(
    session: aiohttp.ClientSession,
    url: str,
    max_bytes: int,
    *,
    declared: int | None = None,
    what: str = "file",
    timeout: aiohttp.ClientTimeout | None = None,
) -> bytes:
    """GET a user's file from its web address (a platform's CDN), refusing more than
    ``max_bytes``: by the size the platform ``declared``, the Content-Length, and while
    reading (:class:`FileTooLarge`); anything else that goes wrong is a :class:`DownloadError`.
    The address is the user's file: used here, never logged."""
    if declared is not None and declared > max_bytes:
        raise FileTooLarge(declared, max_bytes)
    if not url.startswith(("https://", "http://")):
        raise DownloadError(f"the {what} has no web address")
    data, length = bytearray(), 0
    try:
        async with session.get(url, timeout=timeout) as response:
            if response.status != 200:
                raise DownloadError(f"{what} download answered HTTP {response.status}")
            if (length := response.content_length or 0) > max_bytes:
                raise FileTooLarge(length, max_bytes)
            async for chunk in response.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > max_bytes:
                    raise FileTooLarge(len(data), max_bytes)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DownloadError(f"{what} download failed: {type(exc).__name__}") from None
    if length and len(data) != length:
        raise DownloadError(f"{what} download cut short: {len(data)} of {length} bytes")
    return bytes(data)
