"""The official's account page (``/console/account``): linking a chat for notifications with a
one-time code, unlinking it, how often to be told (every event, a daily digest, muted), and
changing the password (the current one required).

The code is shown once, on the page that answers the form that made it: as a link that opens
the Telegram bot with it (``t.me/<bot>?start=o-<code>``) when the bot's username is set, and
always as the text to send (``/official <code>``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.i18n import N_, translator
from console.config import CONFIG
from console.labels import CHANNELS
from console.layout import signed_in_page
from console.render import see_other
from console.security import signed_in
from storage.members import format_code
from storage.official_chats import (
    DIGEST_HOURS,
    LINK_CODE_VALIDITY,
    LINK_PREFIX,
    chat_of,
    create_link_code,
    live_code_expiry,
    set_preference,
    unlink_chat,
)
from storage.officials import WrongPassword, change_own_password
from storage.passwords import MIN_PASSWORD, PasswordError
from storage.states import NotifyMode

__all__ = ["add_routes"]

NOTICES = {
    "unlinked": N_("The chat is unlinked: it gets no more notifications."),
    "saved": N_("Your notification choice is saved."),
    "password": N_("Your password is changed. Your other sessions are signed out."),
}
MODE_LABELS = {
    NotifyMode.EVERY: N_("A message for every event"),
    NotifyMode.DIGEST: N_("One summary a day"),
    NotifyMode.MUTED: N_("No notifications"),
}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/account", account, name="account")
    router.add_post("/account/code", make_code, name="account_code")
    router.add_post("/account/unlink", unlink, name="account_unlink")
    router.add_post("/account/notifications", notifications, name="account_notifications")
    router.add_post("/account/password", password, name="account_password")


async def _page(request: web.Request, *, status: int = 200, **extra: Any) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    async with config.db.sessions() as session:
        chat = await chat_of(session, official.id)
        code_expires = await live_code_expiry(session, official.id, config.clock)
    t = translator(official.locale)
    notice = NOTICES.get(request.query.get("done", ""))
    shown = {"code": "", "command": "", "deep_link": "", "minutes": 0, "error": ""}
    shown |= {"password_error": "", **extra}
    return signed_in_page(
        request,
        "account.html",
        status=status,
        section="account",
        linked=chat is not None and chat.chat_id is not None,
        channel=CHANNELS.get(chat.channel or "", chat.channel) if chat else "",
        linked_at=chat.linked_at if chat else None,
        mode=chat.mode if chat else NotifyMode.EVERY,
        digest_hour=chat.digest_hour if chat else 8,
        modes=[(str(m), t.gettext(label)) for m, label in MODE_LABELS.items()],
        hours=list(DIGEST_HOURS),
        code_expires=code_expires,
        notice=t.gettext(notice) if notice else "",
        min_password=MIN_PASSWORD,
        **shown,
    )


async def account(request: web.Request) -> web.Response:
    return await _page(request)


async def make_code(request: web.Request) -> web.Response:
    """A new one-time code (the older one stops working), shown on the page that answers."""
    config = request.app[CONFIG]
    official = signed_in(request).official
    async with config.db.transaction() as session:
        code = await create_link_code(session, official.id, config.clock)
    shown = format_code(code)
    link = (
        f"https://t.me/{config.bot_username}?start={LINK_PREFIX}{code}"
        if config.bot_username
        else ""
    )
    return await _page(
        request,
        code=shown,
        command=f"/official {shown}",
        deep_link=link,
        minutes=int(LINK_CODE_VALIDITY.total_seconds() // 60),
    )


async def unlink(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    async with config.db.transaction() as session:
        await unlink_chat(session, signed_in(request).official.id, config.clock)
    return see_other("/console/account?done=unlinked")


async def notifications(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    form = await request.post()
    official = signed_in(request).official
    try:
        mode = NotifyMode(str(form.get("mode", "")))
        hour = int(str(form.get("hour", "")))
        if hour not in DIGEST_HOURS:
            raise ValueError(hour)
    except ValueError:
        t = translator(official.locale)
        return await _page(request, status=400, error=t.gettext("Choose one of the options."))
    async with config.db.transaction() as session:
        await set_preference(session, official.id, mode, hour)
    return see_other("/console/account?done=saved")


async def password(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    current = signed_in(request)
    form = await request.post()
    t = translator(current.official.locale)
    new = str(form.get("new_password", ""))
    if new != str(form.get("repeat_password", "")):
        return await _page(
            request, status=400, password_error=t.gettext("The two new passwords differ.")
        )
    try:
        async with config.db.transaction() as session:
            official = await session.get_one(type(current.official), current.official.id)
            await change_own_password(
                session,
                official,
                str(form.get("current_password", "")),
                new,
                keep_session=current.session.id,
                clock=config.clock,
            )
    except WrongPassword:
        error = t.gettext("The current password is wrong.")
        return await _page(request, status=400, password_error=error)
    except PasswordError:
        error = t.gettext("A new password needs {n} characters or more.").format(n=MIN_PASSWORD)
        return await _page(request, status=400, password_error=error)
    return see_other("/console/account?done=password")
