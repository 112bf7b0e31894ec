"""Shared fixtures: a real SQLite file database with the schema in place (a copy of one migrated
once per test process)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from argon2 import Parameters, Type

from storage.db import Database
from storage.migrate import upgrade
from storage.passwords import use_parameters
from tests.postgres import drop_templates

# Officials' passwords are hashed with argon2id at a test cost (1 MiB, one pass) instead of the
# production 64 MiB x 3 passes, which made each hash or sign-in take 0.1-1 s. The production
# parameters are checked by tests/regressions/test_passwords_are_hashed_at_full_cost.py.
TEST_COST = Parameters(type=Type.ID, version=19, salt_len=16, hash_len=16, time_cost=1,
                       memory_cost=1024, parallelism=1)  # fmt: skip
use_parameters(TEST_COST)


async def create_schema(db: Database) -> None:
    """Bring an empty database to the current schema with the project's own migrations."""
    await upgrade(db.engine)


async def migrate(url: str) -> None:
    """Brings the (empty) database at ``url`` to the current schema and closes it."""
    database = Database(url)
    try:
        await create_schema(database)
    finally:
        await database.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module that sets ``CHANNELS`` runs each test that uses ``channel`` once per channel
    (but those marked ``telegram_only``: they read what only Telegram shows)."""
    if "channel" in metafunc.fixturenames:
        channels = getattr(metafunc.module, "CHANNELS", None)
        if metafunc.definition.get_closest_marker("telegram_only"):
            channels = ("telegram",)
        if channels:
            metafunc.parametrize("channel", channels)


@pytest.fixture
def channel() -> str:
    """The channel a test's producers use (modules without ``CHANNELS``: Telegram)."""
    return "telegram"


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file brought to the current schema by the migrations, made once per test
    process (each xdist worker has its own); tests take copies (:func:`migrated_copy`)."""
    path = tmp_path_factory.mktemp("schema") / "ocop.sqlite3"
    asyncio.run(migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def prepared_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with the provinces and communes (tests/harness.py:
    ``prepare_database``), made once per test process; tests take copies."""
    from tests.harness import prepare_database  # the harness imports this module

    path = tmp_path_factory.mktemp("template") / "ocop.sqlite3"
    asyncio.run(prepare_database(f"sqlite+aiosqlite:///{path}"))
    return path


def migrated_copy(template: Path, target: Path) -> Database:
    """A database on a fresh copy of the migrated file ``template`` at ``target``."""
    shutil.copyfile(template, target)
    return Database(f"sqlite+aiosqlite:///{target}")


@pytest.fixture
async def db(migrated_sqlite: Path, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh SQLite file database (tmp_path) with the schema created."""
    database = migrated_copy(migrated_sqlite, tmp_path / "ocop.sqlite3")
    yield database
    await database.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drops the PostgreSQL templates this process (an xdist worker, or the only one) made."""
    asyncio.run(drop_templates())
