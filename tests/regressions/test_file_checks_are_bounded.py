"""Regression: checking an uploaded file could stall the whole bot and eat its memory.

A 20 MB HEIF "bomb" (``ftyp`` of brand ``mif1`` claiming a box of 0xFFFFFFFF bytes) cost 2.7 s of
the event loop and +626 MB; a ZIP of 150,000 entries 0.8 s. The check now reads a bounded part
of any file (boxes, ZIP entries, OLE2 directory entries, decompressed bytes), calls a file
beyond the limits "unknown", and runs in a worker thread within a time limit: a check that does
not finish in time refuses the file as "unreadable", and the other chats are served meanwhile.
"""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from collections.abc import Callable

import pytest

from bot.channels.base import BaseChannel, ChannelAdapter
from bot.files import FileFetcher, ReceivedFile
from bot.filetypes import Detection, FileKind, Refusal, detect
from bot.i18n import translator
from bot.vocabulary import Event, EventKind, FileRef
from handlers.documents import PROBLEMS
from storage.blobs import MemoryBlobStore
from tests.files import (
    make_heif_bomb,
    make_ole2_of_many_entries,
    make_pdf,
    make_zip_of_many_entries,
)
from tests.handlers.test_documents import CHAT, handicraft_dossier, open_document
from tests.handlers.test_documents import files as stored_files
from tests.harness import RunningBot

MAX_CPU_SECONDS = 0.5
MAX_PEAK_BYTES = 32 * 1024 * 1024
MAX_LOOP_STALL_SECONDS = 1.0


@pytest.mark.parametrize(
    "build",
    [
        make_heif_bomb,
        make_zip_of_many_entries,
        lambda: make_zip_of_many_entries(declared=1),
        make_ole2_of_many_entries,
    ],
    ids=["heif-bomb", "zip-150k-entries", "zip-150k-entries-claiming-one", "ole2-50k-entries"],
)
def test_a_hostile_file_is_refused_within_small_cpu_and_memory(
    build: Callable[[], bytes],
) -> None:
    data = build()

    gc.collect()  # earlier tests' garbage is not this check's cost (a full GC may take 0.5 s)
    started = time.process_time()
    result = detect(data)
    cpu = time.process_time() - started
    tracemalloc.start()
    try:
        detect(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert cpu < MAX_CPU_SECONDS  # the HEIF bomb took 4.6 s, the ZIPs 1.6 s
    assert peak < MAX_PEAK_BYTES  # the HEIF bomb 561 MiB, the ZIPs 70 MiB
    assert result == Detection(None, Refusal.UNKNOWN)


class Ticker:
    """Counts the event loop's turns: the longest gap between two is how long it was blocked."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            self.longest = max(self.longest, now - last)
            last = now

    def __enter__(self) -> Ticker:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def test_the_bot_keeps_running_while_a_heif_bomb_is_checked(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    await open_document(phone, "Trademark")

    with Ticker() as ticker:
        replies = await phone.send_document(
            make_heif_bomb(19 * 1024 * 1024), "nhan-hieu.heic", "image/heic"
        )

    assert "cannot open that kind of file" in replies[0].plain
    assert ticker.longest < MAX_LOOP_STALL_SECONDS
    assert await stored_files(bot) == []


class OneFileChannel(BaseChannel):
    """A channel whose every download is ``data``."""

    name = "test"

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def download(self, file: FileRef, max_bytes: int) -> bytes:
        return self.data


def file_event() -> Event:
    return Event("test", "1", "1", "e1", EventKind.FILE, file=FileRef("f1", size=1000))


async def fetch(
    data: bytes, detector: Callable[[bytes], Detection], timeout: float
) -> ReceivedFile:
    channels: dict[str, ChannelAdapter] = {"test": OneFileChannel(data)}
    fetcher = FileFetcher(
        channels, MemoryBlobStore(), 1_000_000, check_timeout=timeout, detector=detector
    )
    return await fetcher(file_event())


def slow_detect(data: bytes) -> Detection:
    time.sleep(0.5)  # a check that blocks, as a pathological file would
    return detect(data)


async def test_a_check_runs_off_the_event_loop() -> None:
    with Ticker() as ticker:
        received = await fetch(make_pdf(), slow_detect, timeout=5.0)

    assert (received.kind, received.problem) == (str(FileKind.PDF), None)
    assert received.sha256 is not None
    assert ticker.longest < 0.3


async def test_a_check_that_takes_too_long_refuses_the_file() -> None:
    started = time.monotonic()
    received = await fetch(make_pdf(), slow_detect, timeout=0.05)

    assert time.monotonic() - started < 0.4
    assert received.problem == "unreadable"
    assert received.sha256 is None


def test_every_refusal_has_its_own_answer_in_both_languages() -> None:
    for refusal in Refusal:
        message = PROBLEMS[str(refusal)]
        assert translator("vi").gettext(message) != message
    assert "could not check" in PROBLEMS["unreadable"]
