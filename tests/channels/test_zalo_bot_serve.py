"""``ocop-bot serve`` with a Zalo bot, as an operator runs it, against the fake platform: the
channel is built from the settings, answers in polling and webhook mode (the webhook set only
once the server listens: an update waiting at start is not refused), and at DEBUG its log holds
neither the token, the webhook secret nor what was said."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.zalo_bot_api import FakeZaloBotAPI
from tests.test_cli import ROOT, free_port, sqlite_env

CHAT = "0a1b2c3d4e5f60718293"
SECRET = "zalo-webhook-Secret_0123456789"


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_serve_runs_the_zalo_bot(tmp_path: Path, mode: str) -> None:
    async with FakeZaloBotAPI() as api:
        port = free_port()
        api.push(api.make.text(CHAT, "Xin chào, tôi là Nguyễn Thị Lan"))  # waiting at start
        env = {
            **os.environ,
            **sqlite_env(tmp_path),
            "OCOP_HTTP_PORT": str(port),
            "OCOP_ZALO_BOT_TOKEN": api.token,
            "OCOP_ZALO_BOT_API_URL": api.url,
            "OCOP_LOG_LEVEL": "DEBUG",
            "OCOP_POLL_INTERVAL": "0.05",
        }
        env.pop("OCOP_TELEGRAM_TOKEN", None)
        if mode == "webhook":
            env["OCOP_ZALO_BOT_WEBHOOK_URL"] = f"http://127.0.0.1:{port}/zalo-bot/webhook"
            env["OCOP_ZALO_BOT_WEBHOOK_SECRET"] = SECRET
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            sent = await api.wait_sent(CHAT, n=1, timeout=30)
            assert "ngôn ngữ" in sent[0].plain and "1. " in sent[0].plain  # a numbered list
        finally:
            process.send_signal(signal.SIGTERM)
            _out, err_bytes = await asyncio.wait_for(process.communicate(), 30)
    err = err_bytes.decode()
    assert process.returncode == 0, err
    assert f"Zalo bot: {mode}" in err
    assert "DEBUG" in err
    assert api.token not in err and api.token.split(":")[1] not in err
    assert SECRET not in err and "Nguyễn Thị Lan" not in err
    if mode == "webhook":
        assert api.webhook is not None and api.webhook_posts == [200]
    else:
        assert api.calls["deleteWebhook"] >= 1


def test_a_webhook_needs_its_secret(tmp_path: Path) -> None:
    env = {
        **os.environ,
        **sqlite_env(tmp_path),
        "OCOP_ZALO_BOT_TOKEN": "1:not-used",
        "OCOP_ZALO_BOT_WEBHOOK_URL": "https://ocop.example.vn/zalo-bot/webhook",
        "OCOP_ZALO_BOT_WEBHOOK_SECRET": "short",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "OCOP_ZALO_BOT_WEBHOOK_SECRET (8 to 256 characters)" in result.stderr
