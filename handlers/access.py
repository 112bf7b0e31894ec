"""Who the person chatting speaks for: flows for registered producers start here."""

from __future__ import annotations

from bot.flow import StepContext
from storage.models import Producer
from storage.producers import producer_of_user

__all__ = ["producer_or_redirect"]


async def producer_or_redirect(ctx: StepContext, otherwise: str = "menu") -> Producer | None:
    """The producer the user speaks for; without one, the user is taken to ``otherwise``."""
    producer = await producer_of_user(ctx.session, ctx.user.id)
    if producer is None:
        await ctx.goto(otherwise)
    return producer
