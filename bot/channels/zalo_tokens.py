"""The Zalo Official Account's access token, for the OA adapter (``bot/channels/zalo_oa.py``).

Every OA API call carries ``access_token: <token>``. The token lives about 25 hours and is
renewed with the refresh token, which Zalo accepts *once*: each refresh answers a new pair.
:class:`ZaloTokenKeeper` hands out the token (:meth:`~ZaloTokenKeeper.current`) and renews it
10 minutes before it expires, or when Zalo rejects it (:meth:`~ZaloTokenKeeper.refresh_after`,
after -216/-220), so that among every process sharing the database:

- one refreshes at a time (the lease of :func:`storage.zalo_tokens.take_lease`); the others
  re-read the database, backing off on the Clock, until the new pair is there (or the lease
  runs out, and one of them takes it over);
- the new pair is committed right after Zalo's answer, before its access token is used: a
  process that dies after the commit leaves the pair for the next one. One that dies between
  Zalo's answer and the commit (or whose answer is lost on the way) loses the pair: Zalo has
  spent the old refresh token, the next refresh is refused and officials are told (below).
  Nothing else happens in that window, and a caller that gives up (the sender's send
  timeout cancels it) does not stop a refresh under way: it runs on to its commit;
- a refresh token Zalo refuses marks the row failed, once, in the transaction that alerts the
  province officials and administrators in chat (``bot/official_notify.py``); from then on the
  keeper raises :class:`ZaloAuthFailed` at once, without calling Zalo (it looks at the database
  again every :data:`FAILED_RECHECK`), until an official sets a new refresh token (``ocop-bot
  zalo set-refresh-token``). ``/healthz`` and the console's home page say so meanwhile;
- network trouble while refreshing frees the lease and backs off (in this process) before the
  next try: :class:`ZaloTokenUnavailable`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from bot.channels.base import RetryLater, TransientError
from bot.official_notify import alert_zalo_token_failed
from storage.clock import Clock
from storage.db import Database
from storage.zalo_tokens import (
    Tokens,
    mark_failed,
    read,
    release_lease,
    seed,
    store_pair,
    take_lease,
)

__all__ = [
    "AUTH_RETRY_AFTER",
    "FAILED_RECHECK",
    "REFRESH_AHEAD",
    "ZaloAuthFailed",
    "ZaloTokenKeeper",
    "ZaloTokenUnavailable",
]

log = logging.getLogger(__name__)

REFRESH_AHEAD = timedelta(minutes=10)  # a token this close to its expiry is renewed
REFRESH_LEASE = timedelta(seconds=60)  # longer than a refresh can take (REQUEST_TIMEOUT)
REQUEST_TIMEOUT = 20.0  # seconds Zalo's OAuth server has to answer
AUTH_RETRY_AFTER = 60.0  # seconds the sender pauses the channel while the token has failed
FAILED_RECHECK = 30.0  # seconds between looks at the database while the token has failed
FRESH_TOKEN = timedelta(minutes=1)  # a token refreshed this recently is not refreshed again
POLL_FIRST, POLL_MAX = 0.1, 2.0  # seconds between reads while another process refreshes
BACKOFF_FIRST, BACKOFF_MAX = 2.0, 300.0  # seconds before a refresh is tried again after a
# network error, doubling
MAX_REFRESHES = 3  # refreshes one call may try (each pair stored under it by someone else)
DEFAULT_LIFETIME = timedelta(hours=1)  # assumed when Zalo's expires_in cannot be read


class ZaloAuthFailed(RetryLater):
    """Zalo refused the OA's refresh token (or none was ever set): nothing reaches Zalo until
    an official sets a new one. A :class:`RetryLater`, so the sender pauses the channel and
    tries again in ``retry_after`` seconds without counting an attempt: messages wait instead
    of being given up, and the keeper answers each try at once, without calling Zalo."""

    def __init__(self, message: str, retry_after: float = AUTH_RETRY_AFTER) -> None:
        super().__init__(retry_after, message)


class ZaloTokenUnavailable(TransientError):
    """No access token for now (Zalo's OAuth server unreachable or answering nonsense, or
    another process refreshing for too long): retry with back-off."""


class _Refused(Exception):
    """Zalo's OAuth server answered with an error: the refresh token (or the app) is refused."""


def _lifetime(value: Any) -> timedelta:
    """Zalo's ``expires_in`` (seconds, as a number or a string)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME
    return timedelta(seconds=seconds) if seconds > 0 else DEFAULT_LIFETIME


def _refusal(answer: dict[str, Any]) -> str | None:
    """Zalo's error in an answer, as ``"<code> <name or description>"`` (None: no error)."""
    code = answer.get("error")
    if code in (None, 0, "0", ""):
        return None
    words = [
        str(answer[key])
        for key in ("error_name", "error_description", "message")
        if answer.get(key)
    ]
    return " ".join([str(code), *dict.fromkeys(words)])


class ZaloTokenKeeper:
    """The OA's access token for every call of this process, renewed in turn with the other
    processes on the same database (see the module's text).

    ``refresh_token`` (``OCOP_ZALO_REFRESH_TOKEN``) is stored as the first one when the
    database has none for ``app_id``; later ones are only in the database. ``owner`` names this
    process in the refresh lease (``OCOP_WORKER_NAME``). ``http`` is the adapter's session (one
    of the keeper's own otherwise, closed by :meth:`close`).
    """

    def __init__(
        self,
        db: Database,
        *,
        app_id: str,
        app_secret: str,
        oauth_url: str,
        refresh_token: str | None = None,
        owner: str,
        clock: Clock,
        http: aiohttp.ClientSession | None = None,
        ahead: timedelta = REFRESH_AHEAD,
        lease: timedelta = REFRESH_LEASE,
    ) -> None:
        self.db = db
        self.app_id = app_id
        self._secret = app_secret
        self.url = oauth_url.rstrip("/") + "/v4/oa/access_token"
        self._initial = refresh_token or None
        self.owner = owner
        self.clock = clock
        self._http = http
        self._own_http = http is None
        self.ahead = ahead
        self.lease = lease
        self._lock = asyncio.Lock()
        self._tokens: Tokens | None = None
        self._failed: str | None = None  # why nothing can be refreshed, as last seen
        self._failed_seen = 0.0  # monotonic time it was last seen in the database
        self._not_before = 0.0  # monotonic time before which no refresh is tried again
        self._network_errors = 0
        self._network_error_text = ""
        self._refreshing: set[asyncio.Future[str | None]] = set()

    async def current(self) -> str:
        """An access token valid for at least a while (renewed when it is within ``ahead`` of
        its expiry). Raises :class:`ZaloAuthFailed` when the refresh token was refused,
        :class:`ZaloTokenUnavailable` when no token can be had for now."""
        tokens = self._tokens
        if self._failed is None and tokens and tokens.usable(self.clock.now(), self.ahead):
            return tokens.access_token
        async with self._lock:
            return await self._obtain(None)

    async def refresh_after(self, rejected: str) -> str:
        """A token to retry with after Zalo rejected ``rejected`` (-216, -220): the stored one
        when another call or process has renewed it since, otherwise a new one (the refresh
        happens once however many calls ask at the same time)."""
        async with self._lock:
            return await self._obtain(rejected)

    async def close(self) -> None:
        """Let a refresh under way finish (its pair committed), then close the keeper's own
        HTTP session (not the adapter's)."""
        await asyncio.gather(*self._refreshing, return_exceptions=True)
        if self._own_http and self._http is not None:
            await self._http.close()
            self._http = None

    # -- the loop -------------------------------------------------------------------------
    async def _obtain(self, rejected: str | None) -> str:
        self._raise_if_failed()
        started = self.clock.monotonic()
        wait = POLL_FIRST
        refreshes = 0
        while True:
            now = self.clock.now()
            tokens = await self._stored()
            other = tokens.access_token != rejected
            if other and tokens.usable(now, self.ahead):
                return tokens.access_token
            if not other and tokens.refreshed_at and now - tokens.refreshed_at < FRESH_TOKEN:
                raise ZaloTokenUnavailable("Zalo rejected an access token it issued just now")
            if self.clock.monotonic() < self._not_before:
                if other and tokens.usable(now):
                    return tokens.access_token  # still valid: the renewal can wait
                left = self._not_before - self.clock.monotonic()
                raise ZaloTokenUnavailable(
                    f"refreshing the Zalo token failed ({self._network_error_text}); "
                    f"next try in {left:.0f} s"
                )
            if refreshes == MAX_REFRESHES:
                raise ZaloTokenUnavailable("the Zalo token changed under every refresh")
            leased = await self._take_lease(now, tokens.version)
            if leased is not None:
                refreshes += 1
                renewed = await self._uncancellable(self._refresh(leased))
                if renewed is not None:
                    return renewed
                continue  # another pair was stored, ours failed or Zalo did not answer
            if other and tokens.usable(now):
                return tokens.access_token  # another process is renewing it ahead of expiry
            if self.clock.monotonic() - started > 2 * self.lease.total_seconds():
                raise ZaloTokenUnavailable("another process has been refreshing for too long")
            await self.clock.sleep(wait)
            wait = min(wait * 2, POLL_MAX)

    async def _uncancellable(self, refresh: Coroutine[Any, Any, str | None]) -> str | None:
        """``refresh`` run to its end even if the caller is cancelled (the sender gives up a
        send at its timeout): Zalo's answer must reach the database, or the pair is lost."""
        task = asyncio.ensure_future(refresh)
        self._refreshing.add(task)
        task.add_done_callback(self._refreshing.discard)
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        return await asyncio.shield(task)

    def _raise_if_failed(self) -> None:
        """Raise at once while the token is known to have failed (no database read either,
        until it is time to look again)."""
        since = self.clock.monotonic() - self._failed_seen
        if self._failed is not None and since < FAILED_RECHECK:
            raise ZaloAuthFailed(self._failed)

    def _fail(self, why: str) -> ZaloAuthFailed:
        self._failed = why
        self._failed_seen = self.clock.monotonic()
        return ZaloAuthFailed(why)

    async def _stored(self) -> Tokens:
        """The stored pair (seeded from the setting when there is none); raises when it has
        failed or there is none."""
        async with self.db.sessions() as session:
            tokens = await read(session, self.app_id)
        if tokens is None and self._initial:
            async with self.db.transaction() as session:
                await seed(session, self.app_id, self._initial)
                tokens = await read(session, self.app_id)
        if tokens is None:
            raise self._fail(
                "no Zalo refresh token: set OCOP_ZALO_REFRESH_TOKEN or run "
                "`ocop-bot zalo set-refresh-token`"
            )
        self._tokens = tokens
        if tokens.failed_at is not None:
            raise self._fail(f"Zalo refused the refresh token: {tokens.failure}")
        self._failed = None
        return tokens

    async def _take_lease(self, now: datetime, version: int) -> Tokens | None:
        async with self.db.transaction() as session:
            return await take_lease(
                session, self.app_id, self.owner, now, self.lease, version=version
            )

    # -- one refresh ----------------------------------------------------------------------
    async def _refresh(self, leased: Tokens) -> str | None:
        """Renew the pair ``leased`` (its lease ours): the new access token, or None when the
        pair was not ours to store, Zalo refused it or did not answer (look again)."""
        try:
            answer = await self._ask_zalo(leased.refresh_token)
        except _Refused as refused:
            await self._refused(leased, str(refused))
            return None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            await self._network_error(exc)
            return None
        access, refresh = answer["access_token"], answer["refresh_token"]
        now = self.clock.now()
        expires_at = now + _lifetime(answer.get("expires_in"))
        async with self.db.transaction() as session:  # nothing before this: see the module
            stored = await store_pair(
                session, self.app_id, version=leased.version, access_token=access,
                refresh_token=refresh, expires_at=expires_at, now=now,
            )  # fmt: skip
        self._network_errors = 0
        self._not_before = 0.0
        if not stored:
            log.warning("Zalo OA %s: a new refresh token was set while this process refreshed; "
                        "using that one", self.app_id)  # fmt: skip
            return None
        self._tokens = replace(
            leased, access_token=access, refresh_token=refresh, access_expires_at=expires_at,
            refreshed_at=now, lease_owner=None, lease_until=None, version=leased.version + 1,
        )  # fmt: skip
        log.info("Zalo OA %s: access token renewed, valid until %s", self.app_id, expires_at)
        return access

    async def _ask_zalo(self, refresh_token: str) -> dict[str, Any]:
        """Zalo's answer to a refresh: a dict with both tokens. Raises :class:`_Refused` for an
        error answer, :class:`aiohttp.ClientError`, :class:`TimeoutError` or
        :class:`ValueError` (an answer that is not one) otherwise."""
        if self._http is None:
            self._http = aiohttp.ClientSession()
        form = {"refresh_token": refresh_token, "app_id": self.app_id,
                "grant_type": "refresh_token"}  # fmt: skip
        async with self._http.post(
            self.url,
            data=form,
            headers={"secret_key": self._secret},
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
        ) as response:
            if response.status >= 500 or response.status == 429:
                why = response.reason or ""
                raise aiohttp.ClientResponseError(
                    response.request_info, (), status=response.status, message=why
                )
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                raise ValueError(f"an unreadable answer (HTTP {response.status})") from None
        if not isinstance(answer, dict):
            raise ValueError(f"an unreadable answer (HTTP {response.status})")
        refusal = _refusal(answer)
        if refusal is not None:
            raise _Refused(refusal)
        if not (
            isinstance(answer.get("access_token"), str)
            and answer["access_token"]
            and isinstance(answer.get("refresh_token"), str)
            and answer["refresh_token"]
        ):
            raise ValueError(f"an answer without tokens (HTTP {response.status})")  # fmt: skip
        return answer

    async def _refused(self, leased: Tokens, reason: str) -> None:
        """Zalo refused the refresh token of ``leased``: the row fails, and officials are
        told, unless it failed already or another pair was stored meanwhile."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            first = await mark_failed(
                session, self.app_id, version=leased.version, failure=reason, now=now
            )
            told = await alert_zalo_token_failed(session, reason=reason) if first else 0
        if first:
            log.error(
                "Zalo OA %s: Zalo refused the refresh token (%s); nothing goes to Zalo until "
                "a new one is set with `ocop-bot zalo set-refresh-token` (%d officials told)",
                self.app_id, reason, told,
            )  # fmt: skip

    async def _network_error(self, exc: BaseException) -> None:
        """No pair came back (the network failed; whether Zalo spent the refresh token is not
        known): free the lease, and wait longer before the next try."""
        async with self.db.transaction() as session:
            await release_lease(session, self.app_id, self.owner)
        self._network_errors += 1
        self._network_error_text = str(exc) or type(exc).__name__
        delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (self._network_errors - 1))
        self._not_before = self.clock.monotonic() + delay
        log.warning(
            "Zalo OA %s: refreshing the access token failed (%s); trying again in %.0f s",
            self.app_id, type(exc).__name__, delay,
        )  # fmt: skip
