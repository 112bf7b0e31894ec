"""Regression: ``scripts/demo`` trusted a marker file (``data/.areas-imported``).

After the database was deleted, or when the commune file was absent, communes were never
imported and "luc ngan" was saved as free text without a word. Now the database decides
(``ocop-bot areas status`` / ``areas import --if-empty``); without communes the demo, ``serve``
(a WARNING) and ``/healthz`` say so, and the producer is told the commune could not be checked.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app, http_app
from bot.settings import Settings
from storage.areas import import_areas
from tests.harness import register, running_bot
from tests.test_cli import ROOT, SAMPLE, cli, sqlite_env

VENV = ROOT / ".venv"


def demo(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """scripts/demo with an empty stdin: it imports what it must, greets, and says goodbye."""
    if not any((VENV / marker).exists() for marker in (".installed-test", ".installed-demo")):
        pytest.skip("scripts/demo would install the project into .venv first")
    return subprocess.run(
        [str(ROOT / "scripts" / "demo")],
        cwd=ROOT,
        env={**os.environ, **env},
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def communes(tmp_path: Path) -> int:
    with closing(sqlite3.connect(tmp_path / "ocop.sqlite3")) as db:
        (count,) = db.execute("SELECT count(*) FROM areas WHERE parent_id IS NOT NULL").fetchone()
    return int(count)


@pytest.mark.slow
def test_demo_imports_communes_whenever_the_database_has_none(tmp_path: Path) -> None:
    env = {**sqlite_env(tmp_path), "OCOP_AREAS": str(SAMPLE)}
    first = demo(env)
    assert first.returncode == 0, first.stderr
    assert "Anh/chị muốn dùng ngôn ngữ nào?" in first.stdout
    assert communes(tmp_path) == 8

    (tmp_path / "ocop.sqlite3").unlink()  # the database is deleted: import again
    assert demo(env).returncode == 0
    assert communes(tmp_path) == 8

    (tmp_path / "ocop.sqlite3").unlink()  # and no commune file: say so, loudly
    missing = demo({**env, "OCOP_AREAS": str(tmp_path / "absent.json")})
    assert missing.returncode == 0, missing.stderr
    assert "no commune list is loaded" in missing.stderr.lower()
    assert "no commune list loaded" in missing.stdout  # and the chat itself warns
    assert communes(tmp_path) == 0


def test_areas_status_and_import_if_empty(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    status = cli("areas", "status", env=env)
    assert status.returncode == 1
    assert "34 provinces and 0 communes" in status.stdout
    assert "ocop-bot areas import FILE" in status.stderr
    imported = cli("areas", "import", "--if-empty", str(SAMPLE), env=env)
    assert imported.returncode == 0, imported.stderr
    assert "8 communes" in imported.stdout and "ImportReport(" not in imported.stdout
    again = cli("areas", "import", "--if-empty", str(SAMPLE), env=env)
    assert again.returncode == 0 and "already loaded" in again.stdout
    assert cli("areas", "status", env=env).returncode == 0


async def test_health_reports_a_missing_commune_list(tmp_path: Path) -> None:
    settings = Settings(database_url=sqlite_env(tmp_path)["OCOP_DATABASE_URL"])
    assert cli("migrate", env=sqlite_env(tmp_path)).returncode == 0
    app = build_app(settings)
    try:
        async with TestClient(TestServer(http_app(app))) as client:
            response = await client.get("/healthz")
            assert response.status == 200
            body = await response.json()
            assert body["status"] == "ok" and body["communes"] == 0
            assert any("ocop-bot areas import" in w for w in body["warnings"])
            async with app.db.transaction() as session:
                await import_areas(session, SAMPLE)
            body = await (await client.get("/healthz")).json()
            assert body == {"status": "ok", "communes": 8, "parked_updates": 0, "warnings": []}
    finally:
        await app.db.dispose()


async def test_a_commune_that_cannot_be_checked_is_said_so(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    assert cli("migrate", env=env).returncode == 0  # provinces, no communes
    async with running_bot(env["OCOP_DATABASE_URL"], tmp_path / "blobs") as bot:
        phone = bot.producer(7_160_000_001)
        await register(phone)  # answers "tan son" for the commune
        texts = [m.plain for m in phone.messages()]
    assert any("Tôi chưa kiểm tra được “tan son”" in t for t in texts), texts[-4:]
