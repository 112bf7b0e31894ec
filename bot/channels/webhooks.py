"""What every webhook channel does the same way: read a bounded body, check the shared secret
in constant time, and set the webhook once the HTTP server listens, retrying with back-off."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.channels.base import SendError

__all__ = ["keep_trying", "read_at_most", "secret_matches"]


async def read_at_most(request: web.Request, limit: int) -> bytes | None:
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
    up to ``backoff[1]`` seconds."""
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
