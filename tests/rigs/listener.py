"""An HTTP server for tests whose address is known before its routes are added (a channel
needs its public URL when it is made, and adds its routes after): the socket is bound first,
by the OS, and served once the routes are in."""

from __future__ import annotations

import socket

from aiohttp import web

__all__ = ["Listener"]


class Listener:
    """``url`` at once; ``app`` takes routes until :meth:`start`."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.app = web.Application()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, self._socket).start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        self._socket.close()

    async def __aenter__(self) -> Listener:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
