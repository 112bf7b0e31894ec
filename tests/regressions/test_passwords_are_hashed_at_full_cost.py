"""The test suite hashes passwords cheaply (tests/conftest.py), so that must not be what the
bot does: a fresh process hashes with argon2id at argon2-cffi's default cost (RFC 9106's
low-memory profile: 64 MiB, 3 passes, 4 lanes), and its hashes verify in the tests' process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from storage.passwords import hash_password, verify_password

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough password"


def test_the_bot_hashes_at_full_cost_and_the_tests_cheaply() -> None:
    code = f"from storage.passwords import hash_password; print(hash_password({PASSWORD!r}))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    production = result.stdout.strip()
    assert production.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), production
    assert verify_password(production, PASSWORD)
    assert not verify_password(production, PASSWORD + "!")
    assert hash_password(PASSWORD).startswith("$argon2id$v=19$m=1024,t=1,p=1$")
