"""A fake of Zalo's OAuth server for Official Accounts (``POST /v4/oa/access_token``), speaking
real HTTP (aiohttp), for tests.

Alone, on a free port::

    async with FakeZaloOAuth(app_id="123", secret="s3cret", clock=clock) as oauth:
        keeper = ZaloTokenKeeper(db, app_id="123", app_secret="s3cret", oauth_url=oauth.url,
                                 refresh_token=oauth.authorise(), ...)

or mounted on another fake's application (the OA API fake answers -216 for a token
``oauth.valid(token)`` says is not valid)::

    oauth = FakeZaloOAuth(app_id="123", secret="s3cret", clock=clock)
    oauth.add_routes(app)

As Zalo does, it reads a form body (``refresh_token``, ``app_id``, ``grant_type=refresh_token``)
with the app secret in the ``secret_key`` header, and answers HTTP 200 either way: a new pair
``{"access_token", "refresh_token", "expires_in"}`` (``expires_in`` in seconds, as a string, as
Zalo sends it), or an error ``{"error": <negative code>, "error_name", "error_description"}``.
Refresh tokens work once: a spent one, one it never issued or one :meth:`revoke`\\ d is refused.
The error codes are this fake's (Zalo's own for each case are not documented where we looked);
the bot treats every error answer of this endpoint alike.

Faults for the next requests (:meth:`fail`): ``"network"`` (HTTP 500, the token not spent),
``"invalid"`` (refused as an invalid refresh token), ``"lost"`` (the pair is issued and the old
token spent, but the answer is an HTTP 502: as if the connection broke after Zalo answered).
:attr:`gate` (an :class:`asyncio.Event`) holds every request until it is set. :attr:`requests`
counts every request, :attr:`refreshes` the pairs issued.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from storage.clock import Clock, SystemClock

__all__ = ["INVALID_APP", "INVALID_REFRESH_TOKEN", "INVALID_SECRET", "FakeZaloOAuth"]

PATH = "/v4/oa/access_token"
INVALID_REFRESH_TOKEN = -14014
INVALID_APP = -14002
INVALID_SECRET = -14003
INVALID_GRANT = -14001
FAULTS = ("network", "invalid", "lost")


@dataclass
class _Access:
    expires_at: datetime
    expired: bool = False


class FakeZaloOAuth:
    """The fake OAuth server of one Zalo app (``app_id``, ``secret``); times by ``clock``."""

    def __init__(
        self,
        *,
        app_id: str = "4291763606161179100",
        secret: str = "fake-app-secret",
        clock: Clock | None = None,
        expires_in: int = 90_000,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.app_id, self.secret = app_id, secret
        self.clock: Clock = clock or SystemClock()
        self.expires_in = expires_in  # seconds each new access token lives (Zalo: ~25 h)
        self.host, self.port = host, port
        self.gate = asyncio.Event()
        self.gate.set()
        self.requests = 0  # every request to the endpoint
        self.refreshes = 0  # pairs issued
        self.refused: list[int] = []  # the error code of every refusal, in order
        self.live: set[str] = set()  # refresh tokens that still work
        self.spent: set[str] = set()
        self.access: dict[str, _Access] = {}
        self._faults: list[str] = []
        self._serial = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Condition()

    # -- driving it from a test ---------------------------------------------------------------
    def authorise(self) -> str:
        """A new refresh token, as an official authorising the OA on Zalo's site gets one."""
        token = f"rt{next(self._serial)}-{secrets.token_urlsafe(24)}"
        self.live.add(token)
        return token

    def spend(self, refresh_token: str) -> None:
        """Use ``refresh_token`` up as if someone (a process that then died) had refreshed."""
        self.live.discard(refresh_token)
        self.spent.add(refresh_token)

    def revoke(self) -> None:
        """Every refresh token stops working (three months passed, or the OA was unlinked)."""
        self.spent |= self.live
        self.live.clear()

    def fail(self, fault: str, times: int = 1) -> None:
        """The next ``times`` requests meet ``fault`` (see the module's text)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}: one of {FAULTS}")
        self._faults += [fault] * times

    def valid(self, access_token: str) -> bool:
        """Whether the OA API takes ``access_token`` now (issued here, not yet expired)."""
        access = self.access.get(access_token)
        return access is not None and not access.expired and self.clock.now() < access.expires_at

    def expire(self, access_token: str) -> None:
        """``access_token`` stops working now (Zalo invalidated it)."""
        if access_token in self.access:
            self.access[access_token].expired = True

    async def wait_requests(self, n: int, timeout: float = 5.0) -> None:
        """Until ``n`` requests in all have arrived."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: self.requests >= n), timeout)

    # -- serving --------------------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        """Serve ``POST /v4/oa/access_token`` on ``app`` (another fake's, say)."""
        app.router.add_post(PATH, self._access_token)

    @property
    def url(self) -> str:
        """The OAuth root to give the bot (``OCOP_ZALO_OAUTH_URL``)."""
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> FakeZaloOAuth:
        app = web.Application()
        self.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def _refuse(self, code: int, name: str, description: str) -> web.Response:
        self.refused.append(code)
        body = {"error": code, "error_name": name, "error_description": description}
        return web.json_response(body)

    async def _access_token(self, request: web.Request) -> web.Response:
        form = await request.post()
        async with self._arrived:
            self.requests += 1
            self._arrived.notify_all()
        await self.gate.wait()
        fault = self._faults.pop(0) if self._faults else None
        if fault == "network":
            return web.Response(status=500, text="Internal Server Error")
        if request.headers.get("secret_key") != self.secret:
            return self._refuse(INVALID_SECRET, "Invalid secret key", "secret_key is wrong")
        if form.get("app_id") != self.app_id:
            return self._refuse(INVALID_APP, "Invalid app id", "app_id is unknown")
        if form.get("grant_type") != "refresh_token":
            return self._refuse(INVALID_GRANT, "Invalid grant type", "grant_type is wrong")
        token = str(form.get("refresh_token") or "")
        if fault == "invalid" or token not in self.live:
            return self._refuse(
                INVALID_REFRESH_TOKEN, "Invalid refresh token",
                "Refresh token is invalid or expired",
            )  # fmt: skip
        self.spend(token)
        access = f"at{next(self._serial)}-{secrets.token_urlsafe(24)}"
        self.access[access] = _Access(self.clock.now() + timedelta(seconds=self.expires_in))
        refresh = self.authorise()
        self.refreshes += 1
        if fault == "lost":
            return web.Response(status=502, text="Bad Gateway")
        lifetime = str(self.expires_in)
        return web.json_response(
            {"access_token": access, "refresh_token": refresh, "expires_in": lifetime}
        )
