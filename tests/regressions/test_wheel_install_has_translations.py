"""Regression: a non-editable install (a wheel) had no translations.

The catalogs lived beside the packages but were not package data, so every step of an installed
bot failed with ``FileNotFoundError: …site-packages/locales/vi/LC_MESSAGES/messages.po``. The
wheel is built here from a copy of the sources, installed into a fresh virtualenv (its
dependencies seen from this one's site-packages, so no network is needed) and talked to from a
directory outside the repository.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (
    "pyproject.toml",
    "README.md",
    "bot",
    "console",
    "handlers",
    "storage",
    "locales",
)


def run(*args: str | Path, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=300, check=False, **kw
    )  # type: ignore[call-overload]


def build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "pending")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path / "dist"
    built = run(
        sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "--no-index", "--wheel-dir", dist, source,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("ocop_bot-*.whl")
    return wheel


def install(wheel: Path, venv: Path) -> Path:
    """A fresh virtualenv with the wheel installed; dependencies come from this one."""
    made = run(sys.executable, "-m", "venv", "--without-pip", venv)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    ours = [p for p in site.getsitepackages() if Path(p).is_dir()]
    Path(purelib.stdout.strip(), "dependencies.pth").write_text("\n".join(ours) + "\n")
    installed = run(
        sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
        "--no-index", wheel,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    return venv / "bin"


@pytest.mark.slow
def test_an_installed_wheel_speaks_vietnamese(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    for expected in (
        "locales/vi/LC_MESSAGES/messages.po",
        "locales/en/LC_MESSAGES/messages.po",
        "bot/rules/data/2026.json",
        "bot/data/ethnicities.json",
        "storage/data/provinces-2025.json",
        "storage/migrations/env.py",
        "storage/migrations/versions/0001_initial.py",
        "handlers/registration.mmd",
        "console/templates/login.html",
        "console/static/console.css",
    ):
        assert expected in names, f"{expected} is not in the wheel"

    bin_dir = install(wheel, tmp_path / "venv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OCOP_", "PYTHON"))}
    env["OCOP_DATABASE_URL"] = f"sqlite+aiosqlite:///{elsewhere / 'ocop.sqlite3'}"
    env["OCOP_BLOB_DIR"] = str(elsewhere / "blobs")
    where = run(
        bin_dir / "python",
        "-c",
        "import bot.i18n; print(bot.i18n.__file__)",
        cwd=elsewhere,
        env=env,
    )
    assert where.stdout.startswith(str(tmp_path / "venv")), where.stdout + where.stderr

    page = (
        "from console.render import render; print(render('login.html', 'vi', csrf='', "
        "error='', username=''))"
    )
    console = run(bin_dir / "python", "-c", page, cwd=elsewhere, env=env)
    assert "<h1>Đăng nhập</h1>" in console.stdout, console.stdout + console.stderr

    chat = run(bin_dir / "ocop-bot", "chat", input="1\n", cwd=elsewhere, env=env)
    assert chat.returncode == 0, chat.stdout + chat.stderr
    assert "Anh/chị muốn dùng ngôn ngữ nào?" in chat.stdout
    assert "Chào mừng" in chat.stdout  # the answer to tapping 🇻🇳 Tiếng Việt
    assert "Traceback" not in chat.stdout + chat.stderr
