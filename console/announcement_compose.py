"""Writing an announcement (``/console/announcements/new``, ``/console/announcements/{id}/edit``)
and sending it (``/console/announcements/{id}/send``: a confirmation saying how many people
will receive it).

The page runs no script, so every change that needs the server is a submit that re-renders the
form with what was typed: "Count recipients" (:func:`storage.announcements.audience_counts`),
"Find communes" (a province's communes by name, for a list too long for a phone). "Save draft"
stores it; "Send now" and "Schedule" store it and ask for the confirmation; confirming schedules
it (now, or at the time chosen, Vietnam time), and the sending side takes it from there. A save
from a page another official has changed since is refused, keeping what was typed.
``/console/announcements/new?round=ID`` starts from the round's ready-made announcement
(:mod:`bot.round_announcement`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.announcement_buttons import COMMANDS
from bot.i18n import Translator, translator
from bot.round_announcement import round_announcement
from bot.rules import RuleSet, rules
from console.announcement_access import announcement_of, announcer_scope, last_editor
from console.announcement_form import (
    ERRORS,
    LANGUAGES,
    AnnouncementForm,
    audience_of,
    local_parts,
    moment,
    read_form,
)
from console.config import CONFIG
from console.labels import CHANNELS, DOSSIER_STATES
from console.layout import signed_in_page
from console.list_filters import number, set_label
from console.render import path_id, see_other
from console.security import signed_in
from storage.announcements import (
    EDITABLE,
    AnnouncementError,
    AnnouncementFile,
    AudienceCounts,
    StaleAnnouncement,
    audience_counts,
    create_announcement,
    schedule_announcement,
    scope_of_announcement,
    update_announcement,
)
from storage.announcements import Audience as StoredAudience
from storage.areas import communes_of, find_commune, get_area, list_provinces
from storage.clock import local_date, local_time
from storage.models import Announcement, Area, Official
from storage.officials import Scope, areas_of
from storage.rounds import list_rounds, round_in_scope
from storage.states import DossierStatus

__all__ = [
    "confirm_page",
    "edit_page",
    "new_page",
    "send",
    "submit_edit",
    "submit_new",
]

FOUND_LIMIT = 40  # communes listed by one search
# What a field named in AnnouncementError is shown as.
FIELD_ERRORS = {"round": "round", "areas": "areas", "no_product": "no_product"}


def _rules(request: web.Request) -> RuleSet:
    return rules(on=local_date(request.app[CONFIG].clock))


def _t(request: web.Request) -> Translator:
    return translator(signed_in(request).official.locale)


def _file_of(stored: Announcement | None) -> AnnouncementFile | None:
    if stored is None or not stored.file_sha256:
        return None
    return AnnouncementFile(stored.file_sha256, stored.file_name or "", stored.file_mime or "")


# -- the form page -----------------------------------------------------------------------------


async def _provinces(session: AsyncSession, scope: Scope, official: Official) -> list[Area]:
    if scope.everything:
        return await list_provinces(session)
    return [a for a in await areas_of(session, official.id) if a.parent_id is None]


async def _found_communes(
    session: AsyncSession, typed: AnnouncementForm, provinces: list[Area]
) -> list[Area]:
    """The communes of the province chosen to search in, matching what was typed (all when
    nothing was), those already chosen left out."""
    chosen = number(typed.commune_province)
    if chosen is None and len(provinces) == 1:
        chosen = provinces[0].id
    if chosen not in {p.id for p in provinces} or chosen is None:
        return []
    if typed.commune_q:
        found = [m.area for m in await find_commune(session, chosen, typed.commune_q, FOUND_LIMIT)]
    else:
        found = (await communes_of(session, chosen))[:FOUND_LIMIT]
    return [a for a in found if str(a.id) not in typed.areas]


async def _form_page(
    request: web.Request,
    typed: AnnouncementForm,
    *,
    announcement: Announcement | None = None,
    counts: AudienceCounts | None = None,
    find: bool = False,
    status: int = 200,
    notice: str = "",
) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    rule_set = _rules(request)
    locale = official.locale
    async with config.db.sessions() as session:
        scope = await announcer_scope(session, request)
        provinces = await _provinces(session, scope, official)
        province_ids = {p.id for p in provinces}
        chosen = [
            area
            for area_id in sorted({int(a) for a in typed.areas if a.isdigit() and len(a) < 19})
            if (area := await get_area(session, area_id)) is not None
            and area.id not in province_ids
        ]
        found = await _found_communes(session, typed, provinces) if find else []
        rounds = await list_rounds(session, scope)
    return signed_in_page(
        request,
        "announcements_form.html",
        status=status,
        section="announcements",
        form=typed,
        announcement=announcement,
        counts=counts,
        notice=notice,
        provinces=provinces,
        chosen_communes=chosen,
        found_communes=found,
        searched=find,
        rounds=rounds,
        groups=[(g.code, g.name(locale)) for g in rule_set.groups],
        sets=[(s.number, set_label(rule_set, s.number, locale)) for s in rule_set.product_sets],
        states=[(str(s), DOSSIER_STATES[s]) for s in DossierStatus],
        commands=COMMANDS,
        channels=CHANNELS,
        languages=LANGUAGES,
    )


async def new_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    round_id = number(request.query.get("round"))
    typed = AnnouncementForm()
    async with config.db.sessions() as session:
        scope = await announcer_scope(session, request)
        if round_id is not None:
            round_ = await round_in_scope(session, scope, round_id)
            if round_ is None:
                raise web.HTTPNotFound()
            typed = AnnouncementForm.of(await round_announcement(session, round_), _rules(request))
    return await _form_page(request, typed)


async def edit_page(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    async with config.db.sessions() as session:
        scope = await announcer_scope(session, request)
        stored = await announcement_of(session, scope, path_id(request))
    if stored.status not in EDITABLE:
        return see_other(f"/console/announcements/{stored.id}")
    return await _form_page(
        request, AnnouncementForm.of(stored, _rules(request)), announcement=stored
    )


# -- the submits -------------------------------------------------------------------------------


def _error(typed: AnnouncementForm, error: AnnouncementError, t: Translator) -> None:
    """Shows an error of storage next to its field."""
    key = FIELD_ERRORS.get(error.field, error.field)
    typed.errors[key] = t.gettext(ERRORS.get(key, ERRORS["text_vi"]))


async def _default_expiry(
    session: AsyncSession, scope: Scope, typed: AnnouncementForm
) -> datetime | None:
    """With no expiry typed: the end of the deadline day of the round chosen, if any."""
    if typed.expires_on or typed.expires_time:
        return None
    round_id = number(typed.round) or number(typed.unfiled_round)
    round_ = await round_in_scope(session, scope, round_id) if round_id else None
    if round_ is None:
        return None
    expires = local_time(round_.submission_deadline, 23, 59)
    typed.expires_on, typed.expires_time = local_parts(expires)
    return expires


def _sending_time(typed: AnnouncementForm, action: str, now: datetime, t: Translator) -> str:
    """``now`` for "send", the moment typed for "schedule" (an error when unreadable or past)."""
    if action == "send":
        return "now"
    at = moment(typed.send_on, typed.send_time, time(8, 0))
    if at is None or at <= now:
        typed.errors["send_at"] = t.gettext(ERRORS["send_at"])
        return ""
    return at.astimezone(UTC).isoformat()


async def _submit(request: web.Request, announcement_id: int | None) -> web.StreamResponse:
    config = request.app[CONFIG]
    t = _t(request)
    rule_set = _rules(request)
    form = await request.post()
    action = form.get("action", "save")
    async with config.db.sessions() as session:
        scope = await announcer_scope(session, request)
        stored = (
            await announcement_of(session, scope, announcement_id) if announcement_id else None
        )
    if stored is not None and stored.status not in EDITABLE:
        return see_other(f"/console/announcements/{stored.id}")
    typed, values = await read_form(
        form, rule_set=rule_set, blobs=config.blobs, stored_file=_file_of(stored), t=t
    )
    async with config.db.sessions() as session:
        expires = await _default_expiry(session, scope, typed)
    if values is not None and expires is not None:
        values = replace(values, expires_at=expires)
    if action in ("count", "find"):
        typed.errors = {k: v for k, v in typed.errors.items() if k == "file"}
        counts = None
        if action == "count":
            try:
                async with config.db.sessions() as session:
                    counts = await audience_counts(session, scope, audience_of(typed, rule_set))
            except AnnouncementError as error:
                _error(typed, error, t)
        return await _form_page(
            request, typed, announcement=stored, counts=counts, find=action == "find"
        )
    now = config.clock.now()
    at = _sending_time(typed, str(action), now, t) if action in ("send", "schedule") else ""
    going = now if at == "now" else datetime.fromisoformat(at) if at else None
    if values is not None and going and values.expires_at and values.expires_at <= going:
        typed.errors["expires"] = t.gettext(ERRORS["expires_first"])
    if values is None or typed.errors:
        return await _form_page(request, typed, announcement=stored, status=400)
    try:
        async with config.db.transaction() as session:
            if stored is None:
                saved = await create_announcement(session, scope, values, now=now)
            else:
                version = number(typed.version) or 0
                saved = await update_announcement(
                    session, scope, stored.id, values, version=version, now=now
                )
            saved_id = saved.id
    except StaleAnnouncement:
        return await _stale(request, typed, announcement_id or 0)
    except AnnouncementError as error:
        _error(typed, error, t)
        return await _form_page(request, typed, announcement=stored, status=400)
    if at:
        return see_other(f"/console/announcements/{saved_id}/send?{_query(at)}")
    return see_other(f"/console/announcements/{saved_id}")


def _query(at: str) -> str:
    return urlencode({"at": at})


async def _stale(
    request: web.Request, typed: AnnouncementForm, announcement_id: int
) -> web.Response:
    """Not saved: another official changed it. What was typed is kept, on the current version,
    so saving again replaces their changes knowingly."""
    config = request.app[CONFIG]
    t = _t(request)
    async with config.db.sessions() as session:
        current = await session.get_one(Announcement, announcement_id, populate_existing=True)
        who = await last_editor(session, announcement_id)
    if current.status not in EDITABLE:
        return see_other(f"/console/announcements/{announcement_id}")
    typed.version = str(current.version)
    notice = t.gettext(
        "Not saved: {name} changed this announcement after you opened the page. What you "
        "typed is kept below; save again to replace their changes."
    ).format(name=who)
    return await _form_page(request, typed, announcement=current, status=409, notice=notice)


async def submit_new(request: web.Request) -> web.StreamResponse:
    return await _submit(request, None)


async def submit_edit(request: web.Request) -> web.StreamResponse:
    return await _submit(request, path_id(request))


# -- sending -----------------------------------------------------------------------------------


def _at(text: str, now: datetime) -> datetime | None:
    """The sending time a confirmation names: "now", or a moment (ISO, with its offset)."""
    if text == "now":
        return now
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


async def _confirm_page(
    request: web.Request, announcement: Announcement, at_text: str, *, status: int = 200,
    notice: str = "",
) -> web.Response:  # fmt: skip
    config = request.app[CONFIG]
    at = _at(at_text, config.clock.now())
    if at is None:
        raise web.HTTPBadRequest()
    async with config.db.sessions() as session:
        counts = await audience_counts(
            session,
            scope_of_announcement(announcement),
            StoredAudience.from_json(announcement.audience),
        )
    return signed_in_page(
        request,
        "announcements_send.html",
        status=status,
        section="announcements",
        announcement=announcement,
        counts=counts,
        at=None if at_text == "now" else at,
        at_text=at_text,
        notice=notice,
    )


async def confirm_page(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    async with config.db.sessions() as session:
        scope = await announcer_scope(session, request)
        stored = await announcement_of(session, scope, path_id(request))
    if stored.status not in EDITABLE:
        return see_other(f"/console/announcements/{stored.id}")
    return await _confirm_page(request, stored, request.query.get("at", "now"))


async def send(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    t = _t(request)
    form = await request.post()
    at_text = str(form.get("at", "now"))[:40]
    version = number(str(form.get("version", ""))) or 0
    now = config.clock.now()
    at = _at(at_text, now)
    if at is None:
        raise web.HTTPBadRequest()
    async with config.db.sessions() as session:
        scope = await announcer_scope(session, request)
        stored = await announcement_of(session, scope, path_id(request))
    if stored.status not in EDITABLE:
        return see_other(f"/console/announcements/{stored.id}")
    problem = ""
    if at < now:
        problem = t.gettext("That time has passed: change the sending time.")
    elif stored.expires_at is not None and stored.expires_at <= at:
        problem = t.gettext(ERRORS["expires_first"])
    if problem:
        return await _confirm_page(request, stored, at_text, status=400, notice=problem)
    try:
        async with config.db.transaction() as session:
            await schedule_announcement(session, scope, stored.id, at=at, version=version, now=now)
    except StaleAnnouncement:
        async with config.db.sessions() as session:
            current = await session.get_one(Announcement, stored.id, populate_existing=True)
            who = await last_editor(session, stored.id)
        if current.status not in EDITABLE:
            return see_other(f"/console/announcements/{stored.id}")
        notice = t.gettext(
            "Not sent: {name} changed this announcement after you opened the page. Check it "
            "and confirm again."
        ).format(name=who)
        return await _confirm_page(request, current, at_text, status=409, notice=notice)
    return see_other(f"/console/announcements/{stored.id}")
