"""Regression: a failed step's stored and logged error carried the producer's personal data.

SQLAlchemy put the statement's parameters into the exception's text, and the engine stored
``f"{type}: {exc}"`` in ``inbox.error`` and logged the traceback with it: the tax code, phone
and e-mail of the producer were in both. Parameters are now hidden, and the stored and logged
error is the exception's type with its message masked, and a traceback of code lines only.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select, text

from bot.engine import MAX_STEP_ATTEMPTS, Engine
from bot.errors import describe_error
from bot.flow import FlowRegistry, StepContext
from bot.vocabulary import Event, EventKind
from storage.db import Database
from storage.models import InboxEvent
from tests.engine.conftest import database

__all__ = ["database"]

TAX, PHONE, EMAIL, NAME = "0100109106", "+84912345678", "lan@htx-lucngan.vn", "Nguyen Thi Lan"
PERSONAL = f"{NAME}, MST {TAX}, {PHONE}, {EMAIL}"


async def failing_insert(ctx: StepContext) -> None:
    """A statement that fails with what the user typed among its parameters."""
    await ctx.session.execute(
        text("INSERT INTO users (display_name, locale, created_at) VALUES (:name, NULL, NULL)"),
        {"name": ctx.event.text},
    )


async def failing_check(ctx: StepContext) -> None:
    """An exception whose message repeats what the user typed."""
    raise ValueError(f"cannot use {ctx.event.text!r} (number {TAX}, mail {EMAIL})")


@pytest.mark.parametrize("step", [failing_insert, failing_check])
async def test_failed_step_stores_and_logs_no_personal_data(
    database: Database, step: object, caplog: pytest.LogCaptureFixture
) -> None:
    engine = Engine(database, FlowRegistry(), step)  # type: ignore[arg-type]
    await engine.store([Event("test", "1", "1", "e1", EventKind.TEXT, text=PERSONAL)])
    with caplog.at_level(logging.INFO):  # (DEBUG logs of drivers are the logging set-up's)
        for _ in range(MAX_STEP_ATTEMPTS):
            await engine.process_pending()
    async with database.sessions() as session:
        row = await session.scalar(select(InboxEvent))
    assert row is not None and row.status == "failed" and row.error
    assert row.error.split(":")[0].split()[0] in ("IntegrityError", "ValueError"), row.error
    logged = caplog.text
    assert "failed" in logged
    for secret in (TAX, PHONE, EMAIL, NAME, "0912345678"):
        assert secret not in row.error, row.error
        assert secret not in logged, logged


def test_described_errors_keep_the_kind_and_mask_values() -> None:
    described = describe_error(KeyError(f"{PHONE} {EMAIL} {TAX} '{NAME}'"))
    assert described.startswith("KeyError: ")
    for secret in (TAX, PHONE, EMAIL, NAME):
        assert secret not in described
