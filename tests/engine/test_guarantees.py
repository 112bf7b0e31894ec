"""The engine's guarantees, on SQLite and (when OCOP_TEST_POSTGRES_URL is set) PostgreSQL:
stored before acknowledged, exactly once, in order per chat, one commit per step, resumable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.engine import MAX_STEP_ATTEMPTS, Engine
from bot.flow import FlowRegistry, StepContext
from bot.sender import Sender
from bot.vocabulary import Event, EventKind
from storage.db import Database
from storage.models import Conversation, InboxEvent, OutboxMessage, TranscriptEntry
from tests.engine.conftest import RecordingChannel


async def remember(ctx: StepContext) -> None:
    """A flow step that records the order it saw events in, and answers with it."""
    seen = ctx.data.setdefault("seen", [])
    seen.append(ctx.event.text)
    if ctx.event.text == "boom":
        raise RuntimeError("a step that fails")
    ctx.say(f"{len(seen)}:{ctx.event.text}")


def text_event(chat: str, n: int, text: str | None = None) -> Event:
    return Event(
        channel="test",
        chat_id=chat,
        user_id=chat,
        event_id=f"{chat}-{n}",
        kind=EventKind.TEXT,
        text=text if text is not None else f"m{n}",
    )


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[Engine]:
    yield Engine(database, FlowRegistry(), remember, poll_interval=0.02, flood_threshold=1000)


async def conversation_data(db: Database, chat: str) -> list[str]:
    async with db.sessions() as session:
        conv = await session.scalar(select(Conversation).where(Conversation.chat_id == chat))
    return list(conv.data["seen"]) if conv else []


async def test_duplicate_event_processed_once(engine: Engine, database: Database) -> None:
    assert await engine.store([text_event("1", 1)]) == 1
    assert await engine.store([text_event("1", 1), text_event("1", 1)]) == 0
    await engine.process_pending()
    assert await conversation_data(database, "1") == ["m1"]
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboxEvent)) == 1
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


async def test_ten_concurrent_updates_of_one_chat_in_order(
    engine: Engine, database: Database
) -> None:
    """Ten updates stored at once by ten concurrent requests run one at a time, in order."""
    await asyncio.gather(*(engine.store([text_event("7", n)]) for n in range(10)))
    stop = asyncio.Event()
    runner = asyncio.create_task(engine.run(stop))
    for _ in range(500):
        if len(await conversation_data(database, "7")) == 10:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await runner
    async with database.sessions() as session:
        ids = (await session.scalars(select(InboxEvent.event_id).order_by(InboxEvent.id))).all()
        replies = (
            await session.scalars(select(OutboxMessage.payload).order_by(OutboxMessage.id))
        ).all()
    expected = [f"m{event_id.split('-')[1]}" for event_id in ids]
    assert await conversation_data(database, "7") == expected
    assert [r["text"] for r in replies] == [f"{i + 1}:{m}" for i, m in enumerate(expected)]


async def test_chats_run_concurrently_each_in_order(engine: Engine, database: Database) -> None:
    await engine.store([text_event(str(c), n) for n in range(5) for c in range(20)])
    await engine.process_pending()
    for c in range(20):
        assert await conversation_data(database, str(c)) == [f"m{n}" for n in range(5)]


async def test_crash_between_storing_and_processing_loses_nothing(database: Database) -> None:
    """Events stored by one engine that died before processing are run by the next one."""
    first = Engine(database, FlowRegistry(), remember)
    await first.store([text_event("9", n) for n in range(3)])
    del first  # the process dies here: nothing was processed
    second = Engine(database, FlowRegistry(), remember)
    await second.process_pending()
    assert await conversation_data(database, "9") == ["m0", "m1", "m2"]


async def test_failing_step_rolls_back_whole_then_gives_up(
    engine: Engine, database: Database
) -> None:
    await engine.store([text_event("5", 0), text_event("5", 1, "boom"), text_event("5", 2)])
    for _ in range(MAX_STEP_ATTEMPTS + 2):
        await engine.process_pending()
    # The failed step left no trace of its own; the chat went on with the next event.
    assert await conversation_data(database, "5") == ["m0", "m2"]
    async with database.sessions() as session:
        failed = await session.scalar(select(InboxEvent).where(InboxEvent.event_id == "5-1"))
        texts = (
            await session.scalars(select(OutboxMessage.payload).order_by(OutboxMessage.id))
        ).all()
        transcript = await session.scalar(
            select(func.count())
            .select_from(TranscriptEntry)
            .where(TranscriptEntry.direction == "in")
        )
    assert failed is not None and failed.status == "failed"
    assert failed.attempts == MAX_STEP_ATTEMPTS and "a step that fails" in (failed.error or "")
    assert texts[0]["text"] == "1:m0"
    assert texts[1]["text"].startswith("Xin lỗi")  # no language chosen yet: Vietnamese
    assert texts[2]["text"] == "2:m2"
    assert transcript == 2


async def test_replies_sent_in_order_per_chat(engine: Engine, database: Database) -> None:
    channel = RecordingChannel(delays={"a": 0.02})
    sender = Sender(database, {"test": channel}, per_chat_rate=0, poll_interval=0.01)
    await engine.store([text_event(chat, n) for n in range(6) for chat in ("a", "b")])
    await engine.process_pending()
    while await sender.send_due():
        pass
    for chat in ("a", "b"):
        assert channel.texts(chat) == [f"{n + 1}:m{n}" for n in range(6)]
    async with database.sessions() as session:
        statuses = set((await session.scalars(select(OutboxMessage.status))).all())
        ids = (await session.scalars(select(OutboxMessage.platform_message_id))).all()
    assert statuses == {"sent"}
    assert all(ids)


async def test_flood_gets_one_notice_and_the_latest_an_answer(database: Database) -> None:
    """A burst of 30 messages: all stored and run, one notice, the last one answered."""
    engine = Engine(database, FlowRegistry(), remember, flood_threshold=8)
    await engine.store([text_event("f", n) for n in range(30)])
    await engine.process_pending()
    assert len(await conversation_data(database, "f")) == 30
    async with database.sessions() as session:
        replies = [
            p["text"]
            for p in (
                await session.scalars(select(OutboxMessage.payload).order_by(OutboxMessage.id))
            ).all()
        ]
        transcribed = await session.scalar(
            select(func.count())
            .select_from(TranscriptEntry)
            .where(TranscriptEntry.direction == "in")
        )
    assert replies[:8] == [f"{n + 1}:m{n}" for n in range(8)]
    assert "gửi liền nhiều tin" in replies[8]
    assert replies[9:] == ["30:m29"]
    assert transcribed == 30
