"""The ``ocop-bot`` command: serve, migrate, import areas, chat in the terminal."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.settings import Settings, get_settings

__all__ = ["main"]

log = logging.getLogger("ocop-bot")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = argparse.ArgumentParser(prog="ocop-bot", description="OCOP Bot")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the bot: HTTP server, engine, sender, channels")
    sub.add_parser("migrate", help="bring the database schema up to date")
    areas = sub.add_parser("areas", help="administrative areas")
    areas_sub = areas.add_subparsers(dest="areas_command", required=True)
    imp = areas_sub.add_parser("import", help="import areas from a CSV or JSON file")
    imp.add_argument("file", type=Path)
    sub.add_parser("chat", help="talk to the bot in this terminal (no platform account needed)")
    args = parser.parse_args(argv)

    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "serve":
        return asyncio.run(_serve(settings))
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    if args.command == "areas":
        return asyncio.run(_import_areas(settings, args.file))
    if args.command == "chat":
        logging.getLogger().setLevel(logging.WARNING)
        from bot.terminal_chat import run_terminal_chat

        return asyncio.run(run_terminal_chat(settings))
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


async def _import_areas(settings: Settings, path: Path) -> int:
    from storage.areas import AreaImportError, import_areas
    from storage.db import Database

    if not await ensure_schema(settings):
        return 1
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            report = await import_areas(session, path)
    except AreaImportError as exc:
        print(f"Nothing was imported: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"Cannot read {path}: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    print(report)
    return 0


async def _serve(settings: Settings) -> int:
    from bot.app import build_app, http_app, serve

    if not await ensure_schema(settings):
        return 1
    app = build_app(settings)
    web_app = http_app(app)
    if settings.telegram_token:
        from bot.channels.telegram import TelegramChannel

        webhook = None
        if settings.telegram_webhook_url:
            if not settings.telegram_webhook_secret:
                print("OCOP_TELEGRAM_WEBHOOK_SECRET must be set with a webhook.", file=sys.stderr)
                return 1
            webhook = (settings.telegram_webhook_url, settings.telegram_webhook_secret)
        telegram = TelegramChannel(settings.telegram_token, settings.telegram_api_url, app.engine,
                                   webhook=webhook)  # fmt: skip
        await telegram.initialize()
        app.channels.add(telegram)  # serve adds its webhook route or runs its poller
        if webhook:
            log.info("Telegram: webhook at %s", settings.telegram_webhook_url)
        else:
            log.info("Telegram: polling %s", settings.telegram_api_url)
    else:
        log.warning("OCOP_TELEGRAM_TOKEN is not set: no chat channel is running.")
    await serve(app, web_app)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
