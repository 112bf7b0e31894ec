"""``ocop-bot chat``: the terminal conversation loop (same engine, flows and database)."""

from __future__ import annotations

import asyncio
import sys

from bot.app import App, build_app
from bot.channels.terminal import TerminalChannel
from bot.settings import Settings

__all__ = ["run_terminal_chat"]


async def run_terminal_chat(settings: Settings) -> int:
    """Read lines from stdin, run each through the engine, print the replies."""
    from bot.cli import ensure_schema

    if not await ensure_schema(settings):
        return 1
    channel = TerminalChannel()
    app = build_app(settings, {channel.name: channel}, per_chat_rate=0)
    print("OCOP Bot — terminal chat. Type /start to begin, Ctrl-D to leave.\n")
    loop = asyncio.get_running_loop()
    try:
        await _step(app, channel, "/start")
        while True:
            line = await loop.run_in_executor(None, _read_line)
            if line is None:
                break
            if line.strip():
                await _step(app, channel, line)
    finally:
        await app.db.dispose()
    return 0


def _read_line() -> str | None:
    try:
        return input("\n> ")
    except EOFError:
        return None


async def _step(app: App, channel: TerminalChannel, line: str) -> None:
    await app.engine.store([channel.to_event(line)])
    await app.engine.process_pending()
    while await app.sender.send_due():
        pass
    sys.stdout.flush()
