"""The console's pages: sign-in, sign-out and the language switch (the first page after
sign-in is the dashboard, ``console/dashboard.py``)."""

from __future__ import annotations

import secrets
from pathlib import Path

from aiohttp import web

from bot.i18n import LOCALES, N_, translator
from console.auth import Outcome, sign_in, sign_out
from console.config import CONFIG
from console.render import html_page, see_other
from console.security import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    client_address,
    forbidden_page,
    set_cookie,
    signed_in,
    tokens_match,
)
from storage.models import Official
from storage.signin import WINDOW
from storage.states import OfficialRole

__all__ = ["add_routes"]

ROLE_LABELS = {
    OfficialRole.COMMUNE: N_("Commune office"),
    OfficialRole.PROVINCE: N_("Province office"),
    OfficialRole.ADMIN: N_("Administrator"),
}
STATIC = Path(__file__).parent / "static"


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/login", login_form, name="login")
    router.add_post("/login", login_submit, name="login_submit")
    router.add_post("/logout", logout, name="logout")
    router.add_post("/locale", change_locale, name="locale")
    router.add_static("/static/", STATIC, name="static", show_index=False, follow_symlinks=False)


def _login_page(
    request: web.Request, locale: str, *, status: int = 200, error: str = "", username: str = ""
) -> web.Response:
    token = secrets.token_urlsafe(32)
    response = html_page(
        "login.html", locale, status=status, csrf=token, error=error, username=username
    )
    set_cookie(response, request.app[CONFIG], LOGIN_CSRF_COOKIE, token, samesite="Strict")
    return response


def _chosen_locale(request: web.Request, value: object) -> str:
    return (
        value
        if isinstance(value, str) and value in LOCALES
        else request.app[CONFIG].default_locale
    )


async def login_form(request: web.Request) -> web.Response:
    return _login_page(request, _chosen_locale(request, request.query.get("lang")))


async def login_submit(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    form = await request.post()
    locale = _chosen_locale(request, form.get("lang"))
    if not tokens_match(form.get(CSRF_FIELD), request.cookies.get(LOGIN_CSRF_COOKIE)):
        raise forbidden_page(locale)
    username = str(form.get("username", ""))[:200]
    password = str(form.get("password", ""))
    address = client_address(request, config.forwarded_for)
    outcome, token = await sign_in(config, username, password, address)
    _ = translator(locale).gettext
    if outcome is Outcome.THROTTLED:
        minutes = int(WINDOW.total_seconds() // 60)
        error = _("Too many failed sign-ins. Wait {minutes} minutes, then try again.")
        return _login_page(
            request, locale, status=429, error=error.format(minutes=minutes), username=username
        )
    if outcome is Outcome.WRONG or token is None:
        error = _("Wrong username or password.")
        return _login_page(request, locale, status=401, error=error, username=username)
    response = see_other("/console/")
    set_cookie(response, config, SESSION_COOKIE, token)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    await sign_out(request.app[CONFIG], signed_in(request).session.id)
    response = see_other("/console/login")
    response.del_cookie(SESSION_COOKIE, path="/console")
    return response


async def change_locale(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    locale = (await request.post()).get("locale")
    if isinstance(locale, str) and locale in LOCALES:
        async with config.db.transaction() as session:
            official = await session.get(Official, signed_in(request).official.id)
            if official is not None:
                official.locale = locale
                official.updated_at = config.clock.now()
    return see_other("/console/")
