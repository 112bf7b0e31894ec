"""Security regressions of the console: no page without sign-in, CSRF tokens on every form,
escaped names, protective headers, tokens kept hashed, static files confined to their folder."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from yarl import URL

from console.security import HEADERS
from storage.models import ConsoleSession
from tests.console.conftest import PASSWORD, Console, csrf_of
from tests.console.test_sign_in import assert_signed_out, set_cookies, signed_in_home

XSS = "<script>alert(1)</script>"


def has_protective_headers(headers: object) -> bool:
    return all(headers.get(name) == value for name, value in HEADERS.items())  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/console/", "/console/anything", "/console/login/x"])
async def test_no_page_without_sign_in(console: Console, path: str) -> None:
    response = await console.get(path)
    assert response.status == 302 and response.headers["Location"] == "/console/login"
    assert has_protective_headers(response.headers)


async def test_bare_console_path_leads_in(console: Console) -> None:
    response = await console.get("/console")
    assert response.status == 302 and response.headers["Location"] == "/console/"


@pytest.mark.parametrize("path", ["/console/logout", "/console/locale", "/console/"])
async def test_no_form_without_sign_in(console: Console, path: str) -> None:
    response = await console.post(path, {"csrf_token": "anything", "locale": "en"})
    assert response.status in (403, 405)
    if response.status == 403:
        assert "Không được phép" in await response.text()


async def test_forms_without_the_sessions_csrf_token_are_refused(console: Console) -> None:
    await console.official("admin")
    await console.sign_in("admin")
    page = await signed_in_home(console)
    for data in ({}, {"csrf_token": ""}, {"csrf_token": csrf_of(page) + "x"}):
        for path in ("/console/logout", "/console/locale"):
            response = await console.post(path, {**data, "locale": "en"})
            assert response.status == 403, (path, data)
            assert has_protective_headers(response.headers)
    page = await signed_in_home(console)  # nothing happened: still signed in, still Vietnamese
    assert '<html lang="vi">' in page


async def test_another_sessions_token_does_not_pass(console: Console) -> None:
    await console.official("admin")
    await console.official("other")
    await console.sign_in("other")
    others_token = csrf_of(await signed_in_home(console))
    console.client.session.cookie_jar.clear()
    await console.sign_in("admin")
    await signed_in_home(console)
    refused = await console.post("/console/logout", {"csrf_token": others_token})
    assert refused.status == 403
    await signed_in_home(console)


async def test_sign_in_form_needs_its_token_and_cookie(console: Console) -> None:
    await console.official("admin")
    form = {"username": "admin", "password": PASSWORD}
    no_token = await console.post("/console/login", form)
    assert no_token.status == 403
    token = csrf_of(await console.login_page())
    console.client.session.cookie_jar.clear()  # a form posted from elsewhere has no cookie
    no_cookie = await console.post("/console/login", {**form, "csrf_token": token})
    assert no_cookie.status == 403
    other = csrf_of(await console.login_page())
    mismatched = await console.post("/console/login", {**form, "csrf_token": token})
    assert mismatched.status == 403 and token != other
    await assert_signed_out(console)


async def test_names_show_as_text(console: Console) -> None:
    await console.official("admin", name=XSS)
    await console.sign_in("admin")
    page = await signed_in_home(console)
    assert XSS not in page
    assert "Xin chào, &lt;script&gt;alert(1)&lt;/script&gt;" in page
    typed = '"><script>alert(1)</script>'
    response = await console.sign_in(typed, "wrong password!")
    text = await response.text()
    assert "<script>" not in text and "&#34;&gt;&lt;script&gt;" in text


async def test_pages_and_files_carry_protective_headers(console: Console) -> None:
    login = await console.client.get("/console/login")
    assert has_protective_headers(login.headers)
    assert "script-src" not in HEADERS["Content-Security-Policy"]  # no script may run
    css = await console.client.get("/console/static/console.css")
    assert css.status == 200 and css.content_type == "text/css"
    assert has_protective_headers(css.headers)


async def test_only_the_tokens_hash_is_stored(console: Console) -> None:
    await console.official("admin")
    response = await console.sign_in("admin")
    token = set_cookies(response)["ocop_console"].value
    async with console.db.sessions() as session:
        stored = (await session.scalars(select(ConsoleSession.token_hash))).all()
    assert len(stored) == 1 and token not in stored[0] and len(token) >= 40


@pytest.mark.parametrize(
    "path",
    [
        "/console/static/%2E%2E/app.py",
        "/console/static/..%2Fapp.py",
        "/console/static/%2e%2e%2f%2e%2e%2fbot%2fsettings.py",
        "/console/static/",
    ],
)
async def test_static_files_stay_in_their_folder(console: Console, path: str) -> None:
    url = URL(console.url("/")[:-1] + path, encoded=True)
    response = await console.client.session.get(url, allow_redirects=False)
    body = await response.text()
    assert response.status in (302, 403, 404), response.status
    assert "import" not in body and "__all__" not in body
