"""Settings read from the environment (``OCOP_`` prefix); see the README's table."""

from __future__ import annotations

import socket
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Everything that differs between a laptop demo and a province's server."""

    model_config = SettingsConfigDict(env_prefix="OCOP_", env_file=None, extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./data/ocop.sqlite3"
    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
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
    poll_interval: float = 0.5
    log_level: str = "INFO"

    def worker_id(self) -> str:
        """:attr:`worker_name`, or ``<host name>:<HTTP port>`` (unique among live processes)."""
        return self.worker_name or f"{socket.gethostname()}:{self.http_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
