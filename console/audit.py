"""The audit log page (``/console/audit``): who did what, when and why, newest first, filtered
by official, producer, action and dates, a page at a time, within the official's scope.

Dates are days in Vietnam (Asia/Ho_Chi_Minh); a filter's values that cannot be read are left
out (and the form shows them empty), except a producer the official may not see: 404.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select

from bot.i18n import N_, TIMEZONE, translator
from bot.validators import parse_id
from console.config import CONFIG
from console.layout import signed_in_page
from console.security import signed_in
from storage.audit import AuditFilter, AuditRow, officials_by_name, read_audit
from storage.models import Producer
from storage.officials import scope_of
from storage.states import ActorKind

__all__ = ["ACTIONS", "add_routes"]

# The actions the chat and the console write, as an official reads them.
ACTIONS = {
    "producer.registered": N_("Producer registered"),
    "producer.updated": N_("Producer profile changed"),
    "producer.member_joined": N_("Member joined the producer"),
    "join_code.created": N_("Invitation code created"),
    "join_code.revoked": N_("Invitation code revoked"),
    "link_code.created": N_("Code to link another app made"),
    "user.chats_linked": N_("Chat on another app linked"),
    "user.chat_unlinked": N_("Chat on another app unlinked"),
    "product.registered": N_("Product registered"),
    "document.uploaded": N_("Document uploaded"),
    "document.approved": N_("Document approved"),
    "document.has_issues": N_("Document sent back"),
    "document.rejected": N_("Document rejected"),
    "dossier.submitted": N_("Dossier submitted"),
    "dossier.approved": N_("Dossier accepted as valid"),
    "dossier.has_issues": N_("Dossier sent back"),
    "dossier.rejected": N_("Dossier rejected"),
    "plan.create": N_("Plan created"),
    "plan.update": N_("Plan changed"),
    "plan.delete": N_("Plan deleted"),
    "plan.target_add": N_("Plan target added"),
    "plan.target_delete": N_("Plan target deleted"),
    "round.created": N_("Round created"),
    "round.updated": N_("Round changed"),
    "round.entered": N_("Dossier entered in a round"),
    "round.assigned": N_("Round entry assigned"),
    "round.scores_closed": N_("Round's scores closed"),
    "round.publish_results": N_("Round's results published"),
    "council.add": N_("Council member added"),
    "council.remove": N_("Council member removed"),
    "sheet.saved": N_("Score sheet saved as a draft"),
    "sheet.submitted": N_("Score sheet submitted"),
    "entry.scored": N_("Entry's outcome computed"),
    "certificate.issue": N_("Certificate issued"),
    "certificate.revoke": N_("Certificate revoked"),
    "question.ask": N_("Question left for the office"),
    "question.close": N_("Question closed"),
    "producer.answer": N_("Producer answered from the console"),
    "file.viewed": N_("Uploaded file opened"),
    "dossier.downloaded": N_("Dossier downloaded as a ZIP"),
    "announcement.created": N_("Announcement written"),
    "announcement.updated": N_("Announcement changed"),
    "announcement.scheduled": N_("Announcement scheduled"),
    "announcement.cancelled": N_("Announcement cancelled"),
    "announcements.muted": N_("Announcements muted by the producer"),
    "announcements.unmuted": N_("Announcements unmuted by the producer"),
    "official.add": N_("Official added"),
    "official.disable": N_("Official disabled"),
    "official.reset_password": N_("Official's password reset"),
    "official.change_password": N_("Official changed their password"),
    "official.council_on": N_("Official given the council role"),
    "official.council_off": N_("Official's council role removed"),
    "official.chat_linked": N_("Official's chat linked"),
    "official.chat_unlinked": N_("Official's chat unlinked"),
    "official.link_code_created": N_("Official's link code created"),
    "official.link_code_revoked": N_("Official's link code revoked"),
    "official.notifications_set": N_("Official's notifications changed"),
}
ENTITIES = {
    "producer": N_("Producer #{id}"),
    "product": N_("Product #{id}"),
    "dossier": N_("Dossier #{id}"),
    "dossier_document": N_("Document #{id}"),
    "official": N_("Official #{id}"),
    "round": N_("Round #{id}"),
    "round_entry": N_("Round entry #{id}"),
    "certificate": N_("Certificate #{id}"),
    "question": N_("Question #{id}"),
    "plan": N_("Plan #{id}"),
    "announcement": N_("Announcement #{id}"),
    "user": N_("Person #{id}"),
    "document_file": N_("File #{id}"),
}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/audit", audit_page, name="audit")


def _day(typed: str | None) -> date | None:
    try:
        return date.fromisoformat(typed) if typed else None
    except ValueError:
        return None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=TIMEZONE)


@dataclass(frozen=True)
class Query:
    """The page's query string, read: the filter and where the page starts."""

    official: int | None
    producer: int | None
    action: str
    since: date | None
    until: date | None
    before: int | None

    @classmethod
    def read(cls, query: Any) -> Query:
        def number(name: str) -> int | None:
            return parse_id(query.get(name, ""))

        action = query.get("action", "")
        return cls(
            official=number("official"),
            producer=number("producer"),
            action=action if len(action) <= 60 else "",
            since=_day(query.get("from")),
            until=_day(query.get("to")),
            before=number("before"),
        )

    def filter(self) -> AuditFilter:
        return AuditFilter(
            official_id=self.official,
            producer_id=self.producer,
            action=self.action or None,
            since=_start_of(self.since) if self.since else None,
            until=_start_of(self.until + timedelta(days=1)) if self.until else None,
        )

    def link(self, before: int | None = None) -> str:
        """This filter's page (the newest entries, or those older than ``before``)."""
        values = {
            "official": self.official,
            "producer": self.producer,
            "action": self.action,
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            "before": before,
        }
        kept = {k: v for k, v in values.items() if v not in (None, "")}
        return "/console/audit" + (f"?{urlencode(kept)}" if kept else "")


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Line:
    """One entry as the page shows it (every text escaped by the template)."""

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    producer_id: int | None
    producer: str | None
    reason: str | None
    details: list[tuple[str, str]]


def _line(row: AuditRow, gettext: Any) -> Line:
    entry = row.entry
    if entry.actor_kind == ActorKind.OFFICIAL:
        actor = (
            f"{row.official_name} ({row.official_username})"
            if row.official_name is not None
            else gettext("Official #{id}").format(id=entry.actor_id)
        )
    elif entry.actor_kind == ActorKind.USER:
        actor = gettext("Chat user #{id}").format(id=entry.actor_id)
    else:
        actor = gettext("The system")
    label = ACTIONS.get(entry.action)
    entity = ENTITIES.get(entry.entity)
    details = dict(entry.details or {})
    reason = details.pop("reason", None)
    return Line(
        id=entry.id,
        at=entry.at,
        actor=actor,
        action=gettext(label) if label else entry.action,
        entity=gettext(entity).format(id=entry.entity_id) if entity else entry.entity,
        producer_id=entry.producer_id,
        producer=row.producer_name,
        reason=None if reason is None else _value(reason),
        details=[(key, _value(value)) for key, value in sorted(details.items())],
    )


async def audit_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    query = Query.read(request.query)
    gettext = translator(official.locale).gettext
    async with config.db.sessions() as session:
        scope = await scope_of(session, official)
        producer_name = None
        if query.producer is not None:
            if not await scope.may_see_producer(session, query.producer):
                raise web.HTTPNotFound()
            producer_name = await session.scalar(
                select(Producer.name).where(Producer.id == query.producer)
            )
        page = await read_audit(session, scope, query.filter(), before=query.before)
        officials = [
            (o.id, f"{o.display_name} ({o.username})") for o in await officials_by_name(session)
        ]
    actions = sorted(
        ((key, gettext(label)) for key, label in ACTIONS.items()), key=lambda pair: pair[1]
    )
    if query.action and query.action not in ACTIONS:
        actions.append((query.action, query.action))
    return signed_in_page(
        request,
        "audit_log.html",
        query=query,
        lines=[_line(row, gettext) for row in page.rows],
        older=query.link(page.older) if page.older is not None else None,
        newest=query.link() if query.before is not None else None,
        officials=officials,
        actions=actions,
        producer_name=producer_name,
    )
