"""Wiring: builds the database, engine, sender, scheduler, channels and the HTTP server, and
runs them.

One aiohttp application serves ``/healthz``, the Telegram webhook and the officials' console
(``/console/``); more webhooks will be added to the same application.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.broadcast import Broadcaster, window_for
from bot.channels.base import ChannelAdapter, ChannelRegistry
from bot.dispatch import dispatch
from bot.engine import Engine
from bot.files import FileFetcher
from bot.flows import build_flows, invite_links
from bot.health import health_report
from bot.i18n import set_default_locale
from bot.official_notify import run_digests, set_console_url
from bot.scheduler import Scheduler
from bot.sender import Sender
from bot.settings import Settings
from console import ConsoleConfig, mount_console, mount_verify
from storage.blobs import LocalBlobStore
from storage.clock import SYSTEM_CLOCK, Clock
from storage.db import Database

__all__ = ["App", "build_app", "http_app", "serve"]

log = logging.getLogger(__name__)


@dataclass
class App:
    """The running parts of one process."""

    settings: Settings
    db: Database
    engine: Engine
    sender: Sender
    scheduler: Scheduler
    broadcaster: Broadcaster
    channels: ChannelRegistry = field(default_factory=ChannelRegistry)
    clock: Clock = SYSTEM_CLOCK


def build_app(
    settings: Settings,
    channels: Mapping[str, ChannelAdapter] | None = None,
    *,
    db: Database | None = None,
    per_chat_rate: float | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> App:
    """Engine and sender on ``settings``'s database for ``channels``."""
    set_default_locale(settings.default_locale)
    set_console_url(settings.console_url)
    db = db or Database(settings.database_url)
    chans = ChannelRegistry(channels or {})
    sender = Sender(
        db,
        chans,
        global_rate=settings.send_rate_global,
        per_chat_rate=settings.send_rate_per_chat if per_chat_rate is None else per_chat_rate,
        per_chat_burst=settings.send_burst_per_chat,
        max_attempts=settings.send_max_attempts,
        poll_interval=settings.poll_interval,
        send_timeout=settings.send_timeout,
        owner=settings.worker_id(),
        clock=clock,
    )
    engine = Engine(
        db,
        build_flows(invite_links(settings)),
        dispatch,
        concurrency=settings.worker_concurrency,
        poll_interval=settings.poll_interval,
        prefetch=FileFetcher(chans, LocalBlobStore(settings.blob_dir), settings.max_upload_bytes),
        on_replies=sender.wake,
        download_concurrency=settings.download_concurrency,
        clock=clock,
        channels=chans,
    )
    broadcaster = Broadcaster(
        db,
        clock=clock,
        window=window_for(sum(channel_rates(settings))),
        interval=settings.poll_interval,
        on_queued=sender.wake,
    )
    sender.on_settled = broadcaster.wake
    scheduler = Scheduler(
        db,
        clock=clock,
        owner=settings.worker_id(),
        quiet=settings.quiet(),
        interval=settings.scheduler_interval,
        on_events=engine.wake,
    )
    return App(
        settings=settings,
        db=db,
        engine=engine,
        sender=sender,
        scheduler=scheduler,
        broadcaster=broadcaster,
        channels=chans,
        clock=clock,
    )


def channel_rates(settings: Settings) -> list[float]:
    """The send rates of the channels ``settings`` configure (Telegram's always: the demo and
    the tests run it), for the broadcaster's window: a few seconds of all of them together."""
    rates = [settings.send_rate_global]
    if settings.zalo_app_id:
        rates.append(settings.zalo_send_rate)
    if settings.zalo_bot_token:
        rates.append(settings.zalo_bot_send_rate)
    return rates


def http_app(app: App) -> web.Application:
    """The aiohttp application: health check, the officials' console (and, when configured,
    webhooks)."""
    web_app = web.Application(client_max_size=2 * 1024 * 1024)

    async def healthz(_request: web.Request) -> web.Response:
        status, body = await health_report(app.db)
        return web.json_response(body, status=status)

    web_app.router.add_get("/healthz", healthz)
    config = ConsoleConfig(
        db=app.db,
        clock=app.clock,
        secure_cookies=app.settings.console_secure_cookies,
        forwarded_for=app.settings.console_forwarded_for,
        default_locale=app.settings.default_locale,
        blobs=LocalBlobStore(app.settings.blob_dir),
        bot_username=(app.settings.telegram_bot_username or "").lstrip("@") or None,
        public_url=app.settings.public_url or app.settings.console_url,
        reply_windows={"zalo_oa": timedelta(hours=app.settings.zalo_reply_window_hours)},
    )
    mount_console(web_app, config)
    mount_verify(web_app, config)
    return web_app


async def serve(app: App, web_app: web.Application, extra: list[Any] | None = None) -> None:
    """Run the HTTP server, engine, sender, officials' digests, the timers' scheduler, the
    broadcaster (announcements), channels
    and ``extra`` until SIGINT/SIGTERM.

    Each channel adds its routes first; its ``run`` starts only once the server listens (a
    webhook is set then, so no update Telegram sends meanwhile bounces).
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    for channel in app.channels.values():
        channel.routes(web_app)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, app.settings.http_host, app.settings.http_port)
    await site.start()
    log.info("listening on http://%s:%d", app.settings.http_host, app.settings.http_port)
    # What start-up made (modules, mappers, rules, areas) lives as long as the process: out of
    # the collector's sight, a full collection scans a fraction of the heap (about 110 ms
    # pauses every few seconds under a broadcast became 15-20 ms; bench/README.md, broadcast).
    gc.freeze()
    tasks = [
        asyncio.create_task(app.engine.run(stop)),
        asyncio.create_task(app.sender.run(stop)),
        asyncio.create_task(run_digests(app.db, app.clock, stop)),
        asyncio.create_task(app.scheduler.run(stop)),
        asyncio.create_task(app.broadcaster.run(stop)),
        *[asyncio.create_task(channel.run(stop)) for channel in app.channels.values()],
        *[asyncio.create_task(coro(stop)) for coro in (extra or [])],
    ]
    try:
        await stop.wait()
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()
        for channel in app.channels.values():
            await channel.shutdown()
        await app.db.dispose()
