"""A round's results and the certificates: ``/console/rounds/{id}/results`` (the scored
entries, publishing them with a confirmation, issuing each certified entry's certificate),
``/console/certificates`` (a filtered list, search by number) and ``/console/certificates/{id}``
(details, the QR code to the public verify page, a printable label, revocation).

Every page asks the official's :class:`Scope`: a round is shown to an official whose areas it
covers (or who has an entry's producer in them), entries and certificates only of producers they
may see; anything else is 404. Commune officials read; province officials and administrators
publish, issue and revoke (each change audited, the producer told in chat).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import segno
from aiohttp import web
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_, translator
from bot.results_notify import (
    GROUNDS,
    issue_and_notify,
    publish_and_notify,
    revoke_and_notify,
    score_text,
    stars_text,
)
from bot.rules import rules
from console.config import CONFIG
from console.layout import signed_in_page
from console.render import path_id, see_other
from console.security import signed_in
from storage.areas import get_area, list_provinces
from storage.certificates import (
    CertificateRow,
    CertificateState,
    ResultsError,
    certificate_row,
    certificate_state,
    default_authority,
    entries_of_round,
    entry_certified,
    list_certificates,
)
from storage.clock import local_date
from storage.models import Area, Round, RoundArea, RoundEntry
from storage.officials import Scope, scope_of
from storage.rounds import round_in_scope
from storage.states import EntryStatus, OfficialRole, RevocationGround

__all__ = ["add_routes", "qr_svg", "verify_url"]

STATE_LABELS = {
    CertificateState.VALID: N_("Valid"),
    CertificateState.EXPIRED: N_("Expired"),
    CertificateState.REVOKED: N_("Revoked"),
}
ERRORS = {
    "not_closed": N_("The round's scores are not closed yet: results cannot be published."),
    "published": N_("The results of this round are already published."),
    "not_published": N_("The entry's results are not published yet."),
    "not_certified": N_("This entry did not earn a certificate (3★ or more, not knocked out)."),
    "issued": N_("This entry already has a certificate."),
    "authority": N_("Enter the certifying authority (up to 200 characters)."),
    "reason": N_("Enter the reason for the revocation."),
    "revoked": N_("This certificate is already revoked."),
    "before_issue": N_("A certificate cannot be revoked before the day it was issued."),
    "confirm": N_("Tick the box to confirm that the results are final."),
    "date": N_("Enter the issue date as dd/mm/yyyy."),
    "ground": N_("Choose the legal ground of the revocation."),
    "unknown": N_("This no longer exists."),
}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/rounds/{id:[0-9]{1,18}}/results", round_results, name="round_results")
    router.add_post(
        "/rounds/{id:[0-9]{1,18}}/results/publish", publish, name="round_results_publish"
    )
    router.add_post("/entries/{id:[0-9]{1,18}}/certificate", issue, name="entry_certificate")
    router.add_get("/certificates", certificates_page, name="certificates")
    router.add_get("/certificates/{id:[0-9]{1,18}}", certificate_page, name="certificate")
    router.add_post(
        "/certificates/{id:[0-9]{1,18}}/revoke", revoke_certificate, name="certificate_revoke"
    )


# -- QR codes ---------------------------------------------------------------------------------


def verify_url(request: web.Request, number: str) -> str:
    """The public page of a certificate: ``OCOP_PUBLIC_URL`` (or ``OCOP_CONSOLE_URL``), else
    the address this request came to, then ``/verify/<number>``."""
    base = request.app[CONFIG].public_url or str(request.url.origin())
    return f"{base.rstrip('/')}/verify/{number}"


def qr_svg(url: str, *, scale: int = 4, title: str = "") -> Markup:
    """The QR code of ``url`` as inline SVG (medium error correction, quiet zone kept)."""
    code = segno.make(url, error="m", micro=False)
    svg = code.svg_inline(
        scale=scale, title=title or None, svgclass="qr", lineclass=None, omitsize=True
    )
    return Markup(svg)  # segno writes the markup and escapes the title


# -- access -----------------------------------------------------------------------------------


def _may_change(request: web.Request) -> bool:
    return signed_in(request).official.role != OfficialRole.COMMUNE


def _forbid_commune(request: web.Request) -> None:
    if not _may_change(request):
        raise web.HTTPForbidden()


async def _readable_round(session: AsyncSession, scope: Scope, round_id: int) -> Round:
    """The round if the official may see it (``storage.rounds.round_in_scope``), or if it has
    an entry of a producer they see; 404 otherwise."""
    found = await round_in_scope(session, scope, round_id)
    if found is None and await entries_of_round(session, round_id, scope):
        found = await session.get(Round, round_id)
    if found is None:
        raise web.HTTPNotFound()
    return found


async def _round_province(session: AsyncSession, round_id: int) -> Area | None:
    """The province a round covers (the first of its areas, or the parent of a commune)."""
    for area_id in await session.scalars(
        select(RoundArea.area_id).where(RoundArea.round_id == round_id).order_by(RoundArea.area_id)
    ):
        area = await get_area(session, area_id)
        while area is not None and area.parent_id is not None:
            area = await get_area(session, area.parent_id)
        if area is not None:
            return area
    return None


# -- a round's results ------------------------------------------------------------------------


@dataclass
class IssueForm:
    """What an official typed to issue one entry's certificate, and what is wrong with it."""

    issued_on: str
    authority: str
    error: str = ""


async def _results_page(
    request: web.Request,
    round_id: int,
    *,
    notice: str = "",
    forms: dict[int, IssueForm] | None = None,
    status: int = 200,
) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    t = translator(official.locale)
    today = local_date(config.clock)
    async with config.db.sessions() as session:
        scope = await scope_of(session, official)
        round_ = await _readable_round(session, scope, round_id)
        rows = await entries_of_round(session, round_id, scope)
        province = await _round_province(session, round_id)
    authority = default_authority(round_.level, province.name if province else None)
    rule_set = rules(round_.rules_version)
    shown = [
        row for row in rows if row.entry.status in (EntryStatus.SCORED, EntryStatus.PUBLISHED)
    ]
    issue_forms = dict(forms or {})
    for row in shown:
        issue_forms.setdefault(row.entry.id, IssueForm(t.date(today), authority))
    return signed_in_page(
        request,
        "results_round.html",
        status=status,
        section="certificates",
        round=round_,
        rows=shown,
        waiting=len(rows) - len(shown),
        notice=notice,
        forms=issue_forms,
        may_change=_may_change(request),
        certified=lambda entry: entry_certified(entry, rule_set),
        score_text=lambda score: score_text(t, score),
        stars_text=stars_text,
    )


async def round_results(request: web.Request) -> web.Response:
    return await _results_page(request, path_id(request))


async def publish(request: web.Request) -> web.StreamResponse:
    _forbid_commune(request)
    config = request.app[CONFIG]
    official = signed_in(request).official
    t = translator(official.locale)
    round_id = path_id(request)
    form = await request.post()
    if form.get("confirm") != "1":
        return await _results_page(
            request, round_id, notice=t.gettext(ERRORS["confirm"]), status=400
        )
    try:
        async with config.db.transaction() as session:
            await _readable_round(session, await scope_of(session, official), round_id)
            await publish_and_notify(
                session, round_id, official_id=official.id, now=config.clock.now()
            )
    except ResultsError as error:
        notice = t.gettext(ERRORS.get(error.problem, ERRORS["unknown"]))
        return await _results_page(request, round_id, notice=notice, status=409)
    return see_other(f"/console/rounds/{round_id}/results")


def _parse_day(typed: str) -> date | None:
    """A date typed dd/mm/yyyy (or yyyy-mm-dd, as a date field sends it)."""
    text = typed.strip()
    try:
        if "-" in text:
            return date.fromisoformat(text)
        day, month, year = (int(part) for part in text.split("/"))
        return date(year, month, day)
    except ValueError:
        return None


def _text(form: Any, name: str, limit: int) -> str:
    value = form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


async def issue(request: web.Request) -> web.StreamResponse:
    _forbid_commune(request)
    config = request.app[CONFIG]
    official = signed_in(request).official
    t = translator(official.locale)
    entry_id = path_id(request)
    form = await request.post()
    typed = IssueForm(_text(form, "issued_on", 20), _text(form, "authority", 400))
    async with config.db.sessions() as session:
        scope = await scope_of(session, official)
        entry = await session.get(RoundEntry, entry_id)
        if entry is None or not await scope.may_see_producer(session, entry.producer_id):
            raise web.HTTPNotFound()
        round_id = entry.round_id
    issued_on = _parse_day(typed.issued_on)
    if issued_on is None:
        typed.error = t.gettext(ERRORS["date"])
        return await _results_page(request, round_id, forms={entry_id: typed}, status=400)
    try:
        async with config.db.transaction() as session:
            certificate = await issue_and_notify(
                session, entry_id, issued_on=issued_on, authority=typed.authority,
                official_id=official.id, now=config.clock.now(),
            )  # fmt: skip
            certificate_id = certificate.id
    except ResultsError as error:
        notice = t.gettext(ERRORS.get(error.problem, ERRORS["unknown"]))
        return await _results_page(
            request, round_id, notice=notice, forms={entry_id: typed}, status=409
        )
    return see_other(f"/console/certificates/{certificate_id}")


# -- certificates -----------------------------------------------------------------------------


async def certificates_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    query = request.query
    state = query.get("state", "")
    state = state if state in STATE_LABELS else ""
    stars_typed = query.get("stars", "")
    stars = int(stars_typed) if stars_typed in {"1", "2", "3", "4", "5"} else None
    area = query.get("area", "")[:20]
    number = query.get("number", "").strip()[:40]
    today = local_date(config.clock)
    async with config.db.sessions() as session:
        scope = await scope_of(session, official)
        rows = await list_certificates(
            session, scope, today=today, state=state or None, stars=stars,
            area_code=area or None, number=number or None,
        )  # fmt: skip
        provinces = await list_provinces(session)
    return signed_in_page(
        request,
        "certificates_list.html",
        section="certificates",
        rows=rows,
        states={row.certificate.id: certificate_state(row.certificate, today) for row in rows},
        state_labels=STATE_LABELS,
        provinces=provinces,
        chosen={"state": state, "stars": stars_typed, "area": area, "number": number},
        stars_text=stars_text,
    )


async def _certificate_page(
    request: web.Request, certificate_id: int, *, notice: str = "", status: int = 200,
    typed: dict[str, str] | None = None,
) -> web.Response:  # fmt: skip
    config = request.app[CONFIG]
    official = signed_in(request).official
    today = local_date(config.clock)
    async with config.db.sessions() as session:
        row = await _readable_certificate(
            session, await scope_of(session, official), certificate_id
        )
    url = verify_url(request, row.certificate.number)
    return signed_in_page(
        request,
        "certificate_show.html",
        status=status,
        section="certificates",
        row=row,
        c=row.certificate,
        state=certificate_state(row.certificate, today),
        state_labels=STATE_LABELS,
        grounds=GROUNDS,
        url=url,
        qr=qr_svg(url, title=row.certificate.number),
        label_qr=qr_svg(url, scale=3, title=row.certificate.number),
        notice=notice,
        may_change=_may_change(request),
        typed={"ground": "", "reason": "", **(typed or {})},
        stars_text=stars_text,
    )


async def _readable_certificate(
    session: AsyncSession, scope: Scope, certificate_id: int
) -> CertificateRow:
    """The certificate if its producer is in the official's areas; 404 otherwise."""
    row = await certificate_row(session, certificate_id)
    if row is None or not await scope.may_see_producer(session, row.certificate.producer_id):
        raise web.HTTPNotFound()
    return row


async def certificate_page(request: web.Request) -> web.Response:
    return await _certificate_page(request, path_id(request))


async def revoke_certificate(request: web.Request) -> web.StreamResponse:
    _forbid_commune(request)
    config = request.app[CONFIG]
    official = signed_in(request).official
    t = translator(official.locale)
    certificate_id = path_id(request)
    form = await request.post()
    typed = {"ground": _text(form, "ground", 40), "reason": _text(form, "reason", 4000)}
    async with config.db.sessions() as session:
        await _readable_certificate(session, await scope_of(session, official), certificate_id)
    if typed["ground"] not in GROUNDS:
        notice = t.gettext(ERRORS["ground"])
        return await _certificate_page(
            request, certificate_id, notice=notice, status=400, typed=typed
        )
    try:
        async with config.db.transaction() as session:
            await revoke_and_notify(
                session, certificate_id, ground=RevocationGround(typed["ground"]),
                reason=typed["reason"], official_id=official.id,
                today=local_date(config.clock), now=config.clock.now(),
            )  # fmt: skip
    except ResultsError as error:
        notice = t.gettext(ERRORS.get(error.problem, ERRORS["unknown"]))
        return await _certificate_page(
            request, certificate_id, notice=notice, status=409, typed=typed
        )
    return see_other(f"/console/certificates/{certificate_id}")
