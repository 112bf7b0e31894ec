"""What guards every console request: security headers on every response; a live session for
every page but sign-in and the style sheet (else a redirect to ``/console/login``, or 403 for a
form); the session's CSRF token on every form posted.

Cookies are HttpOnly, SameSite and, with ``OCOP_CONSOLE_SECURE_COOKIES``, Secure. The sign-in
form, which has no session yet, carries a token that must match a cookie set with the form.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Literal

from aiohttp import web

from console.config import CONFIG, ConsoleConfig
from console.render import render
from storage.signin import SignedIn, find_session, touch_session

__all__ = [
    "CSRF_FIELD",
    "LOGIN_CSRF_COOKIE",
    "PUBLIC_ROUTES",
    "SESSION_COOKIE",
    "UPLOAD_ROUTES",
    "client_address",
    "forbidden_page",
    "guard",
    "security_headers",
    "set_cookie",
    "signed_in",
    "tokens_match",
]

SESSION_COOKIE = "ocop_console"
LOGIN_CSRF_COOKIE = "ocop_console_login"
CSRF_FIELD = "csrf_token"
PUBLIC_ROUTES = frozenset({"login", "login_submit", "static"})  # open without a session
# Forms that carry a file (an announcement's, up to 20 MB) may be larger than the others.
UPLOAD_ROUTES = frozenset({"announcement_create", "announcement_update"})
UPLOAD_LIMIT = 21 * 1024 * 1024
# The request's session, set by the guard for the handler it calls (each request is a task).
_SIGNED_IN: ContextVar[SignedIn] = ContextVar("console_signed_in")

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def tokens_match(given: object, expected: object) -> bool:
    """Whether two tokens are both present and equal (compared in constant time)."""
    if not isinstance(given, str) or not isinstance(expected, str) or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def client_address(request: web.Request, forwarded_for: bool) -> str:
    """The client's address: the last ``X-Forwarded-For`` hop (the one the proxy added) when
    the console is behind a proxy that sets it, else the connection's."""
    if forwarded_for:
        hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
        if hops and hops[-1]:
            return hops[-1][:64]
    return (request.remote or "unknown")[:64]


def set_cookie(
    response: web.StreamResponse,
    config: ConsoleConfig,
    name: str,
    value: str,
    *,
    samesite: Literal["Lax", "Strict"] = "Lax",
) -> None:
    response.set_cookie(
        name,
        value,
        path="/console",
        httponly=True,
        samesite=samesite,
        secure=config.secure_cookies,
    )


def signed_in(_request: web.Request) -> SignedIn:
    """The request's session and official (every page but the public ones has them)."""
    return _SIGNED_IN.get()


def _route_name(request: web.Request) -> str | None:
    return request.match_info.route.name


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The same protective headers on every response, errors and redirects included."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(HEADERS)
        raise
    response.headers.update(HEADERS)
    return response


def forbidden_page(locale: str | None) -> web.HTTPForbidden:
    """403 for a form without its CSRF token (or without a session), said in ``locale``."""
    return web.HTTPForbidden(text=render("forbidden.html", locale), content_type="text/html")


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Sign-in for every page but the public ones, and the CSRF token for every form."""
    if _route_name(request) in PUBLIC_ROUTES:
        return await handler(request)
    config = request.app[CONFIG]
    async with config.db.sessions() as session:
        found = await find_session(session, request.cookies.get(SESSION_COOKIE, ""), config.clock)
    if found is None:
        if request.method in ("GET", "HEAD"):
            raise web.HTTPFound("/console/login")
        raise forbidden_page(config.default_locale)
    if request.method not in ("GET", "HEAD"):
        if _route_name(request) in UPLOAD_ROUTES:
            request = request.clone(client_max_size=UPLOAD_LIMIT)
        form = await request.post()
        if not tokens_match(form.get(CSRF_FIELD), found.session.csrf_token):
            raise forbidden_page(found.official.locale)
    if found.needs_touch(config.clock):
        async with config.db.transaction() as session:
            await touch_session(session, found.session.id, config.clock)
    token = _SIGNED_IN.set(found)
    try:
        return await handler(request)
    finally:
        _SIGNED_IN.reset(token)
