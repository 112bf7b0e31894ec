"""Telegram micro-benchmark: the bot's CPU per ``sendMessage`` and per update read, through
python-telegram-bot's objects and as plain JSON, in the same process.

The fake Bot API (``python -m tests.fakes.telegram_api``) runs in its own process, so the CPU
counted (``time.process_time`` of this process, every thread) is the bot's side only: building
the call, aiohttp, reading the answer. Both paths use the same ``TelegramChannel`` and so the
same aiohttp session and connection pool:

- PTB: what ``deliver`` did for one message before: the reply markup as PTB objects,
  ``Bot.send_message`` (PTB's ``RequestData``, our ``AiohttpRequest``, the answer parsed into a
  ``Message``), its errors mapped by ``_call``.
- JSON: what ``deliver`` does now: the markup as dicts, ``TelegramChannel._send_text`` (a dict
  posted as JSON on the same session, the answer's ``message_id`` read from its JSON).

Rounds alternate the order of the two paths; the median round is reported. Update reading has
no HTTP: PTB = ``Update.de_json`` then reading the dict (the cost of what reading went through
before; reading PTB's attributes instead was cheaper still than either), JSON = the channel's
``read_update`` (a shape check, then the dict). ``--profile`` adds Python calls per operation
(cProfile, one extra round).

    .venv/bin/python -m bench.telegram_send            # 7 rounds × 2,000 sends per path
    .venv/bin/python -m bench.telegram_send --quick    # 3 rounds × 300

Figures: bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import telegram as tg
from aiohttp import ClientSession
from telegram import Update

from bench._procs import Child, exclusive, git_revision, log, wait_until_idle
from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_events import events_of, read_update
from tests.fakes.telegram_api import UpdateBuilder

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TOKEN = "123456789:BENCH-telegram_send-token"
CHAT = 5_400_000_001
TEXT = ("<b>Bước 3 / 12: Sản phẩm</b>\nAnh/chị chọn nhóm sản phẩm của hợp tác xã. Mỗi "
        "nhóm có bộ tiêu chí chấm điểm riêng; nếu chưa chắc, chọn «Chưa rõ» để cán bộ xã hỗ "
        "trợ.")  # fmt: skip
BUTTONS = [[("Thực phẩm", "a1b2c3|group:food"), ("Đồ uống", "a1b2c3|group:drink")],
           [("Thảo dược", "a1b2c3|group:herb"), ("Chưa rõ", "a1b2c3|group:unsure")]]  # fmt: skip
Send = Callable[[TelegramChannel, bool], Awaitable[Any]]


class NoStore:
    async def store(self, events: object) -> int:
        return 0

    async def park(self, channel: str, updates: object) -> int:
        return 0


# -- the two ways to send one message --------------------------------------------------------
async def send_ptb(channel: TelegramChannel, buttons: bool) -> Any:
    markup = None
    if buttons:
        markup = tg.InlineKeyboardMarkup(
            [[tg.InlineKeyboardButton(label, callback_data=data) for label, data in row]
             for row in BUTTONS])  # fmt: skip
    sent = await channel._call(channel.bot.send_message(str(CHAT), TEXT, parse_mode="HTML",
                                                        reply_markup=markup))  # fmt: skip
    return sent.message_id


async def send_json(channel: TelegramChannel, buttons: bool) -> Any:
    markup = None
    if buttons:
        markup = {"inline_keyboard": [[{"text": label, "callback_data": data}
                                       for label, data in row] for row in BUTTONS]}  # fmt: skip
    return await channel._send_text(str(CHAT), TEXT, markup)


PATHS: dict[str, Send] = {"PTB": send_ptb, "JSON": send_json}


async def cpu_per_send(channel: TelegramChannel, send: Send, buttons: bool, n: int) -> float:
    """CPU µs per send over ``n`` sends, one after another."""
    start = time.process_time()
    for _ in range(n):
        await send(channel, buttons)
    return (time.process_time() - start) / n * 1e6


async def calls_per_send(channel: TelegramChannel, send: Send, buttons: bool, n: int) -> float:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(n):
        await send(channel, buttons)
    profile.disable()
    return pstats.Stats(profile).total_calls / n  # type: ignore[attr-defined]


# -- reading updates -------------------------------------------------------------------------
def read_ptb(raw: dict[str, Any]) -> Any:
    Update.de_json(raw)
    return events_of(raw)


def updates() -> dict[str, dict[str, Any]]:
    make = UpdateBuilder()
    return {"text message": make.text(CHAT, "Hợp tác xã chè Shan tuyết Suối Giàng"),
            "button press": make.callback(CHAT, "a1b2c3|group:food"),
            "command": make.command(CHAT, "start", "o-AB12CD"),
            "photo": make.photo(CHAT, caption="Ảnh sản phẩm")}  # fmt: skip


def cpu_per_read(read: Callable[[dict[str, Any]], Any], raw: dict[str, Any], n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        read(raw)
    return (time.process_time() - start) / n * 1e6


def calls_per_read(read: Callable[[dict[str, Any]], Any], raw: dict[str, Any], n: int) -> float:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(n):
        read(raw)
    profile.disable()
    return pstats.Stats(profile).total_calls / n  # type: ignore[attr-defined]


READS: dict[str, Callable[[dict[str, Any]], Any]] = {"PTB": read_ptb, "JSON": read_update}


# -- the run ---------------------------------------------------------------------------------
async def run(args: argparse.Namespace) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    port = args.port
    fake = Child("fake", [sys.executable, "-m", "tests.fakes.telegram_api", "--port", str(port),
                          "--token", TOKEN], RESULTS / "telegram_send-fake.log", ROOT)  # fmt: skip
    await fake.start()
    try:
        await fake.wait_line("fake Telegram Bot API", 60)
        url = f"http://127.0.0.1:{port}"
        async with ClientSession() as http:
            await http.post(f"{url}/_control/chats", json={"chat_ids": [CHAT]})
        if args.wait_idle:
            load = await wait_until_idle(args.wait_idle)
            log(f"machine load before the run: {load:.2f} cores")
        async with TelegramChannel(TOKEN, url, NoStore()) as channel:
            for send in PATHS.values():  # warm up: connections, imports, caches
                await cpu_per_send(channel, send, True, 50)
            print(f"commit {git_revision(ROOT)}; {args.rounds} rounds × {args.sends} sends "
                  "per path, one after another; fake Bot API in its own process")  # fmt: skip
            print()
            print("sendMessage, CPU µs per call (median round; min–max)")
            print(f"{'message':<22} {'PTB':>18} {'JSON':>18} {'PTB ÷ JSON':>11}")
            for buttons in (False, True):
                rounds: dict[str, list[float]] = {name: [] for name in PATHS}
                for r in range(args.rounds):
                    order = list(PATHS) if r % 2 == 0 else list(reversed(PATHS))
                    for name in order:
                        took = await cpu_per_send(channel, PATHS[name], buttons, args.sends)
                        rounds[name].append(took)
                line(f"text{' + 4 buttons' if buttons else ''}", rounds)
            if args.profile:
                print()
                print("sendMessage, Python calls per call (cProfile)")
                for buttons in (False, True):
                    calls = [await calls_per_send(channel, PATHS[name], buttons, args.sends // 4)
                             for name in PATHS]  # fmt: skip
                    label = f"text{' + 4 buttons' if buttons else ''}"
                    print(f"{label:<22} {calls[0]:>18.0f} {calls[1]:>18.0f} "
                          f"{calls[0] / calls[1]:>10.2f}×")  # fmt: skip
        print()
        print("reading an update (no HTTP), CPU µs per update (median round; min–max)")
        print(f"{'update':<22} {'PTB':>18} {'JSON':>18} {'PTB ÷ JSON':>11}")
        n = args.sends * 5
        for label, raw in updates().items():
            rounds = {name: [] for name in READS}
            for r in range(args.rounds):
                order = list(READS) if r % 2 == 0 else list(reversed(READS))
                for name in order:
                    rounds[name].append(cpu_per_read(READS[name], raw, n))
            line(label, rounds)
        if args.profile:
            print()
            print("reading an update, Python calls per update (cProfile)")
            for label, raw in updates().items():
                calls = [calls_per_read(READS[name], raw, 500) for name in READS]
                print(f"{label:<22} {calls[0]:>18.0f} {calls[1]:>18.0f} "
                      f"{calls[0] / calls[1]:>10.2f}×")  # fmt: skip
    finally:
        await fake.stop()


def line(label: str, rounds: dict[str, list[float]]) -> None:
    ptb, plain = (statistics.median(rounds[name]) for name in ("PTB", "JSON"))
    cells = [f"{statistics.median(v):7.1f} ({min(v):.0f}–{max(v):.0f})" for v in rounds.values()]
    print(f"{label:<22} {cells[0]:>18} {cells[1]:>18} {ptb / plain:>10.2f}×", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sends", type=int, default=2000, help="sends per path per round")
    parser.add_argument("--quick", action="store_true", help="3 rounds × 300 sends")
    parser.add_argument("--profile", action="store_true", help="also Python calls per operation")
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--wait-idle", type=float, default=0.0,
                        help="wait up to S seconds for the machine to be quiet first")  # fmt: skip
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.sends = 3, 300

    async def locked() -> None:
        async with exclusive(RESULTS / ".lock", max_wait=1800):
            await run(args)

    asyncio.run(locked())


if __name__ == "__main__":
    main()
