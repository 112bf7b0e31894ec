"""Signing in to the console through the real HTTP application and database: the first page,
signing out, wrong passwords, throttling (the clock moved by hand), sessions that end (idle,
too old, revoked, official disabled), the language switch and the cookies' attributes."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path

from aiohttp import ClientResponse
from sqlalchemy import select, update

from storage.models import LoginAttempt, Official
from storage.officials import disable_official
from storage.signin import ACCOUNT_FAILURES, ADDRESS_FAILURES, IDLE, LIFETIME, WINDOW
from storage.states import OfficialRole
from tests.console.conftest import PASSWORD, Console, csrf_of, running_console


def set_cookies(response: ClientResponse) -> SimpleCookie:
    cookies: SimpleCookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie", []):
        cookies.load(header)
    return cookies


async def signed_in_home(console: Console) -> str:
    response = await console.get("/console/")
    assert response.status == 200, response.headers.get("Location")
    return await response.text()


async def assert_signed_out(console: Console) -> None:
    response = await console.get("/console/")
    assert response.status == 302
    assert response.headers["Location"] == "/console/login"


async def test_sign_in_shows_who_and_where_then_sign_out(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    da_mai = await console.area("bac ninh", "Đa Mai")
    xuan_luong = await console.area("bac ninh", "Xuân Lương")
    await console.producer("HTX Đa Mai", bac_ninh, da_mai)
    await console.producer("HTX Xuân Lương", bac_ninh, xuan_luong)
    await console.producer("HTX Tân Sơn", bac_ninh, await console.area("24", "Tân Sơn"))
    await console.official(
        "Xa.DaMai", OfficialRole.COMMUNE, [da_mai, xuan_luong], name="Lê Văn Minh"
    )

    response = await console.sign_in("XA.DAMAI")  # any case
    assert response.status == 303 and response.headers["Location"] == "/console/"
    page = await signed_in_home(console)
    assert "Xin chào, Lê Văn Minh" in page
    assert "UBND xã/phường" in page
    assert "Phường Đa Mai, Tỉnh Bắc Ninh" in page and "Xã Xuân Lương, Tỉnh Bắc Ninh" in page
    assert "<dd>2</dd>" in page  # producers in the two communes, not Tân Sơn's
    assert '<html lang="vi">' in page

    signed_out = await console.post("/console/logout", {"csrf_token": csrf_of(page)})
    assert signed_out.status == 303 and signed_out.headers["Location"] == "/console/login"
    await assert_signed_out(console)


async def test_session_cookie_is_httponly_lax_and_revoked_at_sign_out(console: Console) -> None:
    await console.official("admin")
    response = await console.sign_in("admin")
    cookie = set_cookies(response)["ocop_console"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/console"
    assert not cookie["secure"]
    page = await signed_in_home(console)
    await console.post("/console/logout", {"csrf_token": csrf_of(page)})
    # The old token, sent again by hand, no longer opens anything: the session was revoked.
    console.client.session.cookie_jar.update_cookies({"ocop_console": cookie.value})
    await assert_signed_out(console)


async def test_secure_cookies_when_behind_https(
    prepared_console_database: Path, tmp_path: Path
) -> None:
    async with running_console(
        prepared_console_database, tmp_path, console_secure_cookies=True
    ) as console:
        await console.official("admin")
        login = await console.client.get("/console/login")
        cookie = set_cookies(login)["ocop_console_login"]
        assert cookie["secure"] and cookie["samesite"] == "Strict"
        form = {"csrf_token": csrf_of(await login.text()), "username": "admin",
                "password": PASSWORD}  # fmt: skip
        # Over plain HTTP the client keeps a Secure cookie to itself: no sign-in.
        response = await console.client.post("/console/login", data=form)
        assert response.status == 403
        # Over HTTPS (a proxy in front) the browser sends it back.
        response = await console.client.post(
            "/console/login",
            data=form,
            headers={"Cookie": f"ocop_console_login={cookie.value}"},
            allow_redirects=False,
        )
        assert response.status == 303
        assert set_cookies(response)["ocop_console"]["secure"]


async def test_wrong_password_unknown_and_disabled_accounts_look_alike(console: Console) -> None:
    admin = await console.official("admin")
    await console.official("gone")
    async with console.db.transaction() as session:
        gone = await session.scalar(select(Official).where(Official.username == "gone"))
        assert gone is not None
        await disable_official(session, gone, console.clock)
    answers = set()
    for username, password in (
        ("admin", "wrong password!"),
        ("nobody", PASSWORD),
        ("gone", PASSWORD),
    ):
        response = await console.sign_in(username, password)
        assert response.status == 401
        assert "ocop_console" not in set_cookies(response)
        text = await response.text()
        assert "Sai tên đăng nhập hoặc mật khẩu." in text
        assert f'value="{username}"' in text  # the username is kept, the password never
        answers.add(text.replace(username, "").split('name="csrf_token" value="')[0])
        await assert_signed_out(console)
    assert len(answers) == 1
    assert admin.id


async def test_throttle_per_account_then_window_moves_on(console: Console) -> None:
    await console.official("admin")
    for _ in range(ACCOUNT_FAILURES):
        assert (await console.sign_in("admin", "wrong password!")).status == 401
    refused = await console.sign_in("Admin", PASSWORD)  # even the right password
    assert refused.status == 429
    assert "Đăng nhập sai quá nhiều lần. Vui lòng chờ 15 phút" in await refused.text()
    async with console.db.sessions() as session:
        counted = (await session.scalars(select(LoginAttempt.succeeded))).all()
    assert counted == [False] * ACCOUNT_FAILURES  # the refused try was not even checked
    console.clock.advance(WINDOW.total_seconds() - 1)
    assert (await console.sign_in("admin", PASSWORD)).status == 429
    console.clock.advance(2)
    assert (await console.sign_in("admin", PASSWORD)).status == 303


async def test_a_success_clears_the_accounts_failures(console: Console) -> None:
    await console.official("admin")
    for _ in range(ACCOUNT_FAILURES - 1):
        assert (await console.sign_in("admin", "wrong password!")).status == 401
    console.clock.advance(1)
    assert (await console.sign_in("admin")).status == 303
    console.clock.advance(1)
    for _ in range(ACCOUNT_FAILURES - 1):
        assert (await console.sign_in("admin", "wrong password!")).status == 401
    assert (await console.sign_in("admin")).status == 303


async def test_throttle_per_address(console: Console) -> None:
    await console.official("admin")
    for n in range(ADDRESS_FAILURES):
        assert (await console.sign_in(f"guess{n}", "wrong password!")).status == 401
    assert (await console.sign_in("admin")).status == 429  # another account, same address
    console.clock.advance(WINDOW.total_seconds() + 1)
    assert (await console.sign_in("admin")).status == 303


async def test_forwarded_address_counts_behind_a_proxy(
    prepared_console_database: Path, tmp_path: Path
) -> None:
    async with running_console(
        prepared_console_database, tmp_path, console_forwarded_for=True
    ) as console:
        await console.official("admin")
        attacker = {"X-Forwarded-For": "198.51.100.7"}
        for n in range(ADDRESS_FAILURES):
            await console.sign_in(f"guess{n}", "wrong password!", headers=attacker)
        assert (await console.sign_in("admin", headers=attacker)).status == 429
        # The proxy appends the real address: a forged first hop does not help the attacker,
        # and another office behind the same proxy is not locked out.
        forged = {"X-Forwarded-For": "203.0.113.9, 198.51.100.7"}
        assert (await console.sign_in("admin", headers=forged)).status == 429
        office = {"X-Forwarded-For": "192.0.2.20"}
        assert (await console.sign_in("admin", headers=office)).status == 303


async def test_idle_session_ends(console: Console) -> None:
    await console.official("admin")
    await console.sign_in("admin")
    console.clock.advance(IDLE.total_seconds() - 60)
    await signed_in_home(console)  # used: the idle time starts again
    console.clock.advance(IDLE.total_seconds() - 60)
    await signed_in_home(console)
    console.clock.advance(IDLE.total_seconds())
    await assert_signed_out(console)


async def test_session_ends_after_its_lifetime_however_busy(console: Console) -> None:
    await console.official("admin")
    await console.sign_in("admin")
    elapsed = timedelta()
    while elapsed + timedelta(hours=1) < LIFETIME:
        console.clock.advance(hours=1)
        elapsed += timedelta(hours=1)
        await signed_in_home(console)
    console.clock.advance((LIFETIME - elapsed).total_seconds())
    await assert_signed_out(console)


async def test_disabled_officials_session_stops_at_once(console: Console) -> None:
    official = await console.official("admin")
    await console.sign_in("admin")
    await signed_in_home(console)
    # Disabled by hand, without revoking the session: the flag alone must stop it.
    async with console.db.transaction() as session:
        await session.execute(
            update(Official)
            .where(Official.id == official.id)
            .values(disabled_at=console.clock.now())
        )
    await assert_signed_out(console)


async def test_language_switch_is_saved_for_the_official(console: Console) -> None:
    await console.official("admin", name="Lan")
    await console.sign_in("admin")
    page = await signed_in_home(console)
    assert "Quản trị viên" in page and "Tất cả tỉnh, thành phố và xã, phường" in page
    switched = await console.post("/console/locale", {"csrf_token": csrf_of(page), "locale": "en"})
    assert switched.status == 303
    page = await signed_in_home(console)
    assert '<html lang="en">' in page and "Hello, Lan" in page and "Administrator" in page
    assert "Every province and commune" in page
    await console.post("/console/locale", {"csrf_token": csrf_of(page), "locale": "fr"})
    assert '<html lang="en">' in await signed_in_home(console)
    async with console.db.sessions() as session:
        assert await session.scalar(select(Official.locale)) == "en"


async def test_sign_in_page_in_either_language(console: Console) -> None:
    assert "<h1>Đăng nhập</h1>" in await console.login_page()
    english = await console.login_page(lang="en")
    assert "<h1>Sign in</h1>" in english and '<html lang="en">' in english
    assert "<h1>Đăng nhập</h1>" in await console.login_page(lang="xx")
