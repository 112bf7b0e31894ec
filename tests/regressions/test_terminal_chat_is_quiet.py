"""Regression: the terminal chat was noisy.

Ctrl-C printed a 28-line traceback; ``areas import`` printed alembic's INFO lines and a raw
``ImportReport(...)`` before the first question; a failed download's log line was printed in the
middle of the conversation; ``ocop-bot <command> --help`` said nothing about arguments or
settings. Now the chat logs to a file, leaves with a goodbye, and every command's help lists
its arguments and the OCOP_ settings it reads.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.test_cli import ROOT, SAMPLE, cli, sqlite_env

# English; a cooperative, its representative, a handicraft product, then Form 01 sent as a
# file that does not exist (the download fails).
SCRIPT = [
    "2", "1", "Hop tac xa Luc Ngan", "0100109106", "2", "Nguyen Thi Lan", "Giam doc", "1", "2",
    "tay", "0912345678", "bac ninh", "tan son", "lan@htx-lucngan.vn", "1",
    "2", "thu cong my nghe gia dung", "Gio may tre", "Hand-woven bamboo baskets", "Paper box",
    "3000 pieces", "2", "1", "1",
    "1", "/file /nonexistent/form-01.pdf",
]  # fmt: skip


@pytest.mark.slow
def test_import_and_a_failed_download_print_no_log_lines(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    imported = cli("areas", "import", str(SAMPLE), env=env)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith("Imported communes-sample.csv: 8 added")
    assert "ImportReport(" not in imported.stdout
    assert "INFO" not in imported.stdout + imported.stderr

    chat = cli_with_input("\n".join(SCRIPT) + "\n", env=env)
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.startswith("OCOP Bot — terminal chat.")
    assert "Registration form (Form 01)" in chat.stdout  # the script reached the upload
    assert "I could not receive that file" in chat.stdout
    assert "could not download" not in chat.stdout and "No such file" not in chat.stdout
    assert chat.stderr == ""
    log = (tmp_path / "chat.log").read_text(encoding="utf-8")
    assert "WARNING bot.files: could not download a file" in log


def cli_with_input(text: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat"],
        cwd=ROOT,
        env={**os.environ, **env},
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_ctrl_c_says_goodbye_without_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, **sqlite_env(tmp_path)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "chat", cwd=ROOT, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    seen = b""
    while b"Which language would you like?" not in seen:
        chunk = await asyncio.wait_for(process.stdout.read(200), 60)
        assert chunk, seen.decode()
        seen += chunk
    await asyncio.sleep(0.3)  # waiting in input()
    process.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    assert "Goodbye" in out.decode()
    assert b"Traceback" not in out + err and err == b""


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["serve"], ["HTTP server", "OCOP_TELEGRAM_TOKEN (default: unset)",
                     "OCOP_HTTP_PORT (default: 8080)", "OCOP_LOG_LEVEL (default: INFO)"]),
        (["migrate"], ["Alembic", "OCOP_DATABASE_URL (default: sqlite+aiosqlite:///"]),
        (["areas", "import"], ["file", "--if-empty", "CSV", "OCOP_DATABASE_URL"]),
        (["areas", "status"], ["Exit status", "OCOP_DATABASE_URL"]),
        (["chat"], ["Ctrl-C", "OCOP_LOG_FILE", "OCOP_DEFAULT_LOCALE (default: vi)"]),
    ],
)  # fmt: skip
def test_each_command_explains_its_arguments_and_settings(
    command: list[str], expected: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    for text in expected:
        assert text in shown, f"{' '.join(command)} --help lacks {text!r}"
