"""Mounting the console: a sub-application at ``/console/`` with its routes, its static files
and the middlewares that guard every page (security headers, sign-in, CSRF)."""

from __future__ import annotations

from aiohttp import web

from console import (
    account,
    announcements,
    conversations,
    council,
    dashboard,
    lists,
    pages,
    results,
    review,
    rounds,
    scoring,
)
from console import audit as audit_log
from console.config import CONFIG, ConsoleConfig
from console.security import guard, security_headers

__all__ = ["ConsoleConfig", "mount_console"]


async def _to_console(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/console/")


def mount_console(web_app: web.Application, config: ConsoleConfig) -> None:
    """Add the console to ``web_app`` at ``/console/`` (``/console`` redirects there)."""
    console = web.Application(middlewares=[security_headers, guard])
    console[CONFIG] = config
    pages.add_routes(console.router)
    dashboard.add_routes(console.router)
    lists.add_routes(console.router)
    review.add_routes(console.router)
    conversations.add_routes(console.router)
    account.add_routes(console.router)
    audit_log.add_routes(console.router)
    rounds.add_routes(console.router)
    council.add_routes(console.router)
    scoring.add_routes(console.router)
    results.add_routes(console.router)
    announcements.add_routes(console.router)
    web_app.router.add_get("/console", _to_console)
    web_app.add_subapp("/console/", console)
