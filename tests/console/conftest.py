"""Browser fixtures: Debian's headless Chromium driven by Playwright, at desktop and phone width.

Playwright cannot download its own browser here, so the tests launch ``/usr/bin/chromium``
(``.ci/run`` installs it). A missing Chromium fails the browser tests with a message saying how
to install it; they are skipped only when ``OCOP_SKIP_BROWSER_TESTS=1`` says so explicitly.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SKIP_VARIABLE = "OCOP_SKIP_BROWSER_TESTS"
# The flags Chromium needs as root on a machine with no network but loopback.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class Screen:
    """A browser window size: what a desktop or a cheap phone shows."""

    name: str
    width: int
    height: int
    mobile: bool


DESKTOP = Screen("desktop", 1280, 800, mobile=False)
PHONE = Screen("phone", 360, 740, mobile=True)


def chromium_or_fail(path: Path = CHROMIUM, environ: dict[str, str] | None = None) -> Path:
    """``path`` when Chromium is there; otherwise skip (only if the skip variable is set to 1)
    or fail, saying how to install it."""
    if path.is_file() and os.access(path, os.X_OK):
        return path
    env = os.environ if environ is None else environ
    if env.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{path} is missing and {SKIP_VARIABLE}=1: browser tests skipped")
    pytest.fail(
        f"the browser tests need Debian's Chromium at {path}: install it with "
        "`apt-get install -y --no-install-recommends chromium` (.ci/run does), "
        f"or set {SKIP_VARIABLE}=1 to skip them explicitly",
        pytrace=False,
    )


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """A headless Chromium, closed after the test."""
    executable = chromium_or_fail()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(executable), args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture(params=[DESKTOP, PHONE], ids=lambda screen: screen.name)
def screen(request: pytest.FixtureRequest) -> Screen:
    """Each test that asks for it runs at desktop and at phone width."""
    screen: Screen = request.param
    return screen


@pytest.fixture
async def page(browser: Any, screen: Screen) -> AsyncIterator[Any]:
    """A fresh page (its own cookies) at the ``screen``'s size."""
    context = await browser.new_context(
        viewport={"width": screen.width, "height": screen.height},
        is_mobile=screen.mobile,
        has_touch=screen.mobile,
        device_scale_factor=2 if screen.mobile else 1,
    )
    context.set_default_timeout(10_000)
    try:
        yield await context.new_page()
    finally:
        await context.close()
