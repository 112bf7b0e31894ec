"""Who may open the announcements' pages: province officials and administrators
(:func:`storage.announcements.may_announce`); commune officials get a page saying so (403),
and an announcement written outside the official's scope is a page that does not exist."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from console.layout import signed_in_page
from console.security import signed_in
from storage.announcements import announcement_in_scope, may_announce
from storage.models import Announcement, AuditEntry, Official
from storage.officials import Scope, scope_of

__all__ = ["announcement_of", "announcer_scope", "last_editor"]


def _forbidden(request: web.Request) -> web.HTTPForbidden:
    return web.HTTPForbidden(
        text=signed_in_page(request, "announcements_forbidden.html", status=403).text,
        content_type="text/html",
    )


async def announcer_scope(session: AsyncSession, request: web.Request) -> Scope:
    """The official's scope when they may announce; 403 with a page otherwise."""
    scope = await scope_of(session, signed_in(request).official)
    if not may_announce(scope):
        raise _forbidden(request)
    return scope


async def announcement_of(
    session: AsyncSession, scope: Scope, announcement_id: int
) -> Announcement:
    """The announcement the official may see; 404 otherwise."""
    found = await announcement_in_scope(session, scope, announcement_id)
    if found is None:
        raise web.HTTPNotFound()
    return found


async def last_editor(session: AsyncSession, announcement_id: int) -> str:
    """The name of the official who last changed the announcement."""
    actor = await session.scalar(
        select(AuditEntry.actor_id)
        .where(AuditEntry.entity == "announcement", AuditEntry.entity_id == announcement_id)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    official = await session.get(Official, actor) if actor else None
    return official.display_name if official else "—"
