"""``ocop-bot zalo set-refresh-token | status`` as an operator runs it: the token only from a
hidden prompt or standard input, never an argument, never printed; a refused token replaced.

One test runs the real command in a subprocess; the others run the same code in this process
(``run_zalo`` with the parser's arguments)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli_help import build_parser
from bot.cli_zalo import run_zalo
from bot.settings import Settings
from storage.db import Database
from storage.zalo_tokens import Tokens, mark_failed, read, seed
from tests.conftest import migrated_copy
from tests.test_cli import ROOT, cli, sqlite_env

APP = "4291763606161179100"
TOKEN = "Xq3-_new.refresh_token_from_zalo"


class Operator:
    """Runs ``ocop-bot zalo …`` in this process against one database."""

    def __init__(
        self, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.url = url
        self.settings = Settings(database_url=url, zalo_app_id=APP)
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    async def __call__(self, *args: str, stdin: str = "") -> tuple[int, str, str]:
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = await run_zalo(self.settings, build_parser().parse_args(["zalo", *args]))
        out, err = self.capsys.readouterr()
        assert TOKEN not in out + err  # never printed
        return code, out, err

    async def stored(self) -> Tokens | None:
        db = Database(self.url)
        try:
            async with db.sessions() as session:
                return await read(session, APP)
        finally:
            await db.dispose()


@pytest.fixture
async def operator(
    migrated_sqlite: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Operator:
    db = migrated_copy(migrated_sqlite, tmp_path / "ocop.sqlite3")
    await db.dispose()
    return Operator(db.url, monkeypatch, capsys)


async def test_a_refused_token_is_replaced_from_standard_input(operator: Operator) -> None:
    code, out, _ = await operator("status")
    assert code == 1 and "no token stored yet" in out
    db = Database(operator.url)
    try:
        async with db.transaction() as session:
            await seed(session, APP, "rt-old")
            await mark_failed(
                session, APP, version=1, failure="-14014 Invalid refresh token",
                now=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
            )  # fmt: skip
    finally:
        await db.dispose()
    code, out, _ = await operator("status")
    assert code == 1
    assert "failed since 2026-12-01 08:00 UTC (-14014 Invalid refresh token)" in out
    assert "ocop-bot zalo set-refresh-token" in out

    code, out, _ = await operator("set-refresh-token", "--token-stdin", stdin=f" {TOKEN}\r\n")
    assert code == 0 and "New refresh token stored" in out
    stored = await operator.stored()
    assert stored is not None
    assert (stored.refresh_token, stored.failed_at, stored.access_token) == (TOKEN, None, "")
    code, out, _ = await operator("status")
    assert code == 0 and "the next use refreshes" in out


async def test_what_is_not_a_token_changes_nothing(operator: Operator) -> None:
    for typed in ("", "\n", "two words\n", "x" * 2001 + "\n"):
        code, _, err = await operator("set-refresh-token", "--token-stdin", stdin=typed)
        assert code == 1 and err.startswith("Nothing was changed"), typed
    # Standard input is no terminal here: the prompt is refused rather than read blindly.
    code, _, err = await operator("set-refresh-token", stdin=TOKEN)
    assert code == 1 and "--token-stdin" in err
    assert await operator.stored() is None
    operator.settings = Settings(database_url=operator.url)  # no OCOP_ZALO_APP_ID
    code, _, err = await operator("set-refresh-token", "--token-stdin", stdin=TOKEN)
    assert code == 1 and "OCOP_ZALO_APP_ID" in err
    assert await operator.stored() is None


def test_no_token_argument_exists() -> None:
    parser = build_parser()
    for extra in (["--token", TOKEN], [TOKEN]):
        with pytest.raises(SystemExit):
            parser.parse_args(["zalo", "set-refresh-token", *extra])


def test_the_real_command_reads_the_token_from_standard_input(tmp_path: Path) -> None:
    env = {**sqlite_env(tmp_path), "OCOP_ZALO_APP_ID": APP}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "zalo", "set-refresh-token", "--token-stdin"],
        cwd=ROOT, env={**os.environ, **env}, input=TOKEN + "\n", capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    status = cli("zalo", "status", env=env)
    assert status.returncode == 0
    assert f"Zalo OA app {APP}: a refresh token is stored" in status.stdout
