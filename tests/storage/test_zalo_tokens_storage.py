"""storage/zalo_tokens.py on SQLite and (with OCOP_TEST_POSTGRES_URL) PostgreSQL, through two
``Database`` objects on one database, as two processes would be: seeding, the refresh lease
(one holder, taken over when it runs out), storing a pair only on the version it was refreshed
from, failing once, and a new refresh token set after a failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.db import Database
from storage.zalo_tokens import (
    Tokens,
    mark_failed,
    read,
    release_lease,
    seed,
    set_refresh_token,
    statuses,
    store_pair,
    take_lease,
)
from tests.conftest import migrate, migrated_copy
from tests.postgres import POSTGRES_URL, templates

APP = "4291763606161179100"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def two(
    request: pytest.FixtureRequest, migrated_sqlite: Path, tmp_path: Path
) -> AsyncIterator[tuple[Database, Database]]:
    """Two ``Database`` objects (two processes) on one migrated database."""
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("OCOP_TEST_POSTGRES_URL is not set")
        async with templates().copy("schema", migrate, "ocop_test_zalo_tokens") as url:
            first, second = Database(url), Database(url)
            yield first, second
            await first.dispose()
            await second.dispose()
        return
    first = migrated_copy(migrated_sqlite, tmp_path / "zalo.sqlite3")
    second = Database(first.url)
    yield first, second
    await first.dispose()
    await second.dispose()


async def stored(db: Database) -> Tokens:
    async with db.sessions() as session:
        tokens = await read(session, APP)
    assert tokens is not None
    return tokens


async def lease(db: Database, owner: str, now: datetime = NOW, version: int = 1) -> Tokens | None:
    async with db.transaction() as session:
        return await take_lease(session, APP, owner, now, LEASE, version=version)


async def store(db: Database, version: int, access: str, refresh: str) -> bool:
    async with db.transaction() as session:
        return await store_pair(
            session, APP, version=version, access_token=access, refresh_token=refresh,
            expires_at=NOW + timedelta(hours=25), now=NOW,
        )  # fmt: skip


async def fail(db: Database, version: int, why: str = "-14014 Invalid refresh token") -> bool:
    async with db.transaction() as session:
        return await mark_failed(session, APP, version=version, failure=why, now=NOW)


async def test_the_setting_seeds_only_an_app_without_a_row(two: tuple[Database, Database]) -> None:
    db, _ = two
    async with db.sessions() as session:
        assert await read(session, APP) is None
        assert await statuses(session) == []
    async with db.transaction() as session:
        assert await seed(session, APP, "rt-setting")
    first = await stored(db)
    assert (first.refresh_token, first.access_token, first.version) == ("rt-setting", "", 1)
    assert not first.usable(NOW)
    async with db.transaction() as session:
        assert not await seed(session, APP, "rt-other")  # a row is never replaced by the setting
    assert (await stored(db)).refresh_token == "rt-setting"


async def test_one_process_holds_the_lease_until_it_runs_out(
    two: tuple[Database, Database],
) -> None:
    first, second = two
    async with first.transaction() as session:
        await seed(session, APP, "rt-1")
    taken = await asyncio.gather(lease(first, "web-1"), lease(second, "web-2"))
    holders = [t for t in taken if t is not None]
    assert len(holders) == 1  # exactly one of two processes asking at once
    holder = holders[0]
    assert holder.refresh_token == "rt-1" and holder.leased(NOW)
    assert await lease(second, "web-3", NOW + LEASE) is None  # still live at its last second
    later = await lease(second, "web-3", NOW + LEASE + timedelta(seconds=1))
    assert later is not None and later.lease_owner == "web-3"  # the holder died: taken over
    async with first.transaction() as session:
        assert not await release_lease(session, APP, str(holder.lease_owner))  # not theirs now
        assert await release_lease(session, APP, "web-3")
    assert (await stored(first)).lease_owner is None


async def test_a_pair_is_stored_only_on_the_version_it_was_refreshed_from(
    two: tuple[Database, Database],
) -> None:
    first, second = two
    async with first.transaction() as session:
        await seed(session, APP, "rt-1")
    leased = await lease(first, "web-1")
    assert leased is not None
    assert await store(first, leased.version, "at-2", "rt-2")
    now = await stored(second)
    assert (now.access_token, now.refresh_token, now.lease_owner) == ("at-2", "rt-2", None)
    assert now.version == leased.version + 1 and now.refreshed_at == NOW
    assert now.usable(NOW, timedelta(minutes=10))
    # A second store from the same version (a refresher whose lease ran out, too late) is
    # refused, and a refusal of the spent token fails nothing: the newer pair stands.
    assert not await store(second, leased.version, "at-x", "rt-x")
    assert not await fail(second, leased.version)
    kept = await stored(first)
    assert (kept.access_token, kept.failed_at) == ("at-2", None)


async def test_a_lease_that_ran_out_still_stores_the_pair_zalo_gave(
    two: tuple[Database, Database],
) -> None:
    """Zalo spent the old refresh token when it answered: the answer must be kept even if
    another process took the lease over meanwhile (its own refresh will be refused)."""
    first, second = two
    async with first.transaction() as session:
        await seed(session, APP, "rt-1")
    slow = await lease(first, "web-1")
    assert slow is not None
    taker = await lease(second, "web-2", NOW + LEASE + timedelta(seconds=1))
    assert taker is not None and taker.version == slow.version
    assert await store(first, slow.version, "at-2", "rt-2")
    assert not await fail(second, taker.version)  # rt-1 refused: not a failure, rt-2 stands
    assert (await stored(second)).refresh_token == "rt-2"


async def test_a_refused_token_fails_once_and_a_new_one_clears_it(
    two: tuple[Database, Database],
) -> None:
    first, second = two
    async with first.transaction() as session:
        await seed(session, APP, "rt-1")
    leased = await lease(first, "web-1")
    assert leased is not None
    outcomes = await asyncio.gather(fail(first, leased.version), fail(second, leased.version))
    assert sorted(outcomes) == [False, True]  # whoever gets True alerts the officials
    failed = await stored(first)
    assert failed.failed_at == NOW and failed.failure == "-14014 Invalid refresh token"
    assert failed.lease_owner is None and not failed.usable(NOW)
    assert await lease(second, "web-2") is None  # nobody refreshes a failed pair
    async with second.sessions() as session:
        (status,) = await statuses(session)
    assert (status.app_id, status.failed_at) == (APP, NOW)

    async with second.transaction() as session:
        renewed = await set_refresh_token(session, APP, "rt-new")
    assert renewed.version == failed.version + 1
    assert (renewed.refresh_token, renewed.access_token, renewed.failed_at) == ("rt-new", "", None)
    async with first.sessions() as session:
        assert [s.failed_at for s in await statuses(session)] == [None]
    assert await lease(first, "web-1", version=failed.version) is None  # the old pair
    again = await lease(first, "web-1", version=renewed.version)
    assert again is not None and again.refresh_token == "rt-new"


async def test_a_new_token_set_during_a_refresh_wins(two: tuple[Database, Database]) -> None:
    first, second = two
    async with first.transaction() as session:
        await seed(session, APP, "rt-1")
    leased = await lease(first, "web-1")
    assert leased is not None
    async with second.transaction() as session:
        await set_refresh_token(session, APP, "rt-official")
    assert not await store(first, leased.version, "at-2", "rt-2")
    assert not await fail(first, leased.version)
    now = await stored(second)
    assert (now.refresh_token, now.lease_owner, now.failed_at) == ("rt-official", None, None)


async def test_a_new_token_for_an_app_never_seen_creates_its_row(
    two: tuple[Database, Database],
) -> None:
    db, _ = two
    async with db.transaction() as session:
        created = await set_refresh_token(session, APP, "rt-first")
    assert (created.refresh_token, created.version, created.failed_at) == ("rt-first", 1, None)
    async with db.transaction() as session:
        assert not await seed(session, APP, "rt-setting")


async def test_no_lease_for_a_pair_renewed_since_it_was_read(
    two: tuple[Database, Database],
) -> None:
    """A process that found the pair wanting while another renewed it must take the new pair,
    not refresh again."""
    first, second = two
    async with first.transaction() as session:
        await seed(session, APP, "rt-1")
    seen = await stored(second)  # the second process reads: the token is missing
    leased = await lease(first, "web-1", version=seen.version)
    assert leased is not None
    assert await store(first, leased.version, "at-2", "rt-2")  # the first renews meanwhile
    assert await lease(second, "web-2", version=seen.version) is None
    assert (await stored(second)).access_token == "at-2"
