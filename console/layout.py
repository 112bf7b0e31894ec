"""The page of a signed-in official: their template rendered in their language, with what the
shared layout (``page.html``: sections, language switch, sign-out) needs."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from console.render import html_page
from console.security import signed_in

__all__ = ["signed_in_page"]


def signed_in_page(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    """``template`` (extending ``page.html``) for the official signed in on ``request``."""
    current = signed_in(request)
    return html_page(
        template,
        current.official.locale,
        status=status,
        official=current.official,
        csrf=current.session.csrf_token,
        **context,
    )
