"""Settings read from the environment (``OCOP_`` prefix); see the README's table."""

from __future__ import annotations

import contextlib
import socket
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from storage.clock import QuietHours

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Everything that differs between a laptop demo and a province's server."""

    model_config = SettingsConfigDict(env_prefix="OCOP_", env_file=None, extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./data/ocop.sqlite3"
    telegram_token: SecretStr | None = None  # never printed: .get_secret_value() to use it
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_bot_username: str | None = None  # for invitation links (t.me/<name>?start=<code>)
    # Zalo Official Account (README, "Connecting a Zalo OA"): the app's id and secret, the key
    # the OA signs webhook calls with, the first refresh token (later ones are kept in the
    # database), the API roots, and how long after a user's last message replies may go.
    zalo_app_id: str | None = None
    zalo_app_secret: SecretStr | None = None
    zalo_oa_secret: SecretStr | None = None
    # Which secret signs X-ZEvent-Signature: "oa" (the OA secret key), "app" (the app secret)
    # or "both" (either is accepted; the log says which matched).
    zalo_signature_secret: str = "both"
    zalo_refresh_token: SecretStr | None = None
    zalo_api_url: str = "https://openapi.zalo.me"
    zalo_oauth_url: str = "https://oauth.zaloapp.com"
    zalo_reply_window_hours: float = 48.0
    # The picture on the card that asks a Zalo user for their phone number (an HTTPS URL;
    # unset: a card without one).
    zalo_info_image_url: str | None = None
    zalo_send_rate: float = 60.0  # messages a second (Zalo: about 4,000 requests a minute)
    # Zalo Bot Platform (README, "Connecting a Zalo bot"): polling without a webhook URL.
    zalo_bot_token: SecretStr | None = None
    zalo_bot_api_url: str = "https://bot-api.zaloplatforms.com"
    zalo_bot_webhook_url: str | None = None
    zalo_bot_webhook_secret: SecretStr | None = None
    zalo_bot_send_rate: float = 30.0
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    default_locale: str = "vi"
    blob_dir: Path = Path("./data/blobs")
    max_upload_bytes: int = Field(default=20 * 1024 * 1024)
    # Sender limits (Telegram's soft limits): bulk messages overall, and per chat.
    send_rate_global: float = 30.0
    send_rate_per_chat: float = 1.0
    send_burst_per_chat: int = 3
    send_max_attempts: int = 8
    send_timeout: float = 20.0  # the most a sender pass spends sending; its lease is 5 s more
    # This process among those sharing the database; the same after a restart (it then
    # resends at once what it was sending when it stopped). Default: host name and HTTP port.
    worker_name: str = ""
    worker_concurrency: int = 4  # batches of steps running at once (PostgreSQL)
    download_concurrency: int = 4  # files downloaded at once, beside the steps
    poll_interval: float = 0.5
    # The officials' console: cookies marked Secure (set it when served over HTTPS), and the
    # client address taken from X-Forwarded-For (set it only behind a reverse proxy that sets it).
    console_secure_cookies: bool = False
    console_forwarded_for: bool = False
    # The console's absolute base URL (https://ocop.example.vn) for links in officials' chats.
    console_url: str | None = None
    # Reminders are not sent at night, Vietnam time: from the first hour to the second ("21-7":
    # 21:00 to 07:00; "0-0": never quiet). The scheduler looks for due timers this often (s).
    quiet_hours: str = "21-7"
    scheduler_interval: float = 30.0
    # The public base URL of the certificate verify page (/verify/<number>, in QR codes);
    # default: console_url.
    public_url: str | None = None
    log_level: str = "INFO"
    log_file: Path | None = None  # default: stderr (the terminal chat: data/chat.log)

    @field_validator("zalo_signature_secret")
    @classmethod
    def _check_signature_secret(cls, value: str) -> str:
        if value not in ("oa", "app", "both"):
            raise ValueError('must be "oa", "app" or "both"')
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _check_quiet_hours(cls, value: str) -> str:
        QuietHours.parse(value)
        return value

    def quiet(self) -> QuietHours:
        """:attr:`quiet_hours` as the scheduler uses them."""
        return QuietHours.parse(self.quiet_hours)

    def secrets(self) -> list[str]:
        """The values that must never be logged (the logging filter masks them)."""
        values = [
            v.get_secret_value()
            for v in (
                self.telegram_token,
                self.telegram_webhook_secret,
                self.zalo_app_secret,
                self.zalo_oa_secret,
                self.zalo_refresh_token,
                self.zalo_bot_token,
                self.zalo_bot_webhook_secret,
            )
            if v
        ]
        with contextlib.suppress(ArgumentError, ValueError):
            password = make_url(self.database_url).password
            if password:
                values.append(str(password))
        return values

    def worker_id(self) -> str:
        """:attr:`worker_name`, or ``<host name>:<HTTP port>`` (unique among live processes)."""
        return self.worker_name or f"{socket.gethostname()}:{self.http_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
