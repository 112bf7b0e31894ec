"""Pages from Jinja2 templates (shipped in the package), escaped by default, in one language.

Templates call ``_("English text")`` and ``ngettext(singular, plural, n)`` (extracted by Babel
into the same catalogs as the chat) and get ``t``, the :class:`~bot.i18n.Translator`, for dates
and numbers. Text given to a template is always escaped: a name like ``<script>`` shows as text.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.i18n import translator
from bot.validators import parse_id

__all__ = ["html_page", "path_id", "render", "see_other"]

_ENV = Environment(
    loader=PackageLoader("console", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(template: str, locale: str | None, **context: Any) -> str:
    """The HTML of ``template`` in ``locale`` (the default language if unknown)."""
    t = translator(locale)
    return _ENV.get_template(template).render(
        _=t.gettext, ngettext=t.ngettext, t=t, locale=t.locale, **context
    )


def html_page(
    template: str, locale: str | None, *, status: int = 200, **context: Any
) -> web.Response:
    """A response with the rendered page."""
    return web.Response(
        text=render(template, locale, **context),
        status=status,
        content_type="text/html",
        charset="utf-8",
    )


def see_other(location: str) -> web.Response:
    """The answer to a form: go (GET) to ``location``."""
    return web.Response(status=303, headers={"Location": location})


def path_id(request: web.Request, key: str = "id") -> int:
    """The row id in the path; one too large to be any row is a page that does not exist."""
    found = parse_id(request.match_info[key])
    if found is None:
        raise web.HTTPNotFound()
    return found
