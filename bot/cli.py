"""The ``ocop-bot`` command: serve, migrate, import areas, officials, broadcast, the Zalo OA's
token, chat in the terminal."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from bot import event_loop
from bot.cli_help import build_parser
from bot.logs import setup_logging
from bot.settings import Settings, get_settings

if TYPE_CHECKING:
    from bot.app import App
    from bot.channels.base import ChannelAdapter
    from storage.db import Database

__all__ = ["main"]

log = logging.getLogger("ocop-bot")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)

    settings = get_settings()
    if args.command == "chat":
        # The conversation owns the terminal: its log goes to a file, never between replies.
        log_file = settings.log_file or settings.blob_dir.parent / "chat.log"
        setup_logging(settings.log_level, settings.secrets(), file=log_file, quiet=["alembic"])
    else:
        quiet = ["alembic"] if args.command in ("areas", "broadcast") else []
        setup_logging(settings.log_level, settings.secrets(), file=settings.log_file, quiet=quiet)
    if args.command == "serve":
        return event_loop.run(_serve(settings))
    if args.command == "migrate":
        return event_loop.run(_migrate(settings))
    if args.command == "areas" and args.areas_command == "status":
        return event_loop.run(_areas_status(settings))
    if args.command == "areas":
        return event_loop.run(_import_areas(settings, args.file, if_empty=args.if_empty))
    if args.command == "officials":
        return event_loop.run(_officials(settings, args))
    if args.command == "broadcast":
        try:
            return event_loop.run(_broadcast(settings, args))
        except KeyboardInterrupt:
            print(
                "\nStopped. Nothing is lost: `ocop-bot serve` (or `ocop-bot broadcast watch ID "
                "--send`) sends the rest.",
                file=sys.stderr,
            )
            return 130
    if args.command == "zalo":
        return event_loop.run(_zalo(settings, args))
    if args.command == "chat":
        from bot.terminal_chat import run_terminal_chat

        return run_terminal_chat(settings)
    return 2


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


async def _migrate(settings: Settings) -> int:
    from storage.migrate import upgrade

    await upgrade(settings.database_url)
    print("The database schema is up to date.")
    return 0


async def ensure_schema(settings: Settings) -> bool:
    """Migrate the default SQLite file; refuse an outdated PostgreSQL schema (True = ready)."""
    from storage.migrate import is_up_to_date, upgrade

    if is_sqlite(settings.database_url):
        await upgrade(settings.database_url)
        return True
    if await is_up_to_date(settings.database_url):
        return True
    print(
        "The database schema is not up to date. Run `ocop-bot migrate` first "
        "(with the same OCOP_DATABASE_URL), then start the bot again.",
        file=sys.stderr,
    )
    return False


async def _area_counts(db: Database) -> tuple[int, int]:
    from storage.areas import area_counts

    async with db.sessions() as session:
        counts = await area_counts(session)
    return counts.provinces, counts.communes


async def _areas_status(settings: Settings) -> int:
    from storage.db import Database

    if not await ensure_schema(settings):
        return 1
    db = Database(settings.database_url)
    try:
        provinces, communes = await _area_counts(db)
    finally:
        await db.dispose()
    print(f"{provinces:,} provinces and {communes:,} communes are loaded.")
    if not communes:
        print(
            "No commune list is loaded: communes typed by producers cannot be checked. "
            "Import one with `ocop-bot areas import FILE` (see README, Administrative areas).",
            file=sys.stderr,
        )
        return 1
    return 0


async def _import_areas(settings: Settings, path: Path, *, if_empty: bool = False) -> int:
    from storage.areas import AreaImportError, import_areas
    from storage.db import Database

    if not await ensure_schema(settings):
        return 1
    db = Database(settings.database_url)
    try:
        if if_empty:
            _provinces, communes = await _area_counts(db)
            if communes:
                print(f"{communes:,} communes are already loaded; {path} was not imported.")
                return 0
        try:
            async with db.transaction() as session:
                report = await import_areas(session, path)
        except AreaImportError as exc:
            print(f"Nothing was imported: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"Cannot read {path}: {exc}", file=sys.stderr)
            return 1
        provinces, communes = await _area_counts(db)
    finally:
        await db.dispose()
    print(
        f"Imported {path.name}: {report}. "
        f"The database now holds {provinces:,} provinces and {communes:,} communes."
    )
    return 0


async def _officials(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli_officials import run_officials

    if not await ensure_schema(settings):
        return 1
    return await run_officials(settings, args)


async def _broadcast(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli_broadcast import run_broadcast

    if not await ensure_schema(settings):
        return 1
    return await run_broadcast(settings, args)


async def _zalo(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli_zalo import run_zalo

    if not await ensure_schema(settings):
        return 1
    return await run_zalo(settings, args)


async def _serve(settings: Settings) -> int:
    from bot.app import build_app, http_app, serve
    from bot.health import data_warnings

    loop = type(asyncio.get_running_loop())
    log.debug("event loop: %s.%s", loop.__module__, loop.__qualname__)  # uvloop or asyncio's
    if not await ensure_schema(settings):
        return 1
    app = build_app(settings)
    for warning in (await data_warnings(app.db))[1]:
        log.warning(warning)
    web_app = http_app(app)
    if not await _add_telegram(settings, app) or not await _add_zalo_bot(settings, app):
        return 1
    zalo_tokens: Any = None
    if settings.zalo_app_id:
        built = _zalo_oa(settings, app)
        if built is None:
            return 1
        zalo, zalo_tokens = built
        app.channels.add(zalo)  # serve adds its webhook route
        log.info("Zalo OA: webhook at /zalo/webhook, replies through %s", settings.zalo_api_url)
    if not app.channels:
        log.warning("OCOP_TELEGRAM_TOKEN is not set (nor OCOP_ZALO_APP_ID, OCOP_ZALO_BOT_TOKEN): "
                    "no chat channel is running.")  # fmt: skip
    try:
        await serve(app, web_app)
    finally:
        if zalo_tokens is not None:
            await zalo_tokens.close()
    return 0


async def _add_telegram(settings: Settings, app: App) -> bool:
    """The Telegram channel when ``OCOP_TELEGRAM_TOKEN`` is set; False on a setting missing."""
    if not settings.telegram_token:
        return True
    from bot.channels.telegram import TelegramChannel
    from storage.blobs import LocalBlobStore

    webhook = None
    if settings.telegram_webhook_url:
        if not settings.telegram_webhook_secret:
            print("OCOP_TELEGRAM_WEBHOOK_SECRET must be set with a webhook.", file=sys.stderr)
            return False
        secret = settings.telegram_webhook_secret.get_secret_value()
        webhook = (settings.telegram_webhook_url, secret)
    token = settings.telegram_token.get_secret_value()
    telegram = TelegramChannel(token, settings.telegram_api_url, app.engine, webhook=webhook,
                               blobs=LocalBlobStore(settings.blob_dir))  # fmt: skip
    await telegram.initialize()
    app.channels.add(telegram)  # serve adds its webhook route or runs its poller
    if webhook:
        log.info("Telegram: webhook at %s", settings.telegram_webhook_url)
    else:
        log.info("Telegram: polling %s", settings.telegram_api_url)
    return True


async def _add_zalo_bot(settings: Settings, app: App) -> bool:
    """The Zalo bot channel when ``OCOP_ZALO_BOT_TOKEN`` is set; False on a setting missing."""
    if not settings.zalo_bot_token:
        return True
    from bot.channels.zalo_bot import ZaloBotChannel
    from storage.blobs import LocalBlobStore

    webhook = None
    if settings.zalo_bot_webhook_url:
        secret = (settings.zalo_bot_webhook_secret or SecretStr("")).get_secret_value()
        if not 8 <= len(secret) <= 256:
            print("OCOP_ZALO_BOT_WEBHOOK_SECRET (8 to 256 characters) must be set with a "
                  "webhook.", file=sys.stderr)  # fmt: skip
            return False
        webhook = (settings.zalo_bot_webhook_url, secret)
    channel = ZaloBotChannel(
        settings.zalo_bot_token.get_secret_value(),
        settings.zalo_bot_api_url,
        app.engine,
        webhook=webhook,
        blobs=LocalBlobStore(settings.blob_dir),
        public_url=settings.public_url,
        send_rate=settings.zalo_bot_send_rate,
    )
    await channel.initialize()
    app.channels.add(channel)  # serve adds its routes and runs its poller or sets the webhook
    if webhook:
        log.info("Zalo bot: webhook at %s", settings.zalo_bot_webhook_url)
    else:
        log.info("Zalo bot: polling %s", settings.zalo_bot_api_url)
    if not settings.public_url:
        log.info("Zalo bot: OCOP_PUBLIC_URL is not set, so replies' pictures are not sent "
                 "(the text says a file came with the message)")  # fmt: skip
    return True


def _zalo_oa(settings: Settings, app: App) -> tuple[ChannelAdapter, Any] | None:
    """The Zalo OA channel and its token keeper, or None after saying what is missing."""
    from bot.channels.zalo_oa import ZaloOAChannel
    from bot.channels.zalo_oa_events import signature_variants
    from storage.blobs import LocalBlobStore

    def value(secret: SecretStr | None) -> str | None:
        return secret.get_secret_value() if secret else None

    app_secret = value(settings.zalo_app_secret)
    if not app_secret:
        print("OCOP_ZALO_APP_SECRET must be set with OCOP_ZALO_APP_ID (the OA's access token "
              "is renewed with it).", file=sys.stderr)  # fmt: skip
        return None
    try:
        variants = signature_variants(
            settings.zalo_signature_secret, value(settings.zalo_oa_secret), app_secret
        )
    except ValueError as exc:
        print(f"Zalo OA: {exc} (OCOP_ZALO_SIGNATURE_SECRET is "
              f"{settings.zalo_signature_secret!r}; the OA secret key is OCOP_ZALO_OA_SECRET).",
              file=sys.stderr)  # fmt: skip
        return None
    # The token keeper renews the OA's access token (one process at a time, in the database).
    from bot.channels.zalo_tokens import ZaloTokenKeeper

    app_id = settings.zalo_app_id or ""
    tokens = ZaloTokenKeeper(app.db, app_id=app_id, app_secret=app_secret,
                             oauth_url=settings.zalo_oauth_url,
                             refresh_token=value(settings.zalo_refresh_token),
                             owner=settings.worker_id(), clock=app.clock)  # fmt: skip
    channel = ZaloOAChannel(
        app_id,
        settings.zalo_api_url,
        tokens,
        app.engine,
        signature_variants=variants,
        reply_window_hours=settings.zalo_reply_window_hours,
        send_rate=settings.zalo_send_rate,
        blobs=LocalBlobStore(settings.blob_dir),
        info_image_url=settings.zalo_info_image_url or "",
        clock=app.clock,
    )
    return channel, tokens


if __name__ == "__main__":
    raise SystemExit(main())
