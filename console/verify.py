"""The public certificate page ``/verify/<number>`` (no sign-in): what a consumer scanning a
product's QR code sees — whether the certificate is valid, expired or revoked (when and on which
ground), for which product, producer (commune, province) and star level, issued when and by
whom, valid until when.

A number is checked first by its check character (``storage.certificates.normalise_number``):
a mistyped or made-up one is answered "not a valid number" without touching the database. The
page cannot be used to enumerate certificates: numbers are random, every lookup counts against
the client's address (:data:`LOOKUPS` per :data:`WINDOW` seconds, a token bucket on the
Clock; then 429 with a page saying when to try again), and search engines are told not to index
it (``X-Robots-Tag`` and the robots meta). The language is the visitor's (``Accept-Language``,
Vietnamese or English; ``?lang=`` switches). The bucket is per process: with several processes
the limit is that many times higher.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.i18n import LOCALES, N_, translator
from bot.ratelimit import PerKeyBuckets, TokenBucket
from bot.results_notify import GROUNDS, stars_text
from console.config import ConsoleConfig
from console.render import html_page
from console.security import HEADERS, client_address
from storage.certificates import (
    CertificateState,
    certificate_row_by_number,
    certificate_state,
    normalise_number,
)
from storage.clock import local_date

__all__ = ["LOOKUPS", "WINDOW", "mount_verify"]

LOOKUPS = 30  # lookups a client address may make…
WINDOW = 600  # …per this many seconds
VERIFY = web.AppKey("verify_config", ConsoleConfig)
LIMITS = web.AppKey("verify_limits", PerKeyBuckets[TokenBucket])
ROBOTS = {"X-Robots-Tag": "noindex, nofollow, noarchive"}
TITLES = {
    CertificateState.VALID: N_("Valid OCOP certificate"),
    CertificateState.EXPIRED: N_("This OCOP certificate has expired"),
    CertificateState.REVOKED: N_("This OCOP certificate was revoked"),
    "unknown": N_("No OCOP certificate has this number"),
    "invalid": N_("This is not a valid certificate number"),
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def mount_verify(web_app: web.Application, config: ConsoleConfig) -> None:
    """Add ``/verify/{number}`` to the bot's application (beside ``/console/``)."""
    web_app[VERIFY] = config
    web_app[LIMITS] = PerKeyBuckets(TokenBucket, LOOKUPS / WINDOW, LOOKUPS, clock=config.clock)
    web_app.router.add_get("/verify/{number}", verify_page, name="verify")


def _locale(request: web.Request, default: str) -> str:
    """``?lang=``, else the first of Vietnamese or English the browser asks for."""
    chosen = request.query.get("lang", "")
    if chosen in LOCALES:
        return chosen
    best: tuple[float, str] | None = None
    for part in request.headers.get("Accept-Language", "").split(","):
        tag, _, params = part.strip().partition(";")
        language = tag.strip().lower().split("-")[0]
        if language not in LOCALES:
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if best is None or quality > best[0]:
            best = (quality, language)
    return best[1] if best is not None else default


def _respond(request: web.Request, locale: str, status: int, **context: object) -> web.Response:
    response = html_page("verify.html", locale, status=status, path=request.path, **context)
    response.headers.update(HEADERS)
    response.headers.update(ROBOTS)
    return response


async def verify_page(request: web.Request) -> web.Response:
    config = request.app[VERIFY]
    locale = _locale(request, config.default_locale)
    bucket = request.app[LIMITS].get(client_address(request, config.forwarded_for))
    wait = bucket.wait_time()
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        response = _respond(request, locale, 429, state="limited", minutes=minutes)
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    bucket.take()
    typed = request.match_info["number"]
    number = normalise_number(typed)
    if number is None:
        return _respond(
            request, locale, 404, state="invalid", title=TITLES["invalid"], number=typed[:40]
        )
    async with config.db.sessions() as session:
        row = await certificate_row_by_number(session, number)
    if row is None:
        return _respond(
            request, locale, 404, state="unknown", title=TITLES["unknown"], number=number
        )
    state = certificate_state(row.certificate, local_date(config.clock))
    t = translator(locale)
    ground = GROUNDS.get(row.certificate.revoked_ground or "")
    return _respond(
        request,
        locale,
        200,
        state=state,
        title=TITLES[state],
        number=number,
        row=row,
        c=row.certificate,
        stars=stars_text(row.certificate.stars),
        ground=t.gettext(ground) if ground else "",
    )
