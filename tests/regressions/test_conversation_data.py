"""Regressions: conversation data must be saved however a step changes it.

1. A query during the step autoflushed the conversation, and the data dict changed in place
   after that was taken as already saved (registration forgot its answers).
2. A nested list changed in place (``data["seen"].append``) compared equal to the stored value,
   which shared the same list, so nothing was written.
"""

from __future__ import annotations

from sqlalchemy import func, select

from bot.engine import Engine
from bot.flow import FlowRegistry, StepContext
from bot.vocabulary import Event, EventKind
from storage.db import Database
from storage.models import Conversation, User


async def step(ctx: StepContext) -> None:
    ctx.set_step("next", flow="test")
    await ctx.session.scalar(select(func.count()).select_from(User))  # may autoflush
    ctx.data.setdefault("seen", []).append(ctx.event.text)
    ctx.data["last"] = ctx.event.text


async def test_data_changed_after_a_flush_and_in_nested_lists_is_saved(db: Database) -> None:
    engine = Engine(db, FlowRegistry(), step)
    for n in range(3):
        await engine.store([Event("t", "1", "1", f"e{n}", EventKind.TEXT, text=f"m{n}")])
        await engine.process_pending()
    async with db.sessions() as session:
        conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    assert conversation.data == {"seen": ["m0", "m1", "m2"], "last": "m2"}
    assert (conversation.flow, conversation.step, conversation.version) == ("test", "next", 3)
