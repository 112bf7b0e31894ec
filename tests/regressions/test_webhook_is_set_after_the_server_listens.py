"""Regression: ``ocop-bot serve`` set the webhook before its HTTP server listened.

Telegram starts delivering as soon as ``setWebhook`` succeeds, so updates waiting then were
refused (connection refused) and came back only after Telegram's retry delay. Channels now
add their routes before the server starts and set the webhook in ``run``, once it listens.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.test_cli import ROOT, free_port, sqlite_env


async def test_no_update_bounces_while_serve_starts(tmp_path: Path) -> None:
    async with FakeTelegramAPI() as api:
        port = free_port()
        api.push(api.make.command(42, "start"))  # waiting before the bot starts
        env = {
            **os.environ,
            **sqlite_env(tmp_path),
            "OCOP_HTTP_PORT": str(port),
            "OCOP_TELEGRAM_TOKEN": api.token,
            "OCOP_TELEGRAM_API_URL": api.url,
            "OCOP_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
            "OCOP_TELEGRAM_WEBHOOK_SECRET": "s3cret-for-the-test",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            sent = await api.wait_sent(42, n=1, timeout=30)
            assert "Which language would you like?" in sent[0].plain
        finally:
            process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err.decode()
        assert api.webhook is not None
        assert api.webhook_failures == 0
