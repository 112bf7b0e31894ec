"""Signed, expiring web addresses for pictures of the blob store, for platforms that take a
photo only by URL and fetch it themselves (the Zalo Bot Platform's ``sendPhoto``).

``GET <prefix>/<sha256>/<expires>/<signature>`` answers the blob's bytes when the signature is
an HMAC-SHA256 (a key of the channel, over the hash and the expiry, in Unix seconds) and the
expiry has not passed by the clock; a forged or expired address is refused (403), as is any
blob that is not a JPEG or PNG picture by its bytes (404: no other file goes out this way).
Nothing else of the store can be named: the address carries the content's hash, which only
someone who has the file knows.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta

from aiohttp import web

from bot.filetypes import FileKind, detect
from storage.blobs import BlobCorrupted, BlobNotFound, BlobStore, checked_hash
from storage.clock import SYSTEM_CLOCK, Clock

__all__ = ["LINK_LIFETIME", "FileLinks"]

log = logging.getLogger(__name__)

# How long an address works. The platform fetches the picture when the message is sent, maybe
# again later (unconfirmed whether it keeps a copy), so a day rather than minutes.
LINK_LIFETIME = timedelta(hours=24)
PICTURES = {FileKind.JPEG: "image/jpeg", FileKind.PNG: "image/png"}
NOSNIFF = {"X-Content-Type-Options": "nosniff"}
SIGNATURE_HEX = 32  # 128 bits of the HMAC


class FileLinks:
    """Makes and serves the signed addresses of one channel (its own ``key``)."""

    def __init__(
        self,
        key: bytes,
        public_url: str,
        blobs: BlobStore,
        prefix: str,
        *,
        clock: Clock = SYSTEM_CLOCK,
        lifetime: timedelta = LINK_LIFETIME,
    ) -> None:
        """``public_url`` is where the platform reaches our HTTP server (``OCOP_PUBLIC_URL``);
        ``prefix`` the route's path (``/zalo-bot/files``)."""
        self._key = key
        self.base = public_url.rstrip("/") + prefix
        self.blobs = blobs
        self.prefix = prefix
        self.clock = clock
        self.lifetime = lifetime

    @staticmethod
    def key_from(secret: str, purpose: str) -> bytes:
        """A key for ``purpose`` derived from a secret the channel already has (its token)."""
        return hmac.new(secret.encode(), f"ocop file links: {purpose}".encode(), "sha256").digest()

    def url_for(self, sha256: str) -> str:
        """A signed address of blob ``sha256`` that works for :attr:`lifetime` from now."""
        expires = int((self.clock.now() + self.lifetime).timestamp())
        return f"{self.base}/{checked_hash(sha256)}/{expires}/{self._sign(sha256, expires)}"

    def _sign(self, sha256: str, expires: int) -> str:
        message = f"{sha256}/{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:SIGNATURE_HEX]

    def routes(self, app: web.Application) -> None:
        app.router.add_get(self.prefix + "/{sha}/{expires}/{signature}", self.serve)

    async def serve(self, request: web.Request) -> web.Response:
        sha, expires, signature = (request.match_info[k] for k in ("sha", "expires", "signature"))
        try:
            checked_hash(sha)
            until = int(expires) if expires.isascii() and expires.isdigit() else -1
        except ValueError:
            until = -1
        if until < 0 or len(expires) > 12:
            return web.Response(status=404)
        if not hmac.compare_digest(signature.encode(), self._sign(sha, until).encode()):
            log.warning("refused a file link with a wrong signature (403) from %s", request.remote)
            return web.Response(status=403)
        if until < self.clock.now().timestamp():
            log.info("refused an expired file link (403)")
            return web.Response(status=403)
        try:
            data = await self.blobs.get(sha)
        except (BlobNotFound, BlobCorrupted) as exc:
            log.warning("a signed file link names a blob that cannot be read: %s", exc)
            return web.Response(status=404)
        kind = detect(data).kind
        if kind not in PICTURES:
            log.warning("a signed file link names blob %s, not a JPEG or PNG: refused", sha)
            return web.Response(status=404)
        return web.Response(
            body=data,
            content_type=PICTURES[kind],
            headers={"Cache-Control": "private, max-age=3600", **NOSNIFF},
        )
