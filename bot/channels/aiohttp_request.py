"""Bot API calls on one aiohttp session: python-telegram-bot's HTTP layer, and plain JSON calls.

aiohttp (already the project's web framework) costs less CPU per request than httpx/httpcore/
anyio, and the bot's own CPU is what limits how many messages one process sends. PTB's calls
(files) go through :meth:`AiohttpRequest.do_request`: JSON-only ones posted as JSON, those
carrying files as multipart form data. The calls made for every update and reply go through
:meth:`AiohttpRequest.post_json` instead: a dict posted as JSON and the answer read from JSON,
with no PTB object built (see bench/telegram_send.py for what that saves).

An error answer raises the exception PTB raises for it, built by the same rules as PTB's
``BaseRequest`` (so whoever maps PTB's errors maps both the same way): ``ChatMigrated`` for a
``migrate_to_chat_id``, ``RetryAfter`` for a ``retry_after``, then by status ``Forbidden`` (403),
``InvalidToken`` (401, 404), ``BadRequest`` (400), ``Conflict`` (409), else ``NetworkError``;
``TimedOut`` and ``NetworkError`` when no answer came. Only errors build those objects.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import aiohttp
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest", "answer_error", "answer_result"]

JSON_HEADERS = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    """A :class:`telegram.request.BaseRequest` on one :class:`aiohttp.ClientSession`, which
    :meth:`post_json` shares."""

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
        self._timeout = aiohttp.ClientTimeout(sock_read=read_timeout, sock_connect=connect_timeout)

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
        timeout = aiohttp.ClientTimeout(
            sock_read=_seconds(read_timeout, self._read_timeout),
            sock_connect=_seconds(connect_timeout, self._connect_timeout),
        )
        data, headers = _body(request_data)
        return await self._request(method, url, data, headers, timeout)

    async def post_json(self, url: str, params: dict[str, Any],
                        read_timeout: float | None = None) -> Any:  # fmt: skip
        """POST ``params`` as JSON to a Bot API method's ``url``; the answer's ``result``.

        Raises what PTB raises for the same answer (see the module's docstring), and, as PTB,
        ``NetworkError`` for anything else that goes wrong in the HTTP layer.
        """
        timeout = self._timeout
        if read_timeout is not None:
            timeout = aiohttp.ClientTimeout(sock_read=read_timeout,
                                            sock_connect=self._connect_timeout)  # fmt: skip
        try:
            status, payload = await self._request(
                "POST", url, json.dumps(params).encode(), JSON_HEADERS, timeout
            )
        except TelegramError:
            raise
        except Exception as exc:  # as PTB's BaseRequest does
            raise NetworkError(f"Unknown error in HTTP implementation: {exc!r}") from exc
        return answer_result(status, payload)

    async def _request(self, method: str, url: str, data: bytes | aiohttp.FormData | None,
                       headers: dict[str, str], timeout: aiohttp.ClientTimeout,
                       ) -> tuple[int, bytes]:  # fmt: skip
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def answer_result(status: int, payload: bytes) -> Any:
    """The ``result`` of a Bot API answer; raises PTB's error for an error answer."""
    if 200 <= status <= 299:
        try:
            answer = json.loads(payload.decode("utf-8", "replace"))
        except ValueError:
            raise TelegramError("Invalid server response") from None
        if isinstance(answer, dict) and answer.get("ok") is True and "result" in answer:
            return answer["result"]
        # Telegram never answers so; PTB would fail with a KeyError.
        if not isinstance(answer, dict) or not isinstance(answer.get("error_code"), int):
            raise TelegramError("Invalid server response")
        status = answer["error_code"]
    raise answer_error(status, payload)


def answer_error(status: int, payload: bytes) -> TelegramError:
    """The error PTB's ``BaseRequest`` raises for an answer with this status and body."""
    try:
        message = f"{HTTPStatus(status).phrase} ({status})"
    except ValueError:
        message = f"Unknown HTTPError ({status})"
    answer: Any = None
    try:
        answer = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        message += f". Parsing the server response {payload!r} failed"
    if isinstance(answer, dict):
        message = answer.get("description") or message
        parameters = answer.get("parameters")
        if parameters:
            if isinstance(parameters, dict):
                if migrate_to_chat_id := parameters.get("migrate_to_chat_id"):
                    return ChatMigrated(migrate_to_chat_id)
                if retry_after := parameters.get("retry_after"):
                    return RetryAfter(retry_after)
            message += f". The server response contained unknown parameters: {parameters}"
    if status == HTTPStatus.FORBIDDEN:
        return Forbidden(message)
    if status in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
        return InvalidToken(message)
    if status == HTTPStatus.BAD_REQUEST:
        return BadRequest(message)
    if status == HTTPStatus.CONFLICT:
        return Conflict(message)
    return NetworkError(message)


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
        return json.dumps(request_data.parameters).encode(), JSON_HEADERS
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mime)
    return form, {}
