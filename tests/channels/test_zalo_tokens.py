"""The Zalo OA token keeper (bot/channels/zalo_tokens.py) against the fake OAuth server over
real HTTP, on SQLite and (with OCOP_TEST_POSTGRES_URL) PostgreSQL, with two ``Database`` objects
on one database standing for two ``serve`` processes: the setting seeds the first pair, a token
is renewed 10 minutes before it expires, two processes asking at once refresh once, a rejected
token is renewed once, a pair committed before a crash is used by the next process, a refused
refresh token fails once (officials alerted once, no more calls to Zalo, the sender keeps the
messages waiting) until ``ocop-bot zalo set-refresh-token`` sets a new one; network errors free
the lease and back off; a dead process's lease is taken over when it runs out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels.base import BaseChannel, RetryLater, TransientError
from bot.channels.zalo_tokens import (
    AUTH_RETRY_AFTER,
    FAILED_RECHECK,
    ZaloAuthFailed,
    ZaloTokenKeeper,
    ZaloTokenUnavailable,
)
from bot.cli_zalo import replace_refresh_token
from bot.health import health_report
from bot.sender import Sender
from bot.vocabulary import Reply
from storage.areas import find_province
from storage.clock import ManualClock, utcnow
from storage.db import Database
from storage.models import Area, OutboxMessage, User
from storage.official_chats import create_link_code, redeem_link_code, set_preference
from storage.officials import add_official
from storage.outbox import Outgoing, queue_messages
from storage.states import NotifyMode, OfficialRole, OutboxStatus
from storage.zalo_tokens import Tokens, read, take_lease
from tests.conftest import migrated_copy
from tests.fakes.zalo_oauth import INVALID_REFRESH_TOKEN, FakeZaloOAuth
from tests.harness import prepare_database
from tests.postgres import POSTGRES_URL, templates

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
PASSWORD = "mat-khau-du-dai-12"


class StillClock(ManualClock):
    """A manual clock that does not move while someone waits (a real pause of a few
    milliseconds instead): for races, where time must not run out under a slow HTTP call."""

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0.005)


@pytest.fixture(params=BACKENDS)
async def url(
    request: pytest.FixtureRequest, prepared_database: Path, tmp_path: Path
) -> AsyncIterator[str]:
    """A database with the areas, on each backend."""
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("OCOP_TEST_POSTGRES_URL is not set")
        async with templates().copy("areas", prepare_database, "ocop_test_zalo_keeper") as pg:
            yield pg
        return
    db = migrated_copy(prepared_database, tmp_path / "zalo.sqlite3")
    await db.dispose()
    yield db.url


@dataclass
class Bots:
    """The processes of one bot on one database, each with its own ``Database`` and keeper."""

    url: str
    oauth: FakeZaloOAuth
    clock: ManualClock
    databases: list[Database] = field(default_factory=list)
    keepers: list[ZaloTokenKeeper] = field(default_factory=list)

    def process(self, name: str, refresh_token: str | None = None) -> ZaloTokenKeeper:
        db = Database(self.url)
        keeper = ZaloTokenKeeper(
            db, app_id=self.oauth.app_id, app_secret=self.oauth.secret, oauth_url=self.oauth.url,
            refresh_token=refresh_token, owner=name, clock=self.clock,
        )  # fmt: skip
        self.databases.append(db)
        self.keepers.append(keeper)
        return keeper

    async def stored(self) -> Tokens:
        async with self.keepers[0].db.sessions() as session:
            tokens = await read(session, self.oauth.app_id)
        assert tokens is not None
        return tokens

    async def close(self) -> None:
        for keeper in self.keepers:
            await keeper.close()
        for db in self.databases:
            await db.dispose()


async def bots_on(url: str, clock: ManualClock) -> Bots:
    return Bots(url, FakeZaloOAuth(clock=clock), clock)


@pytest.fixture
async def bots(url: str) -> AsyncIterator[Bots]:
    clock = ManualClock(utcnow())
    running = await bots_on(url, clock)
    async with running.oauth:
        yield running
        await running.close()


async def test_the_setting_seeds_the_first_pair_and_a_valid_token_is_reused(bots: Bots) -> None:
    first = bots.oauth.authorise()
    web = bots.process("web-1", refresh_token=first)
    token = await web.current()
    assert bots.oauth.valid(token) and bots.oauth.refreshes == 1
    stored = await bots.stored()
    assert stored.access_token == token
    assert stored.refresh_token not in (first, "") and first in bots.oauth.spent
    assert await web.current() == token and bots.oauth.refreshes == 1
    # Another process started with the same (now spent) setting keeps the stored pair.
    other = bots.process("web-2", refresh_token=first)
    assert await other.current() == token
    assert bots.oauth.requests == 1 and (await bots.stored()).refresh_token == stored.refresh_token


async def test_a_token_is_renewed_ten_minutes_before_it_expires(bots: Bots) -> None:
    bots.oauth.expires_in = 3600
    web = bots.process("web-1", refresh_token=bots.oauth.authorise())
    first = await web.current()
    bots.clock.advance(minutes=49)  # 11 minutes left
    assert await web.current() == first and bots.oauth.refreshes == 1
    bots.clock.advance(minutes=2)  # 9 minutes left
    second = await web.current()
    assert second != first and bots.oauth.refreshes == 2 and bots.oauth.valid(second)
    stored = await bots.stored()
    assert stored.access_expires_at == bots.clock.now() + timedelta(seconds=3600)


async def test_two_processes_asking_at_once_refresh_once(url: str) -> None:
    clock = StillClock(utcnow())
    bots = await bots_on(url, clock)
    async with bots.oauth:
        try:
            setting = bots.oauth.authorise()
            one, two = bots.process("web-1", setting), bots.process("web-2", setting)
            bots.oauth.gate.clear()  # Zalo takes its time to answer
            asking = asyncio.gather(one.current(), two.current(), one.current(), two.current())
            await bots.oauth.wait_requests(1)
            await asyncio.sleep(0.3)  # the other process polls the database meanwhile
            assert bots.oauth.requests == 1
            assert (await bots.stored()).lease_owner in ("web-1", "web-2")
            bots.oauth.gate.set()
            tokens = await asking
            assert len(set(tokens)) == 1 and bots.oauth.valid(tokens[0])
            assert (bots.oauth.requests, bots.oauth.refreshes, bots.oauth.refused) == (1, 1, [])
            assert (await bots.stored()).lease_owner is None
        finally:
            await bots.close()


async def test_a_rejected_token_is_renewed_once_whoever_asks(bots: Bots) -> None:
    one = bots.process("web-1", bots.oauth.authorise())
    two = bots.process("web-2")
    first = await one.current()
    assert await two.current() == first and bots.oauth.refreshes == 1
    bots.clock.advance(minutes=5)
    bots.oauth.expire(first)  # Zalo answers -216 for it from now on
    second = await one.refresh_after(first)
    assert second != first and bots.oauth.refreshes == 2
    # The other process had the same token rejected: it takes the renewed one, no refresh.
    assert await two.refresh_after(first) == second and bots.oauth.refreshes == 2
    bots.clock.advance(minutes=5)
    bots.oauth.expire(second)
    asking = [one.refresh_after(second), one.refresh_after(second), two.refresh_after(second)]
    third = set(await asyncio.gather(*asking))
    assert len(third) == 1 and bots.oauth.refreshes == 3 and bots.oauth.valid(third.pop())


async def test_a_token_rejected_right_after_it_was_issued_is_not_refreshed_again(
    bots: Bots,
) -> None:
    web = bots.process("web-1", bots.oauth.authorise())
    token = await web.current()
    with pytest.raises(ZaloTokenUnavailable, match="issued just now"):
        await web.refresh_after(token)
    assert bots.oauth.requests == 1


async def test_a_pair_committed_before_a_crash_is_used_by_the_next_process(bots: Bots) -> None:
    web = bots.process("web-1", bots.oauth.authorise())
    token = await web.current()
    await bots.close()  # the process dies right after the commit, before using the token
    bots.keepers.clear()
    bots.databases.clear()
    restarted = bots.process("web-1")  # no setting: what it needs is in the database
    assert await restarted.current() == token
    assert bots.oauth.refreshes == 1 and bots.oauth.valid(token)


async def linked_official(db: Database, username: str, role: OfficialRole, locale: str,
                          areas: list[Area], clock: ManualClock) -> str:  # fmt: skip
    """An official whose Telegram chat is linked; the chat's id."""
    chat = f"chat-{username}"
    async with db.transaction() as session:
        official = await add_official(
            session, username=username, display_name=username, role=role, areas=areas,
            locale=locale, password=PASSWORD, clock=clock,
        )  # fmt: skip
        user = User(display_name=username, locale=locale)
        session.add(user)
        await session.flush()
        code = await create_link_code(session, official.id, clock)
    async with db.transaction() as session:
        await redeem_link_code(
            session, code, user_id=user.id, channel="telegram", chat_id=chat, clock=clock
        )
        if username.startswith("muted"):
            await set_preference(session, official.id, NotifyMode.MUTED, 8)
        if username.startswith("digest"):
            await set_preference(session, official.id, NotifyMode.DIGEST, 10)
    return chat


async def officials(db: Database, clock: ManualClock) -> dict[str, str]:
    async with db.sessions() as session:
        province = (await find_province(session, "bac ninh"))[0].area
        commune = await session.scalar(select(Area).where(Area.parent_id == province.id).limit(1))
    assert commune is not None
    return {
        "admin": await linked_official(db, "admin", OfficialRole.ADMIN, "vi", [], clock),
        "province": await linked_official(
            db, "tinh", OfficialRole.PROVINCE, "en", [province], clock
        ),
        "digest": await linked_official(db, "digest", OfficialRole.ADMIN, "vi", [], clock),
        "commune": await linked_official(db, "xa1", OfficialRole.COMMUNE, "vi", [commune], clock),
        "muted": await linked_official(db, "muted", OfficialRole.ADMIN, "vi", [], clock),
    }


async def alerts(db: Database) -> list[tuple[str, str]]:
    """Every message queued: (chat, text)."""
    async with db.sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [(row.chat_id, row.payload["text"]) for row in rows]


async def test_a_refused_refresh_token_fails_once_alerts_once_and_stops_calling_zalo(
    bots: Bots,
) -> None:
    one = bots.process("web-1", bots.oauth.authorise())
    two = bots.process("web-2")
    chats = await officials(one.db, bots.clock)
    await one.current()
    bots.oauth.revoke()  # three months without a refresh, or the OA was unlinked
    bots.clock.advance(hours=25)
    with pytest.raises(ZaloAuthFailed, match="Invalid refresh token") as refused:
        await one.current()
    assert isinstance(refused.value, RetryLater) and not isinstance(refused.value, TransientError)
    assert refused.value.retry_after == AUTH_RETRY_AFTER  # the sender pauses, messages wait
    assert bots.oauth.refused == [INVALID_REFRESH_TOKEN] and bots.oauth.requests == 2
    stored = await bots.stored()
    assert stored.failed_at == bots.clock.now() and stored.lease_owner is None
    assert "Invalid refresh token" in (stored.failure or "")

    told = dict(await alerts(one.db))
    assert len(told) == len(await alerts(one.db))  # one message to each
    assert set(told) == {chats["admin"], chats["province"], chats["digest"]}
    assert "ocop-bot zalo set-refresh-token" in told[chats["province"]]
    assert "Zalo refused the Official Account's refresh token" in told[chats["province"]]
    assert "Invalid refresh token" in told[chats["admin"]]
    assert told[chats["admin"]] != told[chats["province"]]  # Vietnamese for the admin

    # No loop: this process and the other answer at once, without calling Zalo, and nobody is
    # told twice, however often and for however long they are asked.
    for _ in range(3):
        for keeper in (one, two):
            with pytest.raises(ZaloAuthFailed):
                await keeper.current()
            with pytest.raises(ZaloAuthFailed):
                await keeper.refresh_after("at-rejected")
        bots.clock.advance(FAILED_RECHECK + 1)
    assert bots.oauth.requests == 2 and len(await alerts(one.db)) == 3
    status, health = await health_report(one.db)
    assert status == 200
    assert health["zalo_token"] == f"failed since {stored.failed_at.isoformat()}"
    assert any("set-refresh-token" in warning for warning in health["warnings"])

    # An official authorises the OA again and sets the new refresh token.
    await replace_refresh_token(two.db, bots.oauth.app_id, f"  {bots.oauth.authorise()}\n")
    bots.clock.advance(FAILED_RECHECK + 1)  # running processes look again
    token = await two.current()
    assert bots.oauth.valid(token) and bots.oauth.refreshes == 2
    assert await one.current() == token and bots.oauth.requests == 3
    assert (await health_report(one.db))[1]["zalo_token"] == "ok"
    assert len(await alerts(one.db)) == 3


async def test_a_caller_giving_up_during_a_refresh_does_not_lose_the_pair(bots: Bots) -> None:
    """The sender cancels a send at its timeout; a refresh under way goes on to its commit."""
    web = bots.process("web-1", bots.oauth.authorise())
    bots.oauth.gate.clear()
    asking = asyncio.create_task(web.current())
    await bots.oauth.wait_requests(1)
    asking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asking
    bots.oauth.gate.set()  # Zalo answers after the caller gave up
    await web.close()  # waits for the refresh under way
    token = await bots.process("web-2").current()
    assert bots.oauth.valid(token) and bots.oauth.refreshes == 1 and bots.oauth.refused == []


async def test_a_pair_lost_between_zalos_answer_and_the_commit_needs_a_new_token(
    bots: Bots,
) -> None:
    """The window the keeper keeps minimal: Zalo spent the old refresh token and its answer
    never reached the database (a crash, or the answer lost on the way). The next refresh is
    refused, and that is said once, as for any refused token."""
    web = bots.process("web-1", bots.oauth.authorise())
    bots.oauth.fail("lost")
    with pytest.raises(ZaloTokenUnavailable, match="502"):
        await web.current()
    assert bots.oauth.refreshes == 1 and (await bots.stored()).lease_owner is None
    bots.clock.advance(3)  # after the back-off
    with pytest.raises(ZaloAuthFailed):
        await web.current()
    assert bots.oauth.refused == [INVALID_REFRESH_TOKEN]
    assert (await bots.stored()).failed_at is not None


async def test_network_errors_free_the_lease_and_back_off(bots: Bots) -> None:
    bots.oauth.expires_in = 3600
    web = bots.process("web-1", bots.oauth.authorise())
    bots.oauth.fail("network")
    with pytest.raises(ZaloTokenUnavailable, match="500"):
        await web.current()
    assert (await bots.stored()).lease_owner is None and bots.oauth.requests == 1
    with pytest.raises(ZaloTokenUnavailable, match="next try in 2 s"):
        await web.current()  # backing off: Zalo is not asked
    assert bots.oauth.requests == 1
    bots.clock.advance(2)
    token = await web.current()
    assert bots.oauth.valid(token) and bots.oauth.requests == 2

    # Renewing ahead of expiry fails: the token still valid is used meanwhile.
    bots.clock.advance(minutes=55)
    bots.oauth.fail("network", times=2)
    assert await web.current() == token
    assert await web.current() == token and bots.oauth.requests == 3  # backing off
    bots.clock.advance(2)
    assert await web.current() == token and bots.oauth.requests == 4  # failed again: 4 s now
    bots.clock.advance(4)
    renewed = await web.current()
    assert renewed != token and bots.oauth.requests == 5 and bots.oauth.refused == []


async def test_a_dead_processs_lease_is_taken_over_when_it_runs_out(bots: Bots) -> None:
    web = bots.process("web-1", bots.oauth.authorise())
    with pytest.raises(ZaloAuthFailed):  # nothing stored and no setting: say so, ask nobody
        await bots.process("web-0").current()
    await web.current()
    bots.clock.advance(hours=25)
    async with web.db.transaction() as session:  # a process took the lease and died
        version = (await read(session, bots.oauth.app_id)).version  # type: ignore[union-attr]
        assert await take_lease(
            session, bots.oauth.app_id, "dead", bots.clock.now(), web.lease, version=version
        )
    started = bots.clock.now()
    token = await web.current()  # waits on the clock, then takes the lease over
    assert bots.clock.now() - started > web.lease
    assert bots.oauth.valid(token) and bots.oauth.refreshes == 2
    assert (await bots.stored()).lease_owner is None


class KeeperChannel(BaseChannel):
    """A channel that needs the keeper's token for every send (as the OA adapter does)."""

    name = "zalo_test"

    def __init__(self, keeper: ZaloTokenKeeper) -> None:
        self.keeper = keeper
        self.sent: list[tuple[str, str]] = []

    async def deliver(self, chat_id: str, reply: Reply) -> str:
        self.sent.append((await self.keeper.current(), reply.text))
        return str(len(self.sent))


async def test_messages_wait_while_the_token_has_failed_and_go_once_it_is_set(
    bots: Bots,
) -> None:
    web = bots.process("web-1", bots.oauth.authorise())
    channel = KeeperChannel(web)
    sender = Sender(web.db, {channel.name: channel}, per_chat_rate=0, clock=bots.clock)
    bots.oauth.revoke()
    async with web.db.transaction() as session:
        await queue_messages(
            session, [Outgoing(channel.name, "u1", None, Reply(text="xin chào").to_json(), "hi")]
        )
    for _ in range(5):  # an hour of passes: the message waits, nothing is spent
        await sender.send_due()
        bots.clock.advance(minutes=12)
    async with web.db.sessions() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row is not None and (row.status, row.attempts) == (OutboxStatus.PENDING, 0)
    assert bots.oauth.requests == 1 and channel.sent == []
    await replace_refresh_token(web.db, bots.oauth.app_id, bots.oauth.authorise())
    bots.clock.advance(AUTH_RETRY_AFTER + FAILED_RECHECK)
    assert await sender.send_due() == 1
    assert [text for _, text in channel.sent] == ["xin chào"]
    assert bots.oauth.valid(channel.sent[0][0])
