"""``ocop-bot chat``: the terminal conversation loop (same engine, flows and database).

The terminal belongs to the conversation: logs go to a file (``ocop-bot chat`` sets that up),
Ctrl-C or Ctrl-D ends the chat with a goodbye, not a traceback. Lines are read in the main
thread (so Ctrl-C interrupts a waiting ``input()``) and each one is run to its replies on one
event loop.
"""

from __future__ import annotations

import asyncio
import sys

from bot.app import App, build_app
from bot.channels.terminal import TerminalChannel
from bot.event_loop import loop_factory
from bot.health import data_warnings
from bot.settings import Settings

__all__ = ["run_terminal_chat"]

GOODBYE = "\nGoodbye. Tạm biệt!"


def run_terminal_chat(settings: Settings) -> int:
    """Read lines from stdin, run each through the engine, print the replies."""
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            opened = runner.run(_open(settings))
            if opened is None:
                return 1
            app, channel = opened
            try:
                runner.run(_step(app, channel, "/start"))
                while (line := _read_line()) is not None:
                    if line.strip():
                        runner.run(_step(app, channel, line))
            finally:
                runner.run(app.db.dispose())
    except KeyboardInterrupt:
        pass
    print(GOODBYE)
    return 0


async def _open(settings: Settings) -> tuple[App, TerminalChannel] | None:
    from bot.cli import ensure_schema

    if not await ensure_schema(settings):
        return None
    channel = TerminalChannel()
    app = build_app(settings, {channel.name: channel}, per_chat_rate=0)
    print("OCOP Bot — terminal chat. Type /start to begin, Ctrl-D to leave.\n")
    for warning in (await data_warnings(app.db))[1]:
        print(f"⚠️  Warning: {warning}\n")
    return app, channel


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
