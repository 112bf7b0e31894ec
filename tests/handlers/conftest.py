"""Fixtures for conversation tests: the whole bot on a copy of the prepared database
(``prepared_database``, tests/conftest.py), and its producers.

A module that sets ``CHANNELS`` (a tuple of channel names, e.g. ``tests.rigs.CHANNELS``) runs
each of its tests once per channel: ``bot.producer(chat)`` is then a phone on that channel.
Other modules run on Telegram only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import RunningBot, copy_database, running_bot
from tests.rigs import rig_for


@pytest.fixture
async def bot(channel: str, prepared_database: Path, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The real bot, polling a fresh fake Bot API server (and the channel's own fake), on a
    copy of the prepared database."""
    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    async with running_bot(url, tmp_path / "blobs", rig=rig_for(channel)) as running:
        yield running
