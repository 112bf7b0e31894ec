"""Regression tests drive the whole bot like the conversation tests: the same fixtures."""

from tests.handlers.conftest import bot, prepared_database  # noqa: F401
