"""Regression: one producer's download stalled every chat.

Files were downloaded inside the engine's round, so while one producer's 8 s download ran,
another chat's /help waited for it (0.05 s became 5.6 s). Downloads now run beside the engine,
a few at a time, and their result is recorded on the inbox row: the uploading chat waits (its
later messages too, in order), every other chat is answered; a restart does not download again,
and a download left by a process that died is tried again once its lease has run out.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from bot.engine import DOWNLOAD_LEASE, Engine
from bot.files import ReceivedFile
from bot.flow import FlowRegistry, StepContext
from bot.vocabulary import Event, EventKind, FileRef
from storage.clock import ManualClock
from storage.db import Database
from storage.models import InboxEvent, OutboxMessage
from tests.engine.conftest import database
from tests.files import make_pdf
from tests.handlers.test_documents import handicraft_dossier
from tests.harness import RunningBot
from tests.regressions.bots import any_bot

__all__ = ["any_bot", "database"]

UPLOADER, OTHER = 7_600_000_001, 7_600_000_002


async def inbox_of(bot: RunningBot, chat: int) -> list[InboxEvent]:
    async with bot.db.sessions() as session:
        rows = await session.scalars(
            select(InboxEvent).where(InboxEvent.chat_id == str(chat)).order_by(InboxEvent.id)
        )
        return list(rows.all())


async def test_held_download_does_not_delay_another_chat(any_bot: RunningBot) -> None:
    bot, api = any_bot, any_bot.api
    uploader, other = bot.producer(UPLOADER), bot.producer(OTHER)
    await handicraft_dossier(uploader)
    await uploader.tap("Registration form")
    uploader.new_messages()
    await other.say("/start")

    content = make_pdf()
    file = api.add_file(content)
    file.hold = asyncio.Event()
    try:
        api.push(
            api.make.document(
                UPLOADER,
                file.file_id,
                file_name="phieu.pdf",
                mime_type="application/pdf",
                file_size=len(content),
                unique_id=file.unique_id,
            ),
            api.make.text(UPLOADER, "Done?"),  # waits behind the file (order)
        )
        bot.pushed += 2
        await api.wait_until(lambda: file.downloads == 1, timeout=10)

        answered = len(other.messages())
        api.push(api.make.command(OTHER, "help"))
        bot.pushed += 1
        await api.wait_until(lambda: len(other.messages()) > answered, timeout=10)

        assert not file.hold.is_set()  # answered while the download is still held
        assert uploader.new_messages() == []
        assert [row.status for row in await inbox_of(bot, UPLOADER)][-2:] == [
            "pending",
            "pending",
        ]
    finally:
        file.hold.set()
    await bot.settle()

    replies = [m.plain for m in uploader.new_messages()]
    assert any("received" in text for text in replies), replies
    file_row, text_row = (await inbox_of(bot, UPLOADER))[-2:]
    assert (file_row.status, text_row.status) == ("done", "done")
    assert file_row.processed_at is not None and text_row.processed_at is not None
    assert file_row.file_result is not None  # recorded for any worker, not in one process
    assert file_row.file_result["received"]["size"] == len(content)
    assert file.downloads == 1


# -- the lease and the record, on the engine alone --------------------------------------------
class FilesFlow:
    """A flow whose one step takes files."""

    name = "files"

    async def start(self, ctx: StepContext) -> None:
        pass

    async def handle(self, ctx: StepContext) -> None:
        pass

    async def reprompt(self, ctx: StepContext) -> None:
        pass

    def help(self, ctx: StepContext) -> str:
        return ""

    def accepts_files(self, step: str) -> bool:
        return True


async def take_files(ctx: StepContext) -> None:
    ctx.set_step("upload", flow="files")
    received = ctx.file_blob
    ctx.say(f"{ctx.event.kind}:{received.sha256 if received else None}")


class Fetcher:
    """Stands in for bot.files.FileFetcher: counts its calls and can hold them."""

    def __init__(self, *, held: bool = False) -> None:
        self.calls = 0
        self.hold = asyncio.Event()
        if not held:
            self.hold.set()

    async def __call__(self, event: Event) -> ReceivedFile:
        self.calls += 1
        await self.hold.wait()
        return ReceivedFile(3, 10, sha256="ab" * 32, kind="pdf", mime_type="application/pdf")


def engine(db: Database, fetcher: Fetcher, clock: ManualClock) -> Engine:
    flows = FlowRegistry()
    flows.add(FilesFlow())  # type: ignore[arg-type]
    return Engine(db, flows, take_files, prefetch=fetcher, clock=clock, poll_interval=0.02)


def events(chat: str) -> list[Event]:
    ref = FileRef("f-1", "u-1", "a.pdf", "application/pdf", 3)
    return [
        Event("test", chat, chat, f"{chat}-1", EventKind.TEXT, text="hi", seq=1),
        Event("test", chat, chat, f"{chat}-2", EventKind.FILE, file=ref, seq=2),
    ]


async def replies(db: Database) -> list[Any]:
    async with db.sessions() as session:
        rows = await session.scalars(select(OutboxMessage.payload).order_by(OutboxMessage.id))
        return [row["text"] for row in rows.all()]


async def test_a_download_of_a_dead_process_is_retried_after_its_lease(
    database: Database,
) -> None:
    clock = ManualClock()
    dying = Fetcher(held=True)
    first = engine(database, dying, clock)
    await first.store(events("1"))
    await first.process_round()
    for _ in range(200):
        if dying.calls:
            break
        await asyncio.sleep(0.01)
    assert dying.calls == 1  # and then the first process dies, its download unfinished

    fetcher = Fetcher()
    second = engine(database, fetcher, clock)
    await second.process_pending()
    assert fetcher.calls == 0  # the lease is still held
    clock.advance(DOWNLOAD_LEASE.total_seconds() + 1)
    await second.process_pending()
    assert fetcher.calls == 1
    assert await replies(database) == ["text:None", "file:" + "ab" * 32]
    dying.hold.set()
    await first.process_pending()  # its download ends; the event is done: nothing changes
    assert await replies(database) == ["text:None", "file:" + "ab" * 32]


async def test_a_recorded_download_is_not_fetched_again_after_a_restart(
    database: Database,
) -> None:
    clock = ManualClock()
    fetcher = Fetcher()
    first = engine(database, fetcher, clock)
    await first.store(events("2"))
    await first.process_round()  # the text's step; the file's download starts
    for _ in range(200):
        async with database.sessions() as session:
            recorded = await session.scalar(
                select(InboxEvent.file_result).where(InboxEvent.event_id == "2-2")
            )
        if recorded:
            break
        await asyncio.sleep(0.01)
    assert recorded  # the process stops here, before the file's step ran

    again = Fetcher()
    second = engine(database, again, clock)
    await second.process_pending()
    assert (fetcher.calls, again.calls) == (1, 0)
    assert await replies(database) == ["text:None", "file:" + "ab" * 32]
