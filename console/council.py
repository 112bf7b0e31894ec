"""Evaluation councils: ``/console/council`` (the rounds whose council the official sits on or
manages), ``/console/rounds/{id}/council`` (members and how far each has scored, the entries
to score, adding and removing members, closing the scores with a confirmation).

Who reaches a round's council: its members, and its managers (administrators; province
officials of an area the round covers); anyone else finds no such page (404). Only managers
change the members; managers and the chair close the scores. The rules are kept in
:mod:`storage.council` and :mod:`storage.score_sheets`; this module says them in the official's
language.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_, translator
from bot.validators import parse_id
from console.config import CONFIG
from console.layout import signed_in_page
from console.render import path_id, see_other
from console.scoring import points_text
from console.security import signed_in
from storage.council import (
    CouncilError,
    add_member,
    candidates,
    may_manage,
    progress_of,
    remove_member,
    seat_of,
)
from storage.models import Round
from storage.officials import Scope, scope_of
from storage.score_sheets import (
    MissingSheets,
    NotAllowed,
    ScoresClosed,
    close_scores,
    entries_of_round,
)
from storage.states import EntryStatus

__all__ = ["ENTRY_STATES", "add_routes"]

ENTRY_STATES = {  # keyed by EntryStatus
    EntryStatus.SUBMITTED: N_("Filed, not yet in review"),
    EntryStatus.IN_REVIEW: N_("In review: to score"),
    EntryStatus.SCORED: N_("Scored"),
    EntryStatus.PUBLISHED: N_("Results published"),
}
COUNCIL_ERRORS = {
    "closed": N_("The scores of this round are closed: the council no longer changes."),
    "not_council": N_("Only officials with the council role can sit on a council."),
    "member": N_("This official already sits on the council."),
    "not_member": N_("This official does not sit on the council."),
    "has_sheets": N_(
        "This member has submitted score sheets: they stay on the council so that their "
        "scores count."
    ),
}
ROUND_LIST_LIMIT = 200


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/council", my_councils, name="councils")
    router.add_get("/rounds/{id:[0-9]+}/council", council_page, name="council")
    router.add_post("/rounds/{id:[0-9]+}/council/members", member_add, name="council_add")
    router.add_post(
        "/rounds/{id:[0-9]+}/council/members/{official:[0-9]+}/remove",
        member_remove,
        name="council_remove",
    )
    router.add_post("/rounds/{id:[0-9]+}/council/close", scores_close, name="council_close")


@dataclass(frozen=True)
class RoundAccess:
    """A round as one official reaches it: chair, member, manager."""

    round: Round
    member: bool
    chair: bool
    manages: bool

    @property
    def may_close(self) -> bool:
        return self.round.scores_closed_at is None and (self.manages or self.chair)


async def _access(session: AsyncSession, scope: Scope, round_id: int) -> RoundAccess | None:
    round_ = await session.get(Round, round_id)
    if round_ is None:
        return None
    seat = await seat_of(session, round_id, scope.official_id)
    manages = await may_manage(session, scope, round_)
    if seat is None and not manages:
        return None
    return RoundAccess(round_, seat is not None, bool(seat and seat.chair), manages)


async def my_councils(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    async with config.db.sessions() as session:
        scope = await scope_of(session, signed_in(request).official)
        rounds = await session.scalars(
            select(Round).order_by(Round.opens_on.desc(), Round.id.desc()).limit(ROUND_LIST_LIMIT)
        )
        found = [a for r in rounds if (a := await _access(session, scope, r.id)) is not None]
    return signed_in_page(request, "council_rounds.html", section="council", rounds=found)


async def _render(
    request: web.Request, round_id: int, *, status: int = 200, notice: str = "",
    missing: list[tuple[int, str]] | None = None,
) -> web.Response:  # fmt: skip
    config = request.app[CONFIG]
    official = signed_in(request).official
    t = translator(official.locale)
    async with config.db.sessions() as session:
        access = await _access(session, await scope_of(session, official), round_id)
        if access is None:
            raise web.HTTPNotFound()
        progress = await progress_of(session, round_id)
        entries = await entries_of_round(session, round_id, official.id)
        choices = await candidates(session, round_id) if access.manages else []
    return signed_in_page(
        request,
        "council_round.html",
        status=status,
        section="council",
        access=access,
        progress=progress,
        entries=entries,
        candidates=choices,
        entry_states=ENTRY_STATES,
        notice=notice,
        missing=missing or [],
        points=lambda value: points_text(t, value),
    )


async def council_page(request: web.Request) -> web.Response:
    return await _render(request, path_id(request))


async def _managed(request: web.Request, round_id: int) -> RoundAccess:
    """The round for a change to its members: 404 out of reach, 403 for a member who does
    not manage it."""
    config = request.app[CONFIG]
    async with config.db.sessions() as session:
        access = await _access(
            session, await scope_of(session, signed_in(request).official), round_id
        )
    if access is None:
        raise web.HTTPNotFound()
    if not access.manages:
        raise web.HTTPForbidden()
    return access


async def _change(request: web.Request, round_id: int, official_id: int | None, add: bool,
                  chair: bool = False) -> web.Response:  # fmt: skip
    config = request.app[CONFIG]
    official = signed_in(request).official
    t = translator(official.locale)
    if official_id is None:
        notice = t.gettext("Choose an official with the council role.")
        return await _render(request, round_id, status=400, notice=notice)
    try:
        async with config.db.transaction() as session:
            round_ = await session.get_one(Round, round_id)
            if add:
                await add_member(
                    session, round_, official_id, chair=chair, actor_id=official.id,
                    clock=config.clock,
                )  # fmt: skip
            else:
                await remove_member(
                    session, round_, official_id, actor_id=official.id, clock=config.clock
                )
    except CouncilError as refused:
        notice = t.gettext(COUNCIL_ERRORS[refused.reason])
        return await _render(request, round_id, status=409, notice=notice)
    return see_other(f"/console/rounds/{round_id}/council#members")


async def member_add(request: web.Request) -> web.Response:
    round_id = path_id(request)
    await _managed(request, round_id)
    form = await request.post()
    typed = form.get("official")
    official_id = parse_id(typed) if isinstance(typed, str) else None
    return await _change(request, round_id, official_id, True, chair=form.get("chair") == "1")


async def member_remove(request: web.Request) -> web.Response:
    round_id = path_id(request)
    await _managed(request, round_id)
    return await _change(request, round_id, path_id(request, "official"), False)


async def scores_close(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    t = translator(official.locale)
    round_id = path_id(request)
    async with config.db.sessions() as session:
        access = await _access(session, await scope_of(session, official), round_id)
    if access is None:
        raise web.HTTPNotFound()
    if (await request.post()).get("confirm") != "1":
        notice = t.gettext("Tick the box to confirm that the scores are final, then close them.")
        return await _render(request, round_id, status=400, notice=notice)
    try:
        async with config.db.transaction() as session:
            await close_scores(
                session, round_id, await scope_of(session, official), clock=config.clock
            )
    except NotAllowed:
        raise web.HTTPForbidden() from None
    except ScoresClosed:
        notice = t.gettext("The scores of this round are already closed.")
        return await _render(request, round_id, status=409, notice=notice)
    except MissingSheets as refused:
        if not refused.entries:
            notice = t.gettext("No entry of this round is in review: there is nothing to score.")
        else:
            notice = t.gettext(
                "Not closed: these entries have no submitted score sheet yet. Each entry in "
                "review needs at least one."
            )
        return await _render(request, round_id, status=409, notice=notice, missing=refused.entries)
    return see_other(f"/console/rounds/{round_id}/council")
