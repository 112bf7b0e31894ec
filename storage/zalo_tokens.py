"""A Zalo Official Account's OAuth pair in the database (``zalo_tokens``), shared by every
process of one bot.

Zalo's refresh token is single-use: refreshing returns a new access token *and* a new refresh
token, and the old refresh token is dead. So one process at a time refreshes, under a lease
(:func:`take_lease`: a conditional UPDATE that succeeds only while nobody holds a live lease
and the pair is still the one the caller found wanting: one stored meanwhile is used instead),
and the new pair is stored (:func:`store_pair`) on the condition that the stored pair is still
the one it was refreshed from (``version``; moved by every new pair). Refusing to store a pair
Zalo has issued would lose the only live refresh token, so a refresher whose lease ran out
still stores its pair as long as nobody stored another meanwhile; the one who took the lease
over then finds its refresh refused (the token it used is spent) and a newer pair stored
(:func:`mark_failed` fails on the version too), and takes that pair.

A refresh token Zalo refuses leaves the row ``failed``: nobody refreshes any more until an
official sets a new refresh token (:func:`set_refresh_token`, ``ocop-bot zalo
set-refresh-token``). The first pair comes from the setting ``OCOP_ZALO_REFRESH_TOKEN`` when the
table has no row for the app yet (:func:`seed`); later pairs live only here.

Every time is the caller's (its Clock's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ZaloToken

__all__ = [
    "TokenStatus",
    "Tokens",
    "mark_failed",
    "read",
    "release_lease",
    "seed",
    "set_refresh_token",
    "statuses",
    "store_pair",
    "take_lease",
]

FAILURE_LENGTH = 500  # characters of Zalo's reason kept


@dataclass(frozen=True, slots=True)
class Tokens:
    """The stored pair of one app and who may refresh it (a snapshot of the row)."""

    app_id: str
    access_token: str  # "" until the first refresh (or after a new refresh token is set)
    refresh_token: str
    access_expires_at: datetime | None
    refreshed_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    failed_at: datetime | None
    failure: str | None
    version: int

    def usable(self, now: datetime, ahead: timedelta = timedelta(0)) -> bool:
        """Whether the access token may be used at ``now`` and still ``ahead`` of it."""
        return (
            self.failed_at is None
            and bool(self.access_token)
            and self.access_expires_at is not None
            and self.access_expires_at - ahead > now
        )

    def leased(self, now: datetime) -> bool:
        """Whether some process holds a live refresh lease."""
        return self.lease_until is not None and self.lease_until >= now


@dataclass(frozen=True, slots=True)
class TokenStatus:
    """Whether an app's pair works, for ``/healthz`` and the console: when Zalo refused its
    refresh token and why (None: it has not, or a new one was set since)."""

    app_id: str
    failed_at: datetime | None
    failure: str | None


def _tokens(row: ZaloToken) -> Tokens:
    return Tokens(
        app_id=row.app_id,
        access_token=row.access_token,
        refresh_token=row.refresh_token,
        access_expires_at=row.access_expires_at,
        refreshed_at=row.refreshed_at,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
        failed_at=row.failed_at,
        failure=row.failure,
        version=row.version,
    )


async def read(session: AsyncSession, app_id: str) -> Tokens | None:
    """The stored pair of ``app_id`` (None: none was ever seeded or set)."""
    statement = select(ZaloToken).where(ZaloToken.app_id == app_id)
    row = await session.scalar(statement.execution_options(populate_existing=True))
    return _tokens(row) if row is not None else None


def _insert(session: AsyncSession) -> Any:
    return sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert


def _fresh(app_id: str, refresh_token: str) -> dict[str, object]:
    return {
        "app_id": app_id,
        "access_token": "",
        "refresh_token": refresh_token,
        "access_expires_at": None,
        "lease_owner": None,
        "lease_until": None,
        "failed_at": None,
        "failure": None,
    }


async def seed(session: AsyncSession, app_id: str, refresh_token: str) -> bool:
    """Store ``refresh_token`` (the setting's) as the first one of ``app_id`` when the app has
    no row yet; whether it did (a row, even a failed one, is never replaced from here)."""
    statement = (
        _insert(session)(ZaloToken)
        .values(**_fresh(app_id, refresh_token), version=1)
        .on_conflict_do_nothing(index_elements=["app_id"])
        .returning(ZaloToken.app_id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def set_refresh_token(session: AsyncSession, app_id: str, refresh_token: str) -> Tokens:
    """An official's new refresh token for ``app_id`` replaces whatever is stored, failed or
    not: the access token is dropped (the next use refreshes), a failure and a lease are
    cleared, and the version moves, so a refresh under way from the old pair stores nothing."""
    fresh = _fresh(app_id, refresh_token)
    statement = _insert(session)(ZaloToken).values(**fresh, version=1, refreshed_at=None)
    statement = statement.on_conflict_do_update(
        index_elements=["app_id"],
        set_={**{k: v for k, v in fresh.items() if k != "app_id"},
              "version": ZaloToken.version + 1},
    ).returning(ZaloToken)  # fmt: skip
    row = (await session.execute(statement.execution_options(populate_existing=True))).scalar_one()
    return _tokens(row)


async def take_lease(
    session: AsyncSession,
    app_id: str,
    owner: str,
    now: datetime,
    lease: timedelta,
    *,
    version: int,
) -> Tokens | None:
    """The right to refresh ``app_id``'s pair until ``now + lease``, for ``owner``, when
    the stored pair is still the one of ``version`` (the one the caller found wanting: a pair
    stored since is used instead), nobody holds a live lease and the pair has not failed: the
    row as leased, else None."""
    statement = (
        update(ZaloToken)
        .where(
            ZaloToken.app_id == app_id,
            ZaloToken.version == version,
            ZaloToken.failed_at.is_(None),
            or_(ZaloToken.lease_until.is_(None), ZaloToken.lease_until < now),
        )
        .values(lease_owner=owner, lease_until=now + lease)
        .returning(ZaloToken)
    )
    row = (await session.execute(statement.execution_options(populate_existing=True))).scalar()
    return _tokens(row) if row is not None else None


async def store_pair(
    session: AsyncSession,
    app_id: str,
    *,
    version: int,
    access_token: str,
    refresh_token: str,
    expires_at: datetime,
    now: datetime,
) -> bool:
    """The pair Zalo gave for the refresh token of ``version`` replaces it (and frees the
    lease), unless another pair was stored or set meanwhile; whether it did."""
    result = await session.execute(
        update(ZaloToken)
        .where(ZaloToken.app_id == app_id, ZaloToken.version == version)
        .values(
            access_token=access_token,
            refresh_token=refresh_token,
            access_expires_at=expires_at,
            refreshed_at=now,
            lease_owner=None,
            lease_until=None,
            failed_at=None,
            failure=None,
            version=ZaloToken.version + 1,
        )
        .returning(ZaloToken.app_id)
    )
    return result.scalar_one_or_none() is not None


async def mark_failed(
    session: AsyncSession, app_id: str, *, version: int, failure: str, now: datetime
) -> bool:
    """Zalo refused the refresh token of ``version``: the row is failed (and the lease freed)
    unless it already is, or another pair was stored or set meanwhile. True only for the one
    call that made it fail, so whoever gets True raises the alert, once."""
    result = await session.execute(
        update(ZaloToken)
        .where(
            ZaloToken.app_id == app_id,
            ZaloToken.version == version,
            ZaloToken.failed_at.is_(None),
        )
        .values(
            failed_at=now,
            failure=failure[:FAILURE_LENGTH],
            lease_owner=None,
            lease_until=None,
        )
        .returning(ZaloToken.app_id)
    )
    return result.scalar_one_or_none() is not None


async def release_lease(session: AsyncSession, app_id: str, owner: str) -> bool:
    """Give the refresh lease back (the refresh did not happen: network trouble); whether
    ``owner`` still held it."""
    result = await session.execute(
        update(ZaloToken)
        .where(ZaloToken.app_id == app_id, ZaloToken.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
        .returning(ZaloToken.app_id)
    )
    return result.scalar_one_or_none() is not None


async def statuses(session: AsyncSession) -> list[TokenStatus]:
    """Every stored app's status (none: no Zalo OA was ever set up)."""
    rows = await session.execute(
        select(ZaloToken.app_id, ZaloToken.failed_at, ZaloToken.failure).order_by(ZaloToken.app_id)
    )
    return [TokenStatus(app_id, failed_at, failure) for app_id, failed_at, failure in rows]
