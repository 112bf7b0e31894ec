"""Evaluation rounds in the console: the list (``/console/rounds``: phase, deadlines, counts),
a new round with the default calendar of the rules in force pre-filled (``/console/rounds/new``),
its changes (``/console/rounds/{id}/edit``, refused with what it is now when another official
saved first) and its board (``/console/rounds/{id}``: entries by state, assigning an entry to an
official, adding a filed dossier that is in no round).

Province officials and administrators create and change rounds; commune officials read the
rounds covering their communes. Every page asks the official's scope (:mod:`storage.rounds`):
another area's round answers 404. The default calendar is filled in on the server: choosing a
round of the calendar fills its dates for the next year whose deadline is still ahead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_, Translator, translator
from bot.reminders import schedule_round_reminders
from bot.rules import RoundTemplate, RuleSet, rules
from console.config import CONFIG
from console.labels import ENTRY_STATES, ROUND_LEVELS, ROUND_PHASES
from console.layout import signed_in_page
from console.render import path_id, see_other
from console.security import signed_in
from storage.areas import communes_of, get_area, list_provinces
from storage.clock import local_date
from storage.models import Area, AuditEntry, Official, Round, RoundEntry
from storage.officials import Scope, areas_of, scope_of
from storage.rounds import (
    RoundError,
    RoundValues,
    StaleRound,
    add_to_round,
    areas_of_round,
    assign,
    assignable_officials,
    board,
    create_round,
    entry_counts,
    list_rounds,
    may_manage,
    phase,
    round_in_scope,
    unfiled_dossiers,
    update_round,
)
from storage.states import EntryStatus, RoundLevel

__all__ = ["add_routes", "default_calendar"]

Form = MultiDictProxy[Any]
DATE_FIELDS = ("opens_on", "submission_deadline", "evaluation_deadline", "results_on")
ROUND_ERRORS = {
    "level": N_("Choose the level: province or central."),
    "name": N_("Enter the round's name (up to 200 characters)."),
    "date": N_("Enter a date, for example 30/04/2026."),
    "order": N_(
        "The dates must follow each other: opening, submission deadline, evaluation "
        "deadline, results, ceremony."
    ),
    "areas": N_("Choose the areas the round covers among your own."),
    "no_areas": N_("Choose at least one area the round covers."),
}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/rounds", rounds_page, name="rounds")
    router.add_get("/rounds/new", new_round_page, name="round_new")
    router.add_post("/rounds/new", round_create, name="round_create")
    router.add_get("/rounds/{id:[0-9]{1,18}}", board_page, name="round_board")
    router.add_get("/rounds/{id:[0-9]{1,18}}/edit", edit_round_page, name="round_edit")
    router.add_post("/rounds/{id:[0-9]{1,18}}/edit", round_update, name="round_update")
    router.add_post("/rounds/{id:[0-9]{1,18}}/entries", entry_add, name="round_entry_add")
    router.add_post(
        "/rounds/{id:[0-9]{1,18}}/entries/{entry_id:[0-9]{1,18}}/assign",
        entry_assign,
        name="round_entry_assign",
    )


# -- the default calendar ------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A round of the rules' default calendar, as the form offers it."""

    key: str  # "province-0"
    level: RoundLevel
    template: RoundTemplate


def _templates(rule_set: RuleSet) -> list[Template]:
    return [
        Template(f"{level}-{n}", level, template)
        for level in RoundLevel
        for n, template in enumerate(rule_set.default_rounds(level))
    ]


def default_calendar(template: RoundTemplate, today: date) -> tuple[int, date, date, date]:
    """The year whose submission deadline is still ahead on ``today`` (this year or the
    next), and that year's opening day, deadline and finish."""
    year = today.year
    opens, deadline, finish = template.dates(year)
    if deadline < today:
        year += 1
        opens, deadline, finish = template.dates(year)
    return year, opens, deadline, finish


# -- the form ----------------------------------------------------------------------------------


@dataclass
class RoundForm:
    """A round's fields as typed (dates as ISO text for the date inputs) and their errors."""

    level: str = RoundLevel.PROVINCE
    name: str = ""
    opens_on: str = ""
    submission_deadline: str = ""
    evaluation_deadline: str = ""
    results_on: str = ""
    ceremony_on: str = ""
    areas: list[str] = field(default_factory=list)
    version: str = ""
    template: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, round_: Round, area_ids: list[int]) -> RoundForm:
        return cls(
            level=round_.level,
            name=round_.name,
            opens_on=round_.opens_on.isoformat(),
            submission_deadline=round_.submission_deadline.isoformat(),
            evaluation_deadline=round_.evaluation_deadline.isoformat(),
            results_on=round_.results_on.isoformat(),
            ceremony_on=round_.ceremony_on.isoformat() if round_.ceremony_on else "",
            areas=[str(a) for a in area_ids],
            version=str(round_.version),
        )


def _from_template(chosen: Template, today: date, locale: str, areas: list[str]) -> RoundForm:
    year, opens, deadline, finish = default_calendar(chosen.template, today)
    return RoundForm(
        level=chosen.level,
        name=f"{chosen.template.name(locale)} {year}",
        opens_on=opens.isoformat(),
        submission_deadline=deadline.isoformat(),
        evaluation_deadline=finish.isoformat(),
        results_on=finish.isoformat(),
        areas=areas,
        template=chosen.key,
    )


def _text(form: Form, name: str, limit: int = 300) -> str:
    value = form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def _date(text: str) -> date | None:
    """A date as the date input sends it (2026-04-30) or as typed (30/04/2026)."""
    try:
        if "/" in text:
            day, month, year = (int(part) for part in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        return None


def _read_form(form: Form, t: Translator) -> tuple[RoundForm, RoundValues | None]:
    typed = RoundForm(
        level=_text(form, "level", 20),
        name=_text(form, "name"),
        ceremony_on=_text(form, "ceremony_on", 20),
        areas=[a for a in form.getall("areas", []) if isinstance(a, str)][:500],
        version=_text(form, "version", 18),
        opens_on=_text(form, "opens_on", 20),
        submission_deadline=_text(form, "submission_deadline", 20),
        evaluation_deadline=_text(form, "evaluation_deadline", 20),
        results_on=_text(form, "results_on", 20),
    )
    errors = typed.errors
    if typed.level not in {str(level) for level in RoundLevel}:
        errors["level"] = t.gettext(ROUND_ERRORS["level"])
    if not " ".join(typed.name.split()) or len(typed.name) > 200:
        errors["name"] = t.gettext(ROUND_ERRORS["name"])
    days: dict[str, date | None] = {}
    for name in (*DATE_FIELDS, "ceremony_on"):
        text = getattr(typed, name)
        days[name] = _date(text) if text else None
        if days[name] is None and (text or name != "ceremony_on"):
            errors[name] = t.gettext(ROUND_ERRORS["date"])
    area_ids = tuple(sorted({int(a) for a in typed.areas if a.isascii() and a.isdigit()}))
    if len(area_ids) != len(set(typed.areas)):
        errors["areas"] = t.gettext(ROUND_ERRORS["areas"])
    if errors:
        return typed, None
    values = RoundValues(
        level=RoundLevel(typed.level),
        name=typed.name,
        opens_on=days["opens_on"] or date.min,
        submission_deadline=days["submission_deadline"] or date.min,
        evaluation_deadline=days["evaluation_deadline"] or date.min,
        results_on=days["results_on"] or date.min,
        ceremony_on=days["ceremony_on"],
        area_ids=area_ids,
    )
    return typed, values


def _round_error(typed: RoundForm, error: RoundError, t: Translator) -> None:
    key = error.problem if error.problem in ROUND_ERRORS else "date"
    typed.errors[error.field] = t.gettext(ROUND_ERRORS[key])


# -- who may do what ------------------------------------------------------------------------


def _forbidden(request: web.Request) -> web.HTTPForbidden:
    return web.HTTPForbidden(
        text=signed_in_page(request, "rounds_forbidden.html", status=403).text,
        content_type="text/html",
    )


async def _scope(session: AsyncSession, request: web.Request) -> Scope:
    return await scope_of(session, signed_in(request).official)


async def _managed_scope(session: AsyncSession, request: web.Request) -> Scope:
    """The official's scope when they manage rounds; 403 with a page otherwise."""
    scope = await _scope(session, request)
    if not may_manage(scope):
        raise _forbidden(request)
    return scope


async def _round(session: AsyncSession, scope: Scope, round_id: int) -> Round:
    found = await round_in_scope(session, scope, round_id)
    if found is None:
        raise web.HTTPNotFound()
    return found


def _today(request: web.Request) -> date:
    return local_date(request.app[CONFIG].clock)


# -- the list ----------------------------------------------------------------------------------


async def rounds_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    async with config.db.sessions() as session:
        scope = await _scope(session, request)
        rounds = await list_rounds(session, scope)
        counts = await entry_counts(session, scope, [r.id for r in rounds])
    today = _today(request)
    return signed_in_page(
        request,
        "rounds_list.html",
        section="rounds",
        rounds=[(r, phase(r, today), counts[r.id]) for r in rounds],
        manager=may_manage(scope),
        levels=ROUND_LEVELS,
        phases=ROUND_PHASES,
        entry_states=ENTRY_STATES,
    )


# -- new and edit ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaChoices:
    """The areas an official may choose: provinces, and the communes of each."""

    provinces: list[Area]
    communes: list[tuple[Area, list[Area]]]


async def _area_choices(session: AsyncSession, scope: Scope) -> AreaChoices:
    if scope.everything:
        provinces = await list_provinces(session)
    else:
        provinces = [a for a in await areas_of(session, scope.official_id) if a.parent_id is None]
    communes = [(p, await communes_of(session, p.id)) for p in provinces]
    return AreaChoices(provinces, communes)


async def _form_page(
    request: web.Request,
    form: RoundForm,
    *,
    round_: Round | None = None,
    status: int = 200,
    notice: str = "",
) -> web.Response:
    config = request.app[CONFIG]
    async with config.db.sessions() as session:
        scope = await _scope(session, request)
        choices = await _area_choices(session, scope)
    return signed_in_page(
        request,
        "rounds_form.html",
        status=status,
        section="rounds",
        form=form,
        round=round_,
        choices=choices,
        templates=_templates(rules(on=_today(request))),
        levels=ROUND_LEVELS,
        notice=notice,
    )


async def new_round_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    async with config.db.sessions() as session:
        scope = await _managed_scope(session, request)
        mine = [] if scope.everything else await areas_of(session, official.id)
    today = _today(request)
    templates = _templates(rules(on=today))
    wanted = request.query.get("template", "")
    chosen = next((t for t in templates if t.key == wanted), None)
    if chosen is None:  # the province round whose deadline comes first
        province = [t for t in templates if t.level == RoundLevel.PROVINCE] or templates
        chosen = min(province, key=lambda t: default_calendar(t.template, today)[2])
    areas = [str(a.id) for a in mine if a.parent_id is None]
    return await _form_page(request, _from_template(chosen, today, official.locale, areas))


def _rules_version(values: RoundValues) -> str:
    return rules(on=values.opens_on).version


async def round_create(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    t = translator(signed_in(request).official.locale)
    typed, values = _read_form(await request.post(), t)
    async with config.db.transaction() as session:
        scope = await _managed_scope(session, request)
        if values is not None:
            try:
                created = await create_round(
                    session,
                    scope,
                    values,
                    rules_version=_rules_version(values),
                    now=config.clock.now(),
                )
            except RoundError as error:
                _round_error(typed, error, t)
            else:
                await schedule_round_reminders(session, created, local_date(config.clock))
                return see_other(f"/console/rounds/{created.id}")
    return await _form_page(request, typed, status=400)


async def edit_round_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    async with config.db.sessions() as session:
        scope = await _managed_scope(session, request)
        round_ = await _round(session, scope, path_id(request))
        form = RoundForm.of(round_, await areas_of_round(session, round_.id))
    return await _form_page(request, form, round_=round_)


async def _last_editor(session: AsyncSession, round_id: int) -> str:
    """The name of the official who last created or changed the round."""
    actor = await session.scalar(
        select(AuditEntry.actor_id)
        .where(AuditEntry.entity == "round", AuditEntry.entity_id == round_id)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    official = await session.get(Official, actor) if actor else None
    return official.display_name if official else ""


async def round_update(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    t = translator(signed_in(request).official.locale)
    round_id = path_id(request)
    typed, values = _read_form(await request.post(), t)
    version = int(typed.version) if typed.version.isdigit() else 0
    try:
        async with config.db.transaction() as session:
            scope = await _managed_scope(session, request)
            round_ = await _round(session, scope, round_id)
            if values is not None:
                try:
                    updated = await update_round(
                        session, scope, round_.id, values, version=version, now=config.clock.now()
                    )
                except StaleRound:
                    raise
                except RoundError as error:
                    _round_error(typed, error, t)
                else:
                    today = local_date(config.clock)
                    await schedule_round_reminders(session, updated, today)
                    return see_other(f"/console/rounds/{round_id}")
    except StaleRound:
        async with config.db.sessions() as session:
            current = await session.get_one(Round, round_id)
            form = RoundForm.of(current, await areas_of_round(session, round_id))
            who = await _last_editor(session, round_id)
        notice = t.gettext(
            "Not saved: {name} changed this round after you opened the page. Here it is "
            "now; make your changes again."
        ).format(name=who or "—")
        return await _form_page(request, form, round_=current, status=409, notice=notice)
    return await _form_page(request, typed, round_=round_, status=400)


# -- the board ---------------------------------------------------------------------------------


async def _board_page(
    request: web.Request, round_id: int, *, status: int = 200, notice: str = ""
) -> web.Response:
    config = request.app[CONFIG]
    wanted = request.query.get("status", "")
    state = EntryStatus(wanted) if wanted in {str(s) for s in EntryStatus} else None
    after_text = request.query.get("after", "")
    after = int(after_text) if after_text.isascii() and after_text.isdigit() else 0
    async with config.db.sessions() as session:
        scope = await _scope(session, request)
        round_ = await _round(session, scope, round_id)
        seen = await board(session, scope, round_, status=state, after=min(after, 2**62))
        manager = may_manage(scope)
        unfiled = await unfiled_dossiers(session, round_, scope) if manager else []
        officials = await assignable_officials(session, round_) if manager else []
        areas = [await get_area(session, a) for a in await areas_of_round(session, round_.id)]
    return signed_in_page(
        request,
        "rounds_board.html",
        status=status,
        section="rounds",
        round=round_,
        phase=phase(round_, _today(request)),
        board=seen,
        state=state,
        unfiled=unfiled,
        officials=officials,
        manager=manager,
        areas=[a for a in areas if a is not None],
        levels=ROUND_LEVELS,
        phases=ROUND_PHASES,
        entry_states=ENTRY_STATES,
        assignable=(EntryStatus.SUBMITTED, EntryStatus.IN_REVIEW),
        notice=notice,
    )


async def board_page(request: web.Request) -> web.Response:
    return await _board_page(request, path_id(request))


def _number(form: Form, name: str) -> int | None:
    text = _text(form, name, 18)
    return int(text) if text.isascii() and text.isdigit() else None


async def entry_add(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    t = translator(signed_in(request).official.locale)
    round_id = path_id(request)
    dossier_id = _number(await request.post(), "dossier")
    try:
        async with config.db.transaction() as session:
            scope = await _managed_scope(session, request)
            round_ = await _round(session, scope, round_id)
            if dossier_id is None:
                raise RoundError("dossier", "no dossier given")
            await add_to_round(session, scope, round_, dossier_id, config.clock.now())
    except RoundError:
        notice = t.gettext("This dossier cannot be added to the round now; nothing was changed.")
        return await _board_page(request, round_id, status=409, notice=notice)
    return see_other(f"/console/rounds/{round_id}#entries")


async def entry_assign(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    t = translator(signed_in(request).official.locale)
    round_id = path_id(request)
    entry_id = path_id(request, "entry_id")
    form = await request.post()
    official_id, version = _number(form, "official"), _number(form, "version")
    if official_id is None or version is None:
        raise web.HTTPBadRequest()
    try:
        async with config.db.transaction() as session:
            scope = await _managed_scope(session, request)
            round_ = await _round(session, scope, round_id)
            entry = await session.get(RoundEntry, entry_id)
            if entry is None or entry.round_id != round_.id:
                raise web.HTTPNotFound()
            await assign(session, scope, entry_id, official_id, version, config.clock.now())
    except StaleRound:
        async with config.db.sessions() as session:
            entry = await session.get_one(RoundEntry, entry_id)
            who = await session.get(Official, entry.assigned_to) if entry.assigned_to else None
        notice = t.gettext(
            "Not saved: this entry changed after you opened the page (it is now assigned to "
            "{name}). Look at it again."
        ).format(name=who.display_name if who else "—")
        return await _board_page(request, round_id, status=409, notice=notice)
    except RoundError:
        notice = t.gettext("This entry cannot be assigned to that official; nothing was changed.")
        return await _board_page(request, round_id, status=409, notice=notice)
    return see_other(f"/console/rounds/{round_id}#entry-{entry_id}")
