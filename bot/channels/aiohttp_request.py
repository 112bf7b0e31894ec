"""python-telegram-bot's HTTP layer on aiohttp instead of httpx.

PTB builds every Bot API call and parses every answer; this class only moves the bytes. aiohttp
(already the project's web framework) costs less CPU per request than httpx/httpcore/anyio,
and the bot's own CPU is what limits how many messages one process sends.

JSON-only calls are posted as JSON; calls carrying files are posted as multipart form data.
"""

from __future__ import annotations

import json

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest"]


class AiohttpRequest(BaseRequest):
    """A :class:`telegram.request.BaseRequest` on one :class:`aiohttp.ClientSession`."""

    def __init__(
        self,
        connection_pool_size: int = 64,
        read_timeout: float = 10.0,
        connect_timeout: float = 10.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Sends one request; returns the status code and the body."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        timeout = aiohttp.ClientTimeout(
            sock_read=_seconds(read_timeout, self._read_timeout),
            sock_connect=_seconds(connect_timeout, self._connect_timeout),
        )
        data, headers = _body(request_data)
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _seconds(value: float | object | None, default: float) -> float | None:
    if isinstance(value, (int, float)) or value is None:
        return value
    return default  # PTB's DEFAULT_NONE: use ours


def _body(
    request_data: RequestData | None,
) -> tuple[bytes | aiohttp.FormData | None, dict[str, str]]:
    """The request body: JSON, or multipart form data when files go with it."""
    if request_data is None:
        return None, {}
    if not request_data.contains_files:
        return json.dumps(request_data.parameters).encode(), {"Content-Type": "application/json"}
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mime)
    return form, {}
