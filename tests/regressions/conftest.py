"""Regression tests drive the whole bot like the conversation tests: the same fixtures."""

from tests.handlers.conftest import bot  # noqa: F401
