"""Steps of many chats share one transaction and a few bulk statements; a failing step, or
one that writes another chat's conversation, makes the batch run again step by step, so the
outcome is the same as running every step alone (SQLite and, when configured, PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, func, select, update

from bot.engine import Engine
from bot.flow import FlowRegistry, StepContext
from storage.db import Database
from storage.models import Conversation, InboxEvent, OutboxMessage, TranscriptEntry
from tests.engine.test_guarantees import conversation_data, remember, text_event


async def restart_chat_x(ctx: StepContext) -> None:
    """``remember``, except that "restart x" restarts chat x's conversation (as linking two
    chats does) from inside the step."""
    if ctx.event.text == "restart x":
        await ctx.session.execute(
            update(Conversation).where(Conversation.chat_id == "x").values(data={"seen": []})
        )
    await remember(ctx)


async def test_a_failing_step_is_undone_alone_and_its_batch_commits(database: Database) -> None:
    engine = Engine(database, FlowRegistry(), remember, flood_threshold=1000)
    await engine.store([text_event("a", 0), text_event("b", 0, "boom"), text_event("c", 0)])
    assert await engine.process_round() == 2  # a and c; b failed once and waits
    assert await conversation_data(database, "a") == ["m0"]
    assert await conversation_data(database, "c") == ["m0"]
    assert await conversation_data(database, "b") == []  # the failed step left nothing
    async with database.sessions() as session:
        b = await session.scalar(select(InboxEvent).where(InboxEvent.chat_id == "b"))
        replies = (await session.scalars(select(OutboxMessage.chat_id))).all()
        lines = (await session.scalars(select(TranscriptEntry.chat_id))).all()
    assert b is not None and b.status == "pending" and b.attempts == 1
    assert sorted(replies) == ["a", "c"]
    assert sorted(lines) == ["a", "a", "c", "c"]  # each message in, and its answer


async def test_a_step_writing_another_chats_conversation_is_not_overwritten(
    database: Database,
) -> None:
    engine = Engine(database, FlowRegistry(), restart_chat_x, flood_threshold=1000)
    await engine.store([text_event("x", 0)])
    await engine.process_pending()
    # In one batch: x answers first, then r restarts x's conversation; x's answer must not
    # put its older state back over the restart.
    await engine.store([text_event("x", 1), text_event("r", 0, "restart x")])
    assert await engine.process_round() == 2
    assert await conversation_data(database, "x") == []
    assert await conversation_data(database, "r") == ["restart x"]


async def test_a_batch_costs_a_few_statements_however_many_chats(database: Database) -> None:
    """30 chats known to the engine, one message each: the round reads and writes in bulk."""
    engine = Engine(database, FlowRegistry(), remember, flood_threshold=1000)
    chats = [str(n) for n in range(30)]
    await engine.store([text_event(chat, 0) for chat in chats])
    await engine.process_pending()
    await engine.store([text_event(chat, 1) for chat in chats])
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split())[:60])

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        assert await engine.process_round() == 30
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    # BEGIN (SQLite), the chats' locks (PostgreSQL), their events, their states, the
    # identities' reply windows, outbox, transcript, conversations, inbox done.
    assert len(statements) <= 9, statements
    for chat in chats:
        assert await conversation_data(database, chat) == ["m0", "m1"]
    async with database.sessions() as session:
        done = await session.scalar(
            select(func.count()).select_from(InboxEvent).where(InboxEvent.status == "done")
        )
    assert done == 60


async def test_a_flood_counts_the_replies_gathered_in_its_batch(database: Database) -> None:
    """A burst within one batch: the replies the batch has gathered, not yet written, count
    towards the flood threshold like stored ones."""
    engine = Engine(database, FlowRegistry(), remember, flood_threshold=2)
    await engine.store([text_event("f", n) for n in range(6)])
    await engine.process_round()  # the chat's first four steps, in one batch
    async with database.sessions() as session:
        replies = [
            p["text"]
            for p in (
                await session.scalars(select(OutboxMessage.payload).order_by(OutboxMessage.id))
            ).all()
        ]
    assert replies[:2] == ["1:m0", "2:m1"]
    assert len(replies) == 3 and "gửi liền nhiều tin" in replies[2]
