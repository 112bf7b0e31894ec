"""Zalo end to end, where it differs from Telegram: the real bot, the fake Zalo OA (API, webhook
sender and OAuth server) and the fake Bot API over HTTP, on SQLite and PostgreSQL.

- The OA's access token expires in the middle of a registration: it is renewed once and the
  conversation goes on without a lost or repeated answer.
- One producer's Telegram and Zalo OA chats linked with a code: an announcement reaches both;
  a Zalo OA follower who has not written for longer than the reply window gets none, the
  platform is not even asked, and the official sees "outside the reply window".
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from storage.announcements import AnnouncementValues, Audience, delivery_counts
from storage.clock import ManualClock, utcnow
from storage.models import ChannelIdentity, Delivery, Producer
from storage.states import DeliveryReason, DeliveryStatus
from tests.harness import Producer as TelegramPhone
from tests.harness import RunningBot, bot_on, register
from tests.rigs import rig_for
from tests.rigs.zalo_oa import ZaloOARig, ZaloPhone
from tests.test_broadcast import announce, official, until_done

TELEGRAM_CHAT = 7_500_000_001
ZALO_CHAT, SILENT_CHAT = 501, 502
CODE = re.compile(r"/link (\d{6})\b")
VI = "Kỳ đánh giá 2 đã mở; nộp hồ sơ trước ngày 30/10."


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def bot(
    request: pytest.FixtureRequest, prepared_database: Path, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    async with bot_on(request.param, prepared_database, tmp_path, name="ocop_test_zalo",
                      rig=ZaloOARig()) as running:  # fmt: skip
        yield running


def oa_of(bot: RunningBot) -> ZaloOARig:
    rig = bot.rig
    assert isinstance(rig, ZaloOARig) and rig.oa is not None
    return rig


async def test_a_token_expiring_mid_conversation_is_renewed_once(
    prepared_database: Path, tmp_path: Path
) -> None:
    clock = ManualClock(utcnow())
    async with bot_on("sqlite", prepared_database, tmp_path, clock=clock,
                      rig=rig_for("zalo_oa", clock)) as bot:  # fmt: skip
        await renewed_once(bot, clock)


async def renewed_once(bot: RunningBot, clock: ManualClock) -> None:
    oa = oa_of(bot).oa
    assert oa is not None
    phone = bot.producer(ZALO_CHAT)
    await phone.say("/start")
    await phone.tap("Tiếng Việt")
    refreshes = oa.oauth.refreshes
    clock.advance(hours=3)  # the bot's clock: the token in use was issued 3 hours ago
    oa.expire_tokens()  # … and Zalo now answers -216 to it
    replies = await phone.tap("Hop tac xa")
    assert "tên" in replies[-1].plain.lower()  # the next question, once
    await phone.say("Hop tac xa Nong nghiep Luc Ngan")
    assert oa.oauth.refreshes == refreshes + 1
    assert [code for _user, code in oa.refused].count(-216) == 1
    questions = [m.plain for m in phone.messages() if "Hop tac xa" not in m.plain]
    assert len(questions) == len(set(questions))  # nothing said twice


async def test_linked_chats_both_get_an_announcement_and_a_closed_window_is_counted(
    bot: RunningBot,
) -> None:
    telegram = TelegramPhone(bot, TELEGRAM_CHAT)
    await register(telegram, confirm=True)
    zalo = bot.producer(ZALO_CHAT)
    assert isinstance(zalo, ZaloPhone)
    replies = await telegram.say("/link")
    code = CODE.search("\n".join(m.plain for m in replies))
    assert code is not None
    replies = await zalo.say(f"lien ket {code.group(1)}")
    assert "Telegram" in replies[0].plain and "Hop tac xa" in replies[-1].plain  # its menu
    assert any("Zalo OA" in m.plain for m in telegram.new_messages())

    silent = bot.producer(SILENT_CHAT)
    await register(silent, confirm=True)
    long_ago = bot.app.clock.now() - timedelta(hours=49)
    async with bot.db.transaction() as session:  # the follower last wrote two days ago
        await session.execute(
            update(ChannelIdentity)
            .where(ChannelIdentity.chat_id == silent.address)
            .values(last_inbound_at=long_ago)
        )
    oa = oa_of(bot).oa
    assert oa is not None
    oa.last_interaction[silent.address] = long_ago
    for phone in (telegram, zalo, silent):
        phone.new_messages()

    author = await official(bot)
    announcement_id = await announce(
        bot, author, AnnouncementValues(text_vi=VI, audience=Audience())
    )
    await until_done(bot, announcement_id)

    assert [VI in m.plain for m in telegram.new_messages()] == [True]
    assert [VI in m.plain for m in zalo.new_messages()] == [True]
    assert silent.new_messages() == []
    assert all(user != silent.address for user, _code in oa.refused)  # Zalo was not asked
    async with bot.db.sessions() as session:
        counts = await delivery_counts(session, announcement_id)
        producers = (await session.scalars(select(Producer))).all()
        outcomes = {
            (channel, chat): (status, reason)
            for channel, chat, status, reason in await session.execute(
                select(Delivery.channel, Delivery.chat_id, Delivery.status, Delivery.reason)
            )
        }
    assert len(producers) == 2
    assert counts.of(DeliveryStatus.SENT) == 2
    assert counts.failed_by_reason == {DeliveryReason.OUTSIDE_WINDOW: 1}
    assert outcomes[("zalo_oa", silent.address)] == (
        DeliveryStatus.FAILED,
        DeliveryReason.OUTSIDE_WINDOW,
    )
