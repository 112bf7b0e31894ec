"""The official's account page: the one-time linking code (shown once, stored hashed, short-lived,
single use, one live code at a time), linking and unlinking, the notification choice and the
password change; sign-in and CSRF on every form; names shown as text."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.members import JoinRefused, format_code
from storage.models import AuditEntry, OfficialChat, OfficialLinkCode, User
from storage.official_chats import LINK_CODE_VALIDITY, redeem_link_code
from tests.console.conftest import PASSWORD, Console, csrf_of, running_console

CODE = re.compile(r'id="link-code">([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})<')
XSS = "<script>alert(1)</script>"
POSTS = (
    "/console/account/code",
    "/console/account/unlink",
    "/console/account/notifications",
    "/console/account/password",
)


async def account_page(console: Console, path: str = "/console/account") -> str:
    response = await console.get(path)
    assert response.status == 200
    return await response.text()


async def show_code(console: Console) -> tuple[str, str]:
    """Asks for a code as the page's button does; returns the code and the page."""
    token = csrf_of(await account_page(console))
    response = await console.post("/console/account/code", {"csrf_token": token})
    assert response.status == 200
    page = await response.text()
    found = CODE.search(page)
    assert found, "no code on the page"
    return found.group(1), page


async def chat_user(console: Console) -> int:
    async with console.db.transaction() as session:
        user = User(display_name="chat", locale="vi")
        session.add(user)
        await session.flush()
        return user.id


async def redeem(console: Console, code: str, user_id: int, chat_id: str = "555") -> object:
    async with console.db.transaction() as session:
        result = await redeem_link_code(
            session, code, user_id=user_id, channel="telegram", chat_id=chat_id,
            clock=console.clock,
        )  # fmt: skip
        return result if isinstance(result, JoinRefused) else result.id


async def test_the_code_is_shown_once_stored_hashed_and_links_once(console: Console) -> None:
    official = await console.official("lan")
    await console.sign_in("lan")
    page = await account_page(console)
    assert 'aria-current="page">Tài khoản của tôi' in page or "Chưa liên kết" in page
    code, shown = await show_code(console)
    assert f"/official {code}" in shown
    assert "t.me/" not in shown  # no bot username: the message to send only
    async with console.db.sessions() as session:
        rows = (await session.scalars(select(OfficialLinkCode))).all()
    assert len(rows) == 1 and rows[0].official_id == official.id
    plain = code.replace("-", "")
    assert plain not in rows[0].code_hash and rows[0].selector == plain[:4]
    again = await account_page(console)
    assert code not in again  # shown once, on the answer to the form
    assert "Mã liên kết đã hiển thị trước đó còn dùng được đến" in again

    user = await chat_user(console)
    assert await redeem(console, code, user) == official.id
    assert await redeem(console, code, user) == JoinRefused.USED
    linked = await account_page(console)
    assert "Đã liên kết: cuộc trò chuyện Telegram nhận thông báo" in linked

    token = csrf_of(linked)
    response = await console.post("/console/account/unlink", {"csrf_token": token})
    assert response.status == 303 and response.headers["Location"].startswith("/console/account")
    unlinked = await account_page(console, response.headers["Location"])
    assert "Đã hủy liên kết" in unlinked and "Chưa liên kết cuộc trò chuyện nào" in unlinked
    async with console.db.sessions() as session:
        chat = await session.get(OfficialChat, official.id)
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert chat is not None and chat.chat_id is None
    assert "official.chat_linked" in actions and "official.chat_unlinked" in actions


async def test_a_new_code_replaces_the_old_and_codes_expire(console: Console) -> None:
    await console.official("lan")
    await console.sign_in("lan")
    first, _ = await show_code(console)
    second, _ = await show_code(console)
    user = await chat_user(console)
    assert await redeem(console, first, user) == JoinRefused.REVOKED
    console.clock.advance(seconds=LINK_CODE_VALIDITY.total_seconds() + 1)
    assert await redeem(console, second, user) == JoinRefused.EXPIRED
    page = await account_page(console)
    assert "còn dùng được đến" not in page


@pytest.fixture
async def bot_console(prepared_console_database: Path, tmp_path: Path) -> AsyncIterator[Console]:
    async with running_console(
        prepared_console_database, tmp_path, telegram_bot_username="@ocop_test_bot"
    ) as running:
        yield running


async def test_the_code_is_a_deep_link_when_the_bot_is_known(bot_console: Console) -> None:
    await bot_console.official("lan", locale="en")
    await bot_console.sign_in("lan")
    code, page = await show_code(bot_console)
    plain = code.replace("-", "")
    assert f'href="https://t.me/ocop_test_bot?start=o-{plain}"' in page
    assert f"/official {code}" in page and format_code(plain) == code


async def test_the_notification_choice_is_saved(console: Console) -> None:
    official = await console.official("lan")
    await console.sign_in("lan")
    token = csrf_of(await account_page(console))
    saved = await console.post(
        "/console/account/notifications", {"csrf_token": token, "mode": "digest", "hour": "9"}
    )
    assert saved.status == 303
    page = await account_page(console, saved.headers["Location"])
    assert 'value="digest" checked' in page and '<option value="9" selected>' in page
    assert "Đã lưu lựa chọn nhận thông báo." in page
    for mode, hour in (("digest", "23"), ("loud", "9"), ("muted", "x"), ("", "")):
        refused = await console.post(
            "/console/account/notifications", {"csrf_token": token, "mode": mode, "hour": hour}
        )
        assert refused.status == 400, (mode, hour)
    async with console.db.sessions() as session:
        chat = await session.get(OfficialChat, official.id)
    assert chat is not None and (chat.mode, chat.digest_hour) == ("digest", 9)


async def test_the_password_changes_with_the_current_one(console: Console) -> None:
    await console.official("lan")
    await console.sign_in("lan")
    token = csrf_of(await account_page(console))
    new = "another long password"

    async def change(current: str, first: str, second: str) -> int:
        form = {"csrf_token": token, "current_password": current, "new_password": first,
                "repeat_password": second}  # fmt: skip
        return (await console.post("/console/account/password", form)).status

    assert await change("wrong password!", new, new) == 400
    assert await change(PASSWORD, new, new + "x") == 400
    assert await change(PASSWORD, "short", "short") == 400
    assert await change(PASSWORD, new, new) == 303
    done = await account_page(console, "/console/account?done=password")
    assert "Đã đổi mật khẩu." in done  # this session goes on
    console.client.session.cookie_jar.clear()
    assert (await console.sign_in("lan")).status == 401
    assert (await console.sign_in("lan", new)).status == 303


async def test_every_account_form_needs_sign_in_and_the_csrf_token(console: Console) -> None:
    response = await console.get("/console/account")
    assert response.status == 302 and response.headers["Location"] == "/console/login"
    for path in POSTS:
        assert (await console.post(path, {"csrf_token": "x"})).status == 403
    await console.official("lan")
    await console.sign_in("lan")
    for path in POSTS:
        for data in ({}, {"csrf_token": csrf_of(await account_page(console)) + "x"}):
            assert (await console.post(path, data)).status == 403, path
    async with console.db.sessions() as session:
        assert (await session.scalars(select(OfficialLinkCode))).all() == []


async def test_names_show_as_text(console: Console) -> None:
    await console.official("lan", name=XSS)
    await console.sign_in("lan")
    _code, page = await show_code(console)
    assert XSS not in page
