"""Scoring an entry: ``/console/entries/{entry_id}/score`` and one member's sheet,
``/console/entries/{entry_id}/sheets/{official_id}``.

A council member sees the product, its set, a link to its dossier and their own sheet: the
set's sections by part (A, B, C) with their maxima, the star-minimum criteria to tick as met,
the knock-out conditions, a note; they save a draft or submit. A save made from a page older
than the sheet is refused (409) with what was typed kept on the page. Until the round's scores
are closed nobody sees another member's sheet (the storage functions refuse it, 403 here);
after, the page shows every sheet and the outcome: average, stars by points and after the
caps, the minimums that capped it, knock-outs, potential 5★ and the rules version. Names of
sections and criteria come from the rules data, in the official's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web
from babel.numbers import format_decimal

from bot.i18n import N_, Translator, translator
from bot.rules import RuleSet, ScoreSection
from console.config import CONFIG
from console.layout import signed_in_page
from console.render import path_id, see_other
from console.security import signed_in
from storage.models import Official, ScoreSheet
from storage.officials import scope_of
from storage.score_sheets import (
    NOTE_LIMIT,
    EntryAccess,
    NotAllowed,
    NotInReview,
    ScoresClosed,
    SheetForm,
    SheetInvalid,
    SheetSealed,
    StaleSheet,
    entry_access,
    read_sheet,
    save_sheet,
    sheets_for,
)
from storage.states import EntryStatus

__all__ = ["add_routes", "points_text"]

PROBLEMS = {
    "missing": N_("Enter the points."),
    "number": N_("Enter a number, such as 12.5."),
    "decimals": N_("Use at most two decimals."),
    "unknown": N_("Tick only the criteria listed."),
}
SAVED = {
    "draft": N_("Draft saved. Other members cannot see it."),
    "submitted": N_("Sheet submitted. You can still change it until the scores are closed."),
}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/entries/{id:[0-9]+}/score", score_page, name="score")
    router.add_post("/entries/{id:[0-9]+}/score", score_save, name="score_save")
    router.add_get("/entries/{id:[0-9]+}/sheets/{official:[0-9]+}", sheet_page, name="score_sheet")


def points_text(t: Translator, value: Decimal | None) -> str:
    """Points with two decimals in the official's language ("92,83")."""
    if value is None:
        return ""
    return format_decimal(value, format="#,##0.00", locale=t.babel_locale)


@dataclass(frozen=True)
class SheetView:
    """One member's sheet as the page shows it."""

    official: Official
    sheet: ScoreSheet

    def value(self, code: str) -> Decimal | None:
        text = self.sheet.points.get(code)
        return None if text is None else Decimal(text)

    @property
    def total(self) -> Decimal:
        return sum((Decimal(v) for v in self.sheet.points.values()), Decimal(0))


@dataclass
class Typed:
    """The form as shown: the saved sheet, or what was just typed."""

    points: dict[str, str] = field(default_factory=dict)
    minimums: set[str] = field(default_factory=set)
    knockouts: set[str] = field(default_factory=set)
    note: str = ""
    version: int = 0
    submitted: bool = False

    @classmethod
    def of(cls, sheet: ScoreSheet | None) -> Typed:
        if sheet is None:
            return cls()
        return cls(
            dict(sheet.points), set(sheet.minimums_met), set(sheet.knockouts), sheet.note,
            sheet.version, sheet.submitted_at is not None,
        )  # fmt: skip


def _parts(
    rule_set: RuleSet, set_number: int, locale: str
) -> list[tuple[str, list[ScoreSection]]]:
    """The set's sections grouped by part, each part with its name from the rules."""
    sections = rule_set.score_sheet(set_number)
    grouped = []
    for part in rule_set.scoring_parts:
        mine = [s for s in sections if s.part == part.code]
        if mine:
            heading = f"{part.code}. {part.name(locale)} ({part.max_points})"
            grouped.append((heading, mine))
    return grouped


def _names(rule_set: RuleSet, set_number: int, locale: str) -> dict[str, str]:
    """The names of the set's sections, star minimums and knock-outs, by code."""
    return {
        **{s.code: s.name(locale) for s in rule_set.score_sheet(set_number)},
        **{m.code: m.name(locale) for m in rule_set.minimums_for(set_number)},
        **{k.code: k.name(locale) for k in rule_set.knockouts_for(set_number)},
    }


def _problem_text(t: Translator, code: str, problem: str, maxima: dict[str, int]) -> str:
    if problem == "range" and code in maxima:
        return t.gettext("Enter points from 0 to {max}.").format(max=maxima[code])
    if problem == "long":
        return t.gettext("Up to {n} characters.").format(n=t.number(NOTE_LIMIT))
    if problem in PROBLEMS:
        return t.gettext(PROBLEMS[problem])
    return problem  # the rules' own words (bot.scoring.sheet_errors)


async def _access(request: web.Request, entry_id: int) -> EntryAccess:
    config = request.app[CONFIG]
    async with config.db.sessions() as session:
        found = await entry_access(
            session, entry_id, await scope_of(session, signed_in(request).official)
        )
    if found is None:
        raise web.HTTPNotFound()
    return found


async def _render(
    request: web.Request, access: EntryAccess, *, typed: Typed | None = None,
    problems: dict[str, str] | None = None, status: int = 200, notice: str = "",
) -> web.Response:  # fmt: skip
    config = request.app[CONFIG]
    official = signed_in(request).official
    t = translator(official.locale)
    locale = official.locale
    rule_set = access.rule_set
    number = access.set_number
    async with config.db.sessions() as session:
        sheets = [
            SheetView(o, s) for s, o in await sheets_for(session, access, reader_id=official.id)
        ]
    own = next((v.sheet for v in sheets if v.official.id == official.id), None)
    sections = rule_set.score_sheet(number)
    maxima = {s.code: s.max_points for s in sections}
    errors = {k: _problem_text(t, k, v, maxima) for k, v in (problems or {}).items()}
    entry = access.entry
    return signed_in_page(
        request,
        "council_score.html",
        status=status,
        section="council",
        access=access,
        product_set=f"{number}. {rule_set.product_set(number).name(locale)}",
        parts=_parts(rule_set, number, locale),
        minimums=[(m, m.name(locale)) for m in rule_set.minimums_for(number)],
        knockouts=[(k, k.name(locale)) for k in rule_set.knockouts_for(number)],
        names=_names(rule_set, number, locale),
        typed=typed or Typed.of(own),
        errors=errors,
        may_score=access.seat is not None
        and not access.closed
        and entry.status == EntryStatus.IN_REVIEW,
        sheets=sheets if access.closed else [],
        sections=sections,
        points=lambda value: points_text(t, value),
        notice=notice or _saved_notice(request, t),
        note_limit=NOTE_LIMIT,
    )


def _saved_notice(request: web.Request, t: Translator) -> str:
    saved = request.query.get("saved", "")
    return t.gettext(SAVED[saved]) if saved in SAVED else ""


async def score_page(request: web.Request) -> web.Response:
    return await _render(request, await _access(request, path_id(request)))


def _form(posted: Any, access: EntryAccess) -> tuple[SheetForm, Typed, int | None]:
    points = {
        s.code: str(posted.get(f"points-{s.code}", ""))[:40]
        for s in access.rule_set.score_sheet(access.set_number)
    }
    minimums = {str(v) for v in posted.getall("minimum", [])}
    knockouts = {str(v) for v in posted.getall("knockout", [])}
    note = str(posted.get("note", ""))
    version = str(posted.get("version", ""))
    expected = int(version) if version.isdigit() and len(version) < 10 else None
    typed = Typed(points, minimums, knockouts, note, expected or 0)
    return SheetForm(points, minimums, knockouts, note), typed, expected


async def score_save(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    t = translator(official.locale)
    entry_id = path_id(request)
    access = await _access(request, entry_id)
    posted = await request.post()
    action = posted.get("action")
    form, typed, expected = _form(posted, access)
    if action not in ("draft", "submit") or expected is None:
        raise web.HTTPBadRequest()
    try:
        async with config.db.transaction() as session:
            await save_sheet(
                session, entry_id, official.id, form, submit=action == "submit",
                expected_version=expected, clock=config.clock,
            )  # fmt: skip
    except NotAllowed:
        raise web.HTTPForbidden() from None
    except SheetInvalid as invalid:
        return await _render(request, access, typed=typed, problems=invalid.problems, status=400)
    except StaleSheet as stale:
        typed.version = stale.version
        when = t.datetime(stale.updated_at) if stale.updated_at else ""
        notice = t.gettext(
            "Not saved: your sheet was saved from another page ({when}) after you opened this "
            "one. What you typed is below: check it against the saved sheet and save again."
        ).format(when=when)
        return await _render(request, access, typed=typed, status=409, notice=notice)
    except (ScoresClosed, NotInReview):
        notice = t.gettext("This entry is no longer being scored; nothing was saved.")
        return await _render(request, await _access(request, entry_id), status=409, notice=notice)
    saved = "submitted" if action == "submit" else "draft"
    return see_other(f"/console/entries/{entry_id}/score?saved={saved}")


async def sheet_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    access = await _access(request, path_id(request))
    owner_id = path_id(request, "official")
    async with config.db.sessions() as session:
        try:
            sheet = await read_sheet(session, access, owner_id, reader_id=official.id)
        except SheetSealed:
            return signed_in_page(request, "council_sealed.html", status=403, access=access)
        owner = await session.get(Official, owner_id)
    if sheet is None or owner is None:
        raise web.HTTPNotFound()
    t = translator(official.locale)
    rule_set, number, locale = access.rule_set, access.set_number, official.locale
    return signed_in_page(
        request,
        "council_sheet.html",
        section="council",
        access=access,
        view=SheetView(owner, sheet),
        sections=rule_set.score_sheet(number),
        names=_names(rule_set, number, locale),
        points=lambda value: points_text(t, value),
    )
