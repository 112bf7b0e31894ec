"""Announcements to producers in the console: the list (``/console/announcements``: status,
sending time, recipients and progress, newest first), one announcement
(``/console/announcements/{id}``: as producers will see it, its audience in words, a progress
bar and counts by outcome that refresh every few seconds while it goes out, without scripts,
and each recipient's outcome, paged), its file, and cancelling it (with a confirmation).
Writing and sending are :mod:`console.announcement_compose`.

Province officials and administrators announce (:mod:`console.announcement_access`); commune
officials are refused.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.announcement_buttons import command_of
from bot.i18n import N_, Translator, translator
from bot.rules import rules
from console import announcement_compose as compose
from console.announcement_access import announcement_of, announcer_scope, last_editor
from console.announcement_form import LANGUAGES
from console.config import CONFIG
from console.labels import (
    ANNOUNCEMENT_STATES,
    CHANNELS,
    DELIVERY_REASONS,
    DELIVERY_STATES,
    DOSSIER_STATES,
)
from console.layout import signed_in_page
from console.list_filters import number, set_label
from console.render import path_id, see_other
from console.review_files import safe_stem
from console.security import signed_in
from storage.announcements import (
    EDITABLE,
    Audience,
    Button,
    StaleAnnouncement,
    cancel_announcement,
    delivery_counts,
    delivery_page,
    delivery_progress,
    list_announcements,
)
from storage.areas import get_area
from storage.blobs import BlobCorrupted, BlobNotFound
from storage.clock import local_date
from storage.models import Announcement, Official
from storage.rounds import get_round
from storage.states import AnnouncementStatus, DeliveryStatus

__all__ = ["add_routes"]

ID = "{id:[0-9]{1,18}}"
# While these, the page refreshes itself to show the progress.
LIVE = (AnnouncementStatus.SCHEDULED, AnnouncementStatus.SENDING)
CANCELLABLE = (*EDITABLE, AnnouncementStatus.SENDING)
SETTLED = (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.TOO_OLD)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/announcements", list_page, name="announcements")
    router.add_get("/announcements/new", compose.new_page, name="announcement_new")
    router.add_post("/announcements/new", compose.submit_new, name="announcement_create")
    router.add_get(f"/announcements/{ID}", show_page, name="announcement")
    router.add_get(f"/announcements/{ID}/edit", compose.edit_page, name="announcement_edit")
    router.add_post(f"/announcements/{ID}/edit", compose.submit_edit, name="announcement_update")
    router.add_get(f"/announcements/{ID}/send", compose.confirm_page, name="announcement_confirm")
    router.add_post(f"/announcements/{ID}/send", compose.send, name="announcement_send")
    router.add_get(f"/announcements/{ID}/cancel", cancel_page, name="announcement_cancel_ask")
    router.add_post(f"/announcements/{ID}/cancel", cancel, name="announcement_cancel")
    router.add_get(f"/announcements/{ID}/file", file_download, name="announcement_file")


# -- the list ----------------------------------------------------------------------------------


async def list_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    async with config.db.sessions() as session:
        scope = await announcer_scope(session, request)
        page = await list_announcements(session, scope, before=number(request.query.get("before")))
        progress = await delivery_progress(session, [a.id for a in page.rows])
    return signed_in_page(
        request,
        "announcements_list.html",
        section="announcements",
        announcements=page.rows,
        before=page.before,
        progress=progress,
        states=ANNOUNCEMENT_STATES,
    )


# -- one announcement --------------------------------------------------------------------------


async def _audience_words(
    session: AsyncSession, announcement: Announcement, t: Translator
) -> list[tuple[str, str]]:
    """The audience's filters in words, as (what, which) pairs; none: everyone in scope."""
    audience = Audience.from_json(announcement.audience)
    rule_set = rules(on=announcement.created_at.date())
    words: list[tuple[str, str]] = []
    if audience.area_ids:
        areas = [await get_area(session, a) for a in sorted(audience.area_ids)]
        words.append((N_("Areas"), ", ".join(a.name for a in areas if a is not None)))
    if audience.product_sets:
        names = [set_label(rule_set, n, t.locale) for n in sorted(audience.product_sets)]
        words.append((N_("Product sets"), "; ".join(names)))
    if audience.no_product:
        words.append((N_("Producers"), t.gettext("Registered, no product yet")))
    if audience.unfiled_for_round is not None:
        found = await get_round(session, audience.unfiled_for_round)
        words.append((N_("Dossier not yet submitted to the round"), found.name if found else "—"))
    if audience.dossier_states:
        states = [t.gettext(DOSSIER_STATES[s]) for s in sorted(audience.dossier_states)]
        words.append((N_("Current dossier"), "; ".join(states)))
    if audience.languages:
        languages = [LANGUAGES.get(x, x) for x in sorted(audience.languages)]
        words.append((N_("Languages"), ", ".join(languages)))
    if audience.channels:
        channels = [CHANNELS.get(x, x) for x in sorted(audience.channels)]
        words.append((N_("Channels"), ", ".join(channels)))
    return words


def _buttons(announcement: Announcement) -> list[Button]:
    return [Button(**b) for b in announcement.buttons]


def _status_filter(text: str) -> DeliveryStatus | None:
    return DeliveryStatus(text) if text in {str(s) for s in DeliveryStatus} else None


async def _show(
    request: web.Request, announcement_id: int, *, status: int = 200, notice: str = ""
) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    wanted = _status_filter(request.query.get("status", ""))
    after = number(request.query.get("after"))
    async with config.db.sessions() as session:
        scope = await announcer_scope(session, request)
        announcement = await announcement_of(session, scope, announcement_id)
        counts = await delivery_counts(session, announcement.id)
        rows = await delivery_page(session, announcement.id, status=wanted, after=after)
        audience = await _audience_words(session, announcement, translator(official.locale))
        author = await session.get(Official, announcement.created_by)
        editor = await last_editor(session, announcement.id)
        round_ = await get_round(session, announcement.round_id) if announcement.round_id else None
    settled = sum(counts.of(s) for s in SETTLED)
    total = counts.total - counts.of(DeliveryStatus.CANCELLED)
    kept = {"status": str(wanted)} if wanted else {}
    more = (
        f"/console/announcements/{announcement.id}?{urlencode({**kept, 'after': rows.after})}"
        if rows.after
        else None
    )
    return signed_in_page(
        request,
        "announcements_show.html",
        status=status,
        section="announcements",
        announcement=announcement,
        live=announcement.status in LIVE,
        editable=announcement.status in EDITABLE,
        cancellable=announcement.status in CANCELLABLE,
        buttons=_buttons(announcement),
        known_command=command_of,
        audience=audience,
        counts=counts,
        settled=settled,
        total=total,
        rows=rows.rows,
        more=more,
        wanted=wanted,
        author=author.display_name if author else "—",
        editor=editor,
        round=round_,
        states=ANNOUNCEMENT_STATES,
        delivery_states=DELIVERY_STATES,
        reasons=DELIVERY_REASONS,
        channels=CHANNELS,
        notice=notice,
        today=local_date(config.clock),
    )


async def show_page(request: web.Request) -> web.Response:
    return await _show(request, path_id(request))


# -- cancelling --------------------------------------------------------------------------------


async def cancel_page(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    async with config.db.sessions() as session:
        scope = await announcer_scope(session, request)
        announcement = await announcement_of(session, scope, path_id(request))
        counts = await delivery_counts(session, announcement.id)
    if announcement.status not in CANCELLABLE:
        return see_other(f"/console/announcements/{announcement.id}")
    return signed_in_page(
        request,
        "announcements_cancel.html",
        section="announcements",
        announcement=announcement,
        waiting=counts.of(DeliveryStatus.WAITING),
        queued=counts.of(DeliveryStatus.QUEUED),
    )


async def cancel(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    t = translator(signed_in(request).official.locale)
    announcement_id = path_id(request)
    version = number(str((await request.post()).get("version", ""))) or 0
    try:
        async with config.db.transaction() as session:
            scope = await announcer_scope(session, request)
            await announcement_of(session, scope, announcement_id)
            await cancel_announcement(
                session, scope, announcement_id, version=version, now=config.clock.now()
            )
    except StaleAnnouncement:
        notice = t.gettext(
            "Not cancelled: this announcement changed after you opened the page. Look at it again."
        )
        return await _show(request, announcement_id, status=409, notice=notice)
    return see_other(f"/console/announcements/{announcement_id}")


# -- its file ----------------------------------------------------------------------------------


async def file_download(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    async with config.db.sessions() as session:
        scope = await announcer_scope(session, request)
        announcement = await announcement_of(session, scope, path_id(request))
    if not announcement.file_sha256 or config.blobs is None:
        raise web.HTTPNotFound()
    try:
        data = await config.blobs.get(announcement.file_sha256)
    except (BlobNotFound, BlobCorrupted):
        raise web.HTTPNotFound() from None
    name = announcement.file_name or "file"
    extension = name.rsplit(".", 1)[-1] if "." in name else "bin"
    safe = f"{safe_stem(name, 'announcement')}.{safe_stem(extension, 'bin')}"
    return web.Response(
        body=data,
        headers={
            "Content-Type": announcement.file_mime or "application/octet-stream",
            "Content-Disposition": f'inline; filename="{safe}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
