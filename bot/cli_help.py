"""The ``ocop-bot`` argument parser: each command's help says what it does, its arguments and
the ``OCOP_`` settings it reads, with their defaults taken from :class:`~bot.settings.Settings`."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.settings import Settings
from storage.states import DossierStatus, OfficialRole

__all__ = ["SETTING_HELP", "build_parser", "settings_epilog"]

SETTING_HELP = {
    "database_url": "the database (PostgreSQL: postgresql+asyncpg://user:pass@host/db)",
    "telegram_token": "the bot's token from @BotFather; unset = no Telegram channel",
    "telegram_api_url": "Bot API server root",
    "telegram_webhook_url": "public HTTPS URL of /telegram/webhook; unset = polling",
    "telegram_webhook_secret": "secret Telegram sends with each webhook call (with a webhook)",
    "zalo_bot_token": "the Zalo bot's token from Zalo Bot Manager; unset = no Zalo bot channel",
    "zalo_bot_api_url": "Zalo Bot Platform API root",
    "zalo_bot_webhook_url": "public HTTPS URL of /zalo-bot/webhook; unset = polling",
    "zalo_bot_webhook_secret": "secret (8 to 256 characters) Zalo sends with each webhook call",
    "zalo_bot_send_rate": "the Zalo bot's messages per second",
    "zalo_oa_secret": "the OA secret key (developers.zalo.me: the app's Webhook page); checks "
    "the signature of Zalo's webhook calls to /zalo/webhook",
    "zalo_signature_secret": "which secret signs Zalo's webhook calls: oa (the OA secret key), "
    "app (the app secret) or both (either; the log says which matched)",
    "zalo_api_url": "Zalo's OA API root (<root>/v3.0/oa/message/cs, <root>/v2.0/oa/upload/…)",
    "zalo_reply_window_hours": "hours after a Zalo user's last message in which replies may go "
    "(later ones fail as outside the reply window, never retried)",
    "zalo_send_rate": "Zalo OA messages per second (Zalo: about 4,000 calls a minute per app)",
    "zalo_info_image_url": "HTTPS picture on the card asking a Zalo user for their phone number",
    "http_host": "where the HTTP server listens",
    "http_port": "the HTTP server's port (/healthz, webhooks)",
    "default_locale": "language for people who have not chosen one (vi, en)",
    "blob_dir": "where uploaded files are kept",
    "max_upload_bytes": "largest file accepted",
    "send_rate_global": "the platform's limit for the bot, messages per second of every kind "
    "(all processes together keep 3% under it)",
    "send_rate_per_chat": "messages per second to one chat",
    "send_burst_per_chat": "messages one chat may get at once",
    "send_max_attempts": "attempts before a message is given up on network errors",
    "worker_concurrency": "batches of steps run at once (PostgreSQL)",
    "poll_interval": "seconds between inbox/outbox checks when idle",
    "console_secure_cookies": "console cookies only over HTTPS (set it behind HTTPS)",
    "console_forwarded_for": "client address from X-Forwarded-For (only behind a proxy)",
    "console_url": "the console's base URL, for links in officials' chat notifications",
    "quiet_hours": "no reminders from the first hour to the second, Vietnam time (0-0: none)",
    "scheduler_interval": "seconds between checks for due timers (reminders)",
    "public_url": "base URL of the certificate page /verify/<number> (QR codes; default: "
    "console_url) and of the pictures the Zalo bot sends",
    "zalo_app_id": "the Zalo app's id (developers.zalo.me) linked to the Official Account",
    "zalo_app_secret": "the Zalo app's secret key (sent as secret_key when refreshing tokens)",
    "zalo_oauth_url": "Zalo's OAuth server root (<root>/v4/oa/access_token)",
    "zalo_refresh_token": "the OA's first refresh token; later ones are kept in the database "
    "(`ocop-bot zalo set-refresh-token` replaces a refused one)",
    "log_level": "DEBUG, INFO, WARNING or ERROR (secrets and messages are never logged)",
    "log_file": "write the log to this file instead of stderr (chat: ./data/chat.log)",
}
SECRETS = {
    "telegram_token",
    "telegram_webhook_secret",
    "zalo_app_secret",
    "zalo_oa_secret",
    "zalo_refresh_token",
    "zalo_bot_token",
    "zalo_bot_webhook_secret",
}

MIGRATE_SETTINGS = ("database_url", "log_level", "log_file")
AREAS_SETTINGS = ("database_url",)
OFFICIALS_SETTINGS = ("database_url",)
ZALO_SETTINGS = ("database_url", "zalo_app_id")
BROADCAST_SETTINGS = (
    "database_url",
    "telegram_token",
    "telegram_api_url",
    "blob_dir",
    "send_rate_global",
    "send_rate_per_chat",
)
CHAT_SETTINGS = (
    "database_url",
    "default_locale",
    "blob_dir",
    "max_upload_bytes",
    "log_level",
    "log_file",
)


def settings_epilog(names: tuple[str, ...] | None = None) -> str:
    """The environment variables ``names`` (default: every setting) with defaults and meaning."""
    fields = Settings.model_fields
    lines = ["settings (environment variables):"]
    for name in names or tuple(fields):
        default = fields[name].default
        shown = "unset" if default is None or name in SECRETS else str(default)
        meaning = SETTING_HELP.get(name) or fields[name].description or ""
        lines.append(f"  OCOP_{name.upper()} (default: {shown})")
        if meaning:
            lines.append(f"      {meaning}")
    return "\n".join(lines)


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
    settings: tuple[str, ...] | None = None,
) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=settings_epilog(settings),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    """``ocop-bot serve | migrate | areas import FILE | areas status | officials … |
    broadcast … | zalo … | chat``."""
    parser = argparse.ArgumentParser(
        prog="ocop-bot",
        description="OCOP Bot: the chat bot for Vietnam's OCOP programme. "
        "Settings are OCOP_* environment variables; `ocop-bot COMMAND --help` lists them.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _command(
        sub,
        "serve",
        "run the bot: HTTP server, engine, sender, channels",
        "Runs everything configured until SIGINT/SIGTERM: the HTTP server (/healthz, the "
        "Telegram webhook, the Zalo OA webhook at /zalo/webhook with OCOP_ZALO_APP_ID, the "
        "Zalo bot's webhook at /zalo-bot/webhook, the officials' console at /console/), the "
        "engine, the sender and, without a webhook, the Telegram and Zalo bot pollers. "
        "Migrates the default SQLite file itself; refuses to start on an outdated PostgreSQL "
        "schema. Warns when no commune list is loaded.",
    )
    _command(
        sub,
        "migrate",
        "bring the database schema up to date",
        "Applies the Alembic migrations up to the newest (run it once per release, before "
        "starting the new version).",
        MIGRATE_SETTINGS,
    )
    areas = _command(
        sub,
        "areas",
        "administrative areas: import a list, or see what is loaded",
        "Provinces ship with the bot; communes are imported from a file.",
        AREAS_SETTINGS,
    )
    areas_sub = areas.add_subparsers(dest="areas_command", required=True, metavar="ACTION")
    imp = _command(
        areas_sub,
        "import",
        "import areas from a CSV or JSON file",
        "Imports (or updates) administrative areas from a UTF-8 CSV (code,name,level,"
        "parent_code[,valid_from,valid_to]) or JSON file (the national list's own shape too). "
        "A file with problems is refused whole, with every problem listed.",
        AREAS_SETTINGS,
    )
    imp.add_argument("file", type=Path, help="the CSV or JSON file to import")
    imp.add_argument(
        "--if-empty",
        action="store_true",
        help="import only when no commune list is loaded yet (for start-up scripts)",
    )
    _command(
        areas_sub,
        "status",
        "say how many provinces and communes are loaded",
        "Prints how many provinces and communes are loaded. Exit status 0 when communes are "
        "loaded, 1 when there are none (so a script can import them).",
        AREAS_SETTINGS,
    )
    _officials(sub)
    _broadcast(sub)
    _zalo(sub)
    _command(
        sub,
        "chat",
        "talk to the bot in this terminal (no platform account needed)",
        "A conversation with the same engine, flows and database, in this terminal. Type the "
        "number of a button to tap it, /file PATH to send a file; Ctrl-D or Ctrl-C to leave. "
        "Its log goes to OCOP_LOG_FILE, by default chat.log beside OCOP_BLOB_DIR (./data).",
        CHAT_SETTINGS,
    )
    return parser


def _password_stdin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of a prompt",
    )


def _officials(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    officials = _command(
        sub,
        "officials",
        "the officials' console accounts: add, list, disable, reset a password, council role",
        "Officials sign in to the console (/console) with a username and password. Passwords "
        "are asked at a prompt or read with --password-stdin, never given as arguments.",
        OFFICIALS_SETTINGS,
    )
    actions = officials.add_subparsers(dest="officials_command", required=True, metavar="ACTION")
    add = _command(
        actions,
        "add",
        "add an official",
        "Adds an official. A commune official sees the producers of their communes, a "
        "province official those of their provinces, an admin everything. Areas by code or "
        "name: provinces as the chat finds them (24, 'Bắc Ninh', 'bac ninh'); communes by "
        "code, or by name with --province.",
        OFFICIALS_SETTINGS,
    )
    add.add_argument("username", help="3-60 characters: a-z, 0-9, . _ @ - (any case)")
    add.add_argument("--name", required=True, help="the name shown in the console")
    add.add_argument("--role", required=True, choices=[str(role) for role in OfficialRole])
    add.add_argument(
        "--area", action="append", help="a commune or province (code or name); repeatable"
    )
    add.add_argument("--province", help="the province in which --area communes are named")
    add.add_argument("--locale", default="vi", help="the console's language: vi or en")
    add.add_argument(
        "--council",
        action="store_true",
        help="may sit on a round's evaluation council and score products",
    )
    _password_stdin(add)
    _command(actions, "list", "list the officials", "Lists every official.", OFFICIALS_SETTINGS)
    disable = _command(
        actions,
        "disable",
        "disable an official",
        "The official can no longer sign in; their open sessions end at once.",
        OFFICIALS_SETTINGS,
    )
    disable.add_argument("username")
    reset = _command(
        actions,
        "reset-password",
        "set a new password",
        "Sets a new password (asked, or --password-stdin); the official's sessions end.",
        OFFICIALS_SETTINGS,
    )
    reset.add_argument("username")
    _password_stdin(reset)
    council = _command(
        actions,
        "council",
        "give or take the council role",
        "An official with the council role may be made a member of a round's evaluation "
        "council (in the console) and score its products. Taking the role does not remove "
        "them from councils they already sit on.",
        OFFICIALS_SETTINGS,
    )
    council.add_argument("username")
    council.add_argument("state", choices=["on", "off"])


def _broadcast(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    broadcast = _command(
        sub,
        "broadcast",
        "announcements to producers: send, watch, list, cancel",
        "Announcements go to the producers an official may see, at the platform's rate, with "
        "every recipient's outcome kept. Sending from here is safe beside `serve`: the pace is "
        "shared through the database and each message is claimed once; Ctrl-C loses nothing.",
        BROADCAST_SETTINGS,
    )
    actions = broadcast.add_subparsers(dest="broadcast_command", required=True, metavar="ACTION")
    send = _command(
        actions,
        "send",
        "write an announcement and send it (or schedule it)",
        "Says how many people it reaches (and how many blocked the bot or muted "
        "announcements), asks to confirm, then sends it from this process with a progress "
        "bar (with OCOP_TELEGRAM_TOKEN; without it, or with --no-send, `serve` sends it). "
        "Every filter narrows the official's own producers; none given: all of them.",
        BROADCAST_SETTINGS,
    )
    send.add_argument(
        "--as",
        dest="as_official",
        required=True,
        metavar="USERNAME",
        help="the official writing it (a province official or an admin)",
    )
    send.add_argument("--text-vi", help="the text in Vietnamese")
    send.add_argument("--text-vi-file", type=Path, help="… or read from this UTF-8 file")
    send.add_argument("--text-en", help="the text in English, for people who chose English")
    send.add_argument("--text-en-file", type=Path, help="… or read from this UTF-8 file")
    send.add_argument("--file", type=Path, help="a PDF, JPEG or PNG sent with it (20 MB at most)")
    send.add_argument(
        "--button",
        action="append",
        metavar="'LABEL|/command[|ENGLISH LABEL]'",
        help="a button running a command (e.g. '📅 Xem hạn nộp|/deadlines|📅 See deadlines')",
    )
    send.add_argument("--area", action="append", help="only this province (code or name)")
    send.add_argument(
        "--commune", action="append", help="only this commune (code, or name with --province)"
    )
    send.add_argument("--province", help="the province in which --commune names are found")
    send.add_argument(
        "--set",
        type=int,
        action="append",
        help="only producers with a product in this product set (1-26)",
    )
    send.add_argument(
        "--no-product", action="store_true", help="only producers registered without a product yet"
    )
    send.add_argument(
        "--unfiled-for-round",
        type=int,
        metavar="ROUND",
        help="only producers covered by this round with a dossier not submitted",
    )
    send.add_argument(
        "--dossier-state",
        action="append",
        choices=[str(s) for s in DossierStatus],
        help="only producers with a product whose dossier is in this state",
    )
    send.add_argument(
        "--language",
        action="append",
        choices=["vi", "en"],
        help="only people who chose this language",
    )
    send.add_argument("--channel", action="append", help="only chats on this channel (telegram)")
    send.add_argument("--round", type=int, help="the round it announces")
    send.add_argument(
        "--announce-round", type=int, metavar="ROUND",
        help="start from the round's ready-made announcement (texts in both languages, its "
        "areas, See deadlines and My products buttons, its deadline as expiry); other "
        "arguments replace its parts",
    )  # fmt: skip
    send.add_argument(
        "--expires",
        metavar="'YYYY-MM-DD HH:MM'",
        help="not sent after this (Vietnam time), e.g. the round's deadline",
    )
    send.add_argument(
        "--at",
        metavar="'YYYY-MM-DD HH:MM'",
        help="send at this time (Vietnam time) instead of now",
    )
    send.add_argument("--count", action="store_true", help="only say how many it reaches")
    send.add_argument("--yes", action="store_true", help="do not ask to confirm")
    send.add_argument("--no-send", action="store_true",
                      help="schedule it and return: `serve` sends it")  # fmt: skip
    watch = _command(
        actions,
        "watch",
        "show an announcement's progress until it is done",
        "A progress bar (sent, failed by reason, to go, rate) until every delivery is settled.",
        BROADCAST_SETTINGS,
    )
    watch.add_argument("id", type=int)
    watch.add_argument("--send", action="store_true", help="send from this process too")
    _command(actions, "list", "list the latest announcements", "The latest 50, newest first.",
             ("database_url",))  # fmt: skip
    cancel = _command(
        actions,
        "cancel",
        "cancel an announcement",
        "What has not gone yet will not go (a message being sent at that moment still goes).",
        ("database_url",),
    )
    cancel.add_argument("id", type=int)
    cancel.add_argument("--as", dest="as_official", required=True, metavar="USERNAME")


def _zalo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    zalo = _command(
        sub,
        "zalo",
        "the Zalo OA's token: set a new refresh token, or see whether it works",
        "The bot renews the Zalo Official Account's access token itself, with a refresh token "
        "that works once and is kept in the database. When Zalo refuses it (officials are told "
        "in chat; /healthz says 'failed since'), authorise the OA again on Zalo's developer "
        "site and give the new refresh token with `set-refresh-token`.",
        ZALO_SETTINGS,
    )
    actions = zalo.add_subparsers(dest="zalo_command", required=True, metavar="ACTION")
    token = _command(
        actions,
        "set-refresh-token",
        "store a new refresh token for the OA",
        "Replaces the stored refresh token (refused or not); running bots take it up within a "
        "minute or two, without a restart. The token is asked at a hidden prompt, or read "
        "from the first line of standard input with --token-stdin; never give it as an "
        "argument.",
        ZALO_SETTINGS,
    )
    token.add_argument(
        "--token-stdin",
        action="store_true",
        help="read the token from the first line of standard input instead of a prompt",
    )
    _command(
        actions,
        "status",
        "say whether the OA's token works",
        "Says whether the stored token works, until when, or since when Zalo refuses it (no "
        "token is printed). Exit status 0 when it works, 1 otherwise.",
        ZALO_SETTINGS,
    )
