"""Console fixtures: the bot's HTTP application with the console on a real database and a
manual clock (:class:`Console`), and Debian's headless Chromium driven by Playwright, at desktop
and phone width.

One Chromium serves a whole test session (each xdist worker has its own) and every test gets a
fresh browser context (its own cookies and storage) from it. The browser lives in the session's
event loop, so the browser tests, and the fixtures they use (``page``, ``sqlite_console``), run in
that loop too: their modules are marked ``BROWSER_LOOP``.

Playwright cannot download its own browser here, so the tests launch ``/usr/bin/chromium``
(``.ci/run`` installs it). A missing Chromium fails the browser tests with a message saying how
to install it; they are skipped only when ``OCOP_SKIP_BROWSER_TESTS=1`` says so explicitly.
"""

from __future__ import annotations

import asyncio
import html as html_module
import os
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app, http_app
from bot.settings import Settings
from storage.areas import find_commune, find_province, import_areas
from storage.clock import ManualClock
from storage.db import Database
from storage.models import Area, Official, Producer
from storage.officials import add_official
from storage.states import OfficialRole
from tests.conftest import create_schema
from tests.harness import copy_database
from tests.postgres import POSTGRES_URL, templates

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


# The mark for browser tests: they run in the session's event loop, where the browser lives.
BROWSER_LOOP = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    """A headless Chromium for the whole session, closed at its end."""
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


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Any, screen: Screen) -> AsyncIterator[Any]:
    """A fresh page in a fresh browser context (its own cookies) at the ``screen``'s size."""
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


# --- the console on a real application and database ----------------------------------------

PASSWORD = "a long enough password"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "communes-sample.csv"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(html: str) -> str:
    """The CSRF token in a page's first form."""
    found = _CSRF.search(html)
    assert found, "no CSRF field in the page"
    return html_module.unescape(found.group(1))


async def _prepare(db: Database) -> None:
    await create_schema(db)
    async with db.transaction() as session:
        await import_areas(session, SAMPLE)


async def _prepare_url(url: str) -> None:
    db = Database(url)
    try:
        await _prepare(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def prepared_console_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with the provinces and the sample communes, made once per run."""
    path = tmp_path_factory.mktemp("console-template") / "ocop.sqlite3"

    asyncio.run(_prepare_url(f"sqlite+aiosqlite:///{path}"))
    return path


@asynccontextmanager
async def _database(backend: str, template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    if backend == "postgres":
        if not POSTGRES_URL:
            pytest.skip("OCOP_TEST_POSTGRES_URL is not set")
        async with templates().copy("console", _prepare_url, "ocop_test_console") as url:
            db = Database(url)
            try:
                yield db
            finally:
                await db.dispose()
        return
    db = Database(copy_database(template, tmp_path / "console.sqlite3"))
    try:
        yield db
    finally:
        await db.dispose()


class Console:
    """The bot's real HTTP application with the console, on a real database, with a clock
    that moves only when told; and the steps an official takes in it."""

    def __init__(self, client: TestClient[web.Request, web.Application], db: Database,
                 clock: ManualClock) -> None:  # fmt: skip
        self.client = client
        self.db = db
        self.clock = clock

    def url(self, path: str) -> str:
        return str(self.client.make_url(path))

    async def area(self, province: str, commune: str | None = None) -> Area:
        async with self.db.sessions() as session:
            (found,) = await find_province(session, province)
            if commune is not None:
                (found,) = await find_commune(session, found.area.id, commune)
            return found.area

    async def official(
        self,
        username: str,
        role: OfficialRole = OfficialRole.ADMIN,
        areas: Sequence[Area] = (),
        *,
        name: str = "Nguyễn Thị Lan",
        locale: str = "vi",
    ) -> Official:
        async with self.db.transaction() as session:
            return await add_official(
                session, username=username, display_name=name, role=role, areas=areas,
                locale=locale, password=PASSWORD, clock=self.clock,
            )  # fmt: skip

    async def producer(self, name: str, province: Area, commune: Area | None) -> int:
        async with self.db.transaction() as session:
            row = Producer(
                org_type="coop", name=name, tax_code="0101234567", rep_name="Trần Văn B",
                rep_position="Giám đốc", rep_gender="male", rep_ethnicity="Kinh",
                phone="0912345678", province_id=province.id,
                commune_id=commune.id if commune else None,
                commune_name=commune.name if commune else "",
            )  # fmt: skip
            session.add(row)
            await session.flush()
            return row.id

    async def login_page(self, **query: str) -> str:
        response = await self.client.get("/console/login", params=query)
        assert response.status == 200
        return await response.text()

    async def sign_in(
        self, username: str, password: str = PASSWORD, headers: dict[str, str] | None = None
    ) -> ClientResponse:
        """Open the sign-in page and send the form, as a browser does (no redirect followed)."""
        token = csrf_of(await self.login_page())
        return await self.client.post(
            "/console/login",
            data={"csrf_token": token, "username": username, "password": password},
            headers=headers,
            allow_redirects=False,
        )

    async def get(self, path: str) -> ClientResponse:
        return await self.client.get(path, allow_redirects=False)

    async def post(self, path: str, data: dict[str, str]) -> ClientResponse:
        return await self.client.post(path, data=data, allow_redirects=False)


@asynccontextmanager
async def running_console(
    template: Path, tmp_path: Path, backend: str = "sqlite", **settings: Any
) -> AsyncIterator[Console]:
    async with _database(backend, template, tmp_path) as db:
        clock = ManualClock()
        app = build_app(
            Settings(database_url=db.url, blob_dir=tmp_path / "blobs", **settings),
            db=db,
            clock=clock,
        )
        async with TestClient(TestServer(http_app(app))) as client:
            yield Console(client, db, clock)


@pytest.fixture(params=BACKENDS)
async def console(
    request: pytest.FixtureRequest, prepared_console_database: Path, tmp_path: Path
) -> AsyncIterator[Console]:
    """The console on each backend (PostgreSQL with OCOP_TEST_POSTGRES_URL)."""
    async with running_console(prepared_console_database, tmp_path, request.param) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def sqlite_console(
    prepared_console_database: Path, tmp_path: Path
) -> AsyncIterator[Console]:
    """The console on SQLite only (browser tests, which test pages rather than storage)."""
    async with running_console(prepared_console_database, tmp_path) as running:
        yield running
