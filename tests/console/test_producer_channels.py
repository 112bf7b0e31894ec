"""The producer page's "Channels" section, on both backends: every chat of every person who
speaks for the producer, by the app's name, whether the bot can reach it (blocked since when;
for Zalo OA the reply window, of ``OCOP_ZALO_REPLY_WINDOW_HOURS``, open until or closed since
when) and the person's last message there."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.i18n import translator
from storage.models import ChannelIdentity, ProducerMember, User
from storage.states import OfficialRole
from tests.console.conftest import BACKENDS, Console, running_console

WINDOW = timedelta(hours=24)  # set below through the setting, not the default 48 h


@pytest.fixture(params=BACKENDS)
async def console(
    request: pytest.FixtureRequest, prepared_console_database: Path, tmp_path: Path
) -> AsyncIterator[Console]:
    async with running_console(
        prepared_console_database, tmp_path, request.param, zalo_reply_window_hours=24
    ) as running:
        yield running


async def person(
    console: Console, producer_id: int, name: str, chats: list[dict[str, object]]
) -> None:
    async with console.db.transaction() as session:
        user = User(display_name=name, locale="vi")
        session.add(user)
        await session.flush()
        session.add(ProducerMember(producer_id=producer_id, user_id=user.id, role="owner"))
        session.add_all(ChannelIdentity(user_id=user.id, **chat) for chat in chats)  # type: ignore[arg-type]


def rows_of(page: str) -> list[list[str]]:
    """The Channels table's rows, as the text of their cells."""
    table = re.search(r'<table class="list" id="chats">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert table, "no Channels table"
    return [
        [re.sub(r"[ \t\n]+", " ", re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]
        for cells in (
            re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
            for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
        )
    ]


async def test_each_chat_with_its_app_reachability_and_last_message(console: Console) -> None:
    now = console.clock.now()
    t = translator("en")
    bac_ninh = await console.area("bac ninh")
    da_mai = await console.area("bac ninh", "Đa Mai")
    producer_id = await console.producer("HTX Đa Mai", bac_ninh, da_mai)
    lan_wrote, minh_wrote = now - timedelta(hours=3), now - timedelta(hours=30)
    blocked = now - timedelta(days=2)
    await person(console, producer_id, "Lan <b>", [
        {"channel": "telegram", "chat_id": "1", "last_inbound_at": now - timedelta(days=5)},
        {"channel": "zalo_oa", "chat_id": "z1", "last_inbound_at": lan_wrote},
    ])  # fmt: skip
    await person(console, producer_id, "Minh", [
        {"channel": "zalo_oa", "chat_id": "z2", "last_inbound_at": minh_wrote},
        {"channel": "zalo_bot", "chat_id": "b2", "last_inbound_at": now - timedelta(days=3),
         "blocked_at": blocked},
        {"channel": "zalo_oa", "chat_id": "z3"},
    ])  # fmt: skip
    await console.official("damai", OfficialRole.COMMUNE, [da_mai], locale="en")
    await console.sign_in("damai")
    response = await console.get(f"/console/producers/{producer_id}")
    assert response.status == 200
    page = await response.text()
    assert '<h2 id="channels">Channels</h2>' in page and "Lan &lt;b&gt;" in page

    def at(value: datetime) -> str:
        return t.datetime(value)

    assert rows_of(page) == [
        ["Lan &lt;b&gt;", "Telegram", "Yes", at(now - timedelta(days=5))],
        ["Lan &lt;b&gt;", "Zalo OA", f"Yes: reply window open until {at(lan_wrote + WINDOW)}",
         at(lan_wrote)],
        ["Minh", "Zalo OA", f"No: reply window closed since {at(minh_wrote + WINDOW)}",
         at(minh_wrote)],
        ["Minh", "Zalo bot", f"No: blocked the bot since {at(blocked)}",
         at(now - timedelta(days=3))],
        ["Minh", "Zalo OA", "No: reply window closed (never wrote)", "—"],
    ]  # fmt: skip
    assert page.count('class="reach reach-window_closed"') == 2
    assert page.count('class="reach reach-blocked"') == 1


async def test_a_producer_without_chats_says_so(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    producer_id = await console.producer("HTX Không ai", bac_ninh, None)
    await console.official("admin", locale="vi")
    await console.sign_in("admin")
    page = await (await console.get(f"/console/producers/{producer_id}")).text()
    assert '<h2 id="channels">Kênh</h2>' in page and "Chưa có cuộc trò chuyện nào." in page
