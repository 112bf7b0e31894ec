"""Regression: at OCOP_LOG_LEVEL=DEBUG the log held the bot token, the webhook secret and every
message's contents.

python-telegram-bot logged its API URL (``/bot<token>``), every call's parameters (the webhook
secret) and every update; aiosqlite logged each statement with its parameters (phone, tax code).
Now a filter on the root handler masks the token and secret whatever the level, and the
libraries that log data stay at WARNING. The real ``ocop-bot serve`` runs against the fake Bot
API while a producer registers; its whole stderr is checked.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.logs import MASK, RedactingFilter, setup_logging
from storage.db import Database
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import Producer, RunningBot, prepare_database, register
from tests.test_cli import ROOT, free_port

SECRET = "webhook-Secret_0123456789abcdef"
PERSONAL = ("0100109106", "912345678", "Nguyen Thi Lan", "lan@htx-lucngan.vn", "Luc Ngan")


@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_serve_at_debug_logs_no_token_secret_or_messages(tmp_path: Path, mode: str) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ocop.sqlite3'}"
    await prepare_database(url)  # schema, provinces and communes
    port = free_port()
    async with FakeTelegramAPI() as api:
        env = {
            **os.environ,
            "OCOP_DATABASE_URL": url,
            "OCOP_BLOB_DIR": str(tmp_path / "blobs"),
            "OCOP_HTTP_PORT": str(port),
            "OCOP_TELEGRAM_TOKEN": api.token,
            "OCOP_TELEGRAM_API_URL": api.url,
            "OCOP_LOG_LEVEL": "DEBUG",
            "OCOP_POLL_INTERVAL": "0.05",
            "OCOP_SEND_RATE_PER_CHAT": "1000",
            "OCOP_SEND_BURST_PER_CHAT": "1000",
        }
        if mode == "webhook":
            env["OCOP_TELEGRAM_WEBHOOK_URL"] = f"http://127.0.0.1:{port}/telegram/webhook"
            env["OCOP_TELEGRAM_WEBHOOK_SECRET"] = SECRET
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        db = Database(url)
        try:
            running = RunningBot(SimpleNamespace(db=db), api, None)  # type: ignore[arg-type]
            phone = Producer(running, 7_140_000_001)
            await register(phone, confirm=True)  # tax code, phone, names, e-mail
            await phone.say("0912 345 678")  # and a phone typed at the menu
            assert any("0100109106" in m.plain for m in phone.messages())  # the summary
        finally:
            await db.dispose()
            process.send_signal(signal.SIGTERM)
            _out, err_bytes = await asyncio.wait_for(process.communicate(), 30)
    err = err_bytes.decode()
    assert process.returncode == 0, err
    assert "DEBUG" in err  # the level was really DEBUG
    assert api.token not in err and api.token.split(":")[1] not in err
    assert SECRET not in err
    for value in PERSONAL:
        assert value not in err, f"{value!r} is in the log"


def test_the_filter_masks_secrets_in_messages_arguments_urls_and_exceptions() -> None:
    token = "123456789:AAE-secret_token"
    out = io.StringIO()
    handler = setup_logging("DEBUG", [token, SECRET, None], stream=out)
    log = logging.getLogger("test.logs")
    try:
        log.debug("GET https://api.telegram.org/bot%s/getUpdates", token)
        log.info("secret is " + SECRET)
        try:
            raise OSError(f"Cannot connect to https://api.telegram.org/file/bot{token}/a.pdf")
        except OSError:
            log.exception("download failed")
        logging.getLogger("telegram.Bot").debug("Set Bot API URL: /bot%s", token)
    finally:
        logging.getLogger().removeHandler(handler)
    text = out.getvalue()
    assert token not in text and SECRET not in text
    assert f"/bot{MASK}/getUpdates" in text and f"/file/bot{MASK}/a.pdf" in text
    assert "Set Bot API URL" not in text  # python-telegram-bot stays at WARNING


def test_the_filter_hides_sql_parameters_and_key_values() -> None:
    scrub = RedactingFilter(["s3cret-db-password"]).scrub
    error = (
        "(sqlite3.IntegrityError) UNIQUE constraint failed: producers.tax_code\n"
        "[SQL: INSERT INTO producers (tax_code, phone) VALUES (?, ?)]\n"
        "[parameters: ('0100109106', '+84912345678')]\n"
        "(Background on this error at: https://sqlalche.me/e/20/gkpj)"
    )
    assert "0100109106" not in scrub(error) and "[SQL: INSERT" in scrub(error)
    detail = "DETAIL:  Key (tax_code)=(0100109106) already exists."
    assert scrub(detail) == "DETAIL:  Key (tax_code)=(hidden) already exists."
    assert scrub("postgresql://ocop:s3cret-db-password@db/ocop") == "postgresql://ocop:***@db/ocop"
