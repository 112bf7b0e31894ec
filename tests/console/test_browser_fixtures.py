"""The browser fixtures themselves: a real page at desktop and phone width, and a missing
Chromium failing loudly instead of being skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.console.conftest import BROWSER_LOOP, SKIP_VARIABLE, Screen, chromium_or_fail

PAGE = (
    "<!doctype html><html><head><meta name='viewport' content='width=device-width'>"
    "<title>fixture</title></head><body><p id='w'></p>"
    "<script>document.getElementById('w').textContent = window.innerWidth</script>"
    "</body></html>"
)


@BROWSER_LOOP
async def test_page_renders_at_the_screens_width(page: Any, screen: Screen) -> None:
    async def index(_request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    async with TestServer(app) as server:
        await page.goto(str(server.make_url("/")))
        assert await page.title() == "fixture"
        assert await page.text_content("#w") == str(screen.width)


def test_missing_chromium_fails_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="apt-get install"):
        chromium_or_fail(tmp_path / "chromium", environ={})


def test_missing_chromium_is_skipped_only_when_asked(tmp_path: Path) -> None:
    with pytest.raises(pytest.skip.Exception):
        chromium_or_fail(tmp_path / "chromium", environ={SKIP_VARIABLE: "1"})
    with pytest.raises(pytest.fail.Exception):
        chromium_or_fail(tmp_path / "chromium", environ={SKIP_VARIABLE: "yes please"})
