"""What a timer does when it falls due: who gets it, and what their chat is told.

Two registries, one entry per timer kind (``storage.states.TimerKind``):

* ``register_recipients(kind, fn)``: ``fn(session, timer)`` returns the ids of the users a
  due timer is for, decided when it fires (so people who joined or left meanwhile count as
  they are then). The scheduler (``bot/scheduler.py``) turns each into a ``timer`` event in
  each of that user's chats that has not blocked the bot.
* ``register_timer_handler(kind, fn)``: ``fn(ctx)`` runs as the step of that event, in the
  chat's order like any event; it may ``ctx.say`` things (sent as notifications) but leaves the
  conversation where it was: whatever it changes of the flow, step or data is put back, so the
  question the user had open still takes their next answer.

The latest registration of a kind wins (a feature replaces a default by registering after it,
in ``bot/flows.py``).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.flow import StepContext
from storage.models import Timer

__all__ = [
    "RecipientsFn",
    "TimerHandler",
    "recipients_of",
    "register_recipients",
    "register_timer_handler",
    "run_timer_event",
]

log = logging.getLogger(__name__)

RecipientsFn = Callable[[AsyncSession, Timer], Awaitable[Iterable[int]]]
TimerHandler = Callable[[StepContext], Awaitable[None]]

_recipients: dict[str, RecipientsFn] = {}
_handlers: dict[str, TimerHandler] = {}


def register_recipients(kind: str, fn: RecipientsFn) -> None:
    """Who a timer of ``kind`` is for: ``fn(session, timer)`` → user ids."""
    _recipients[kind] = fn


def register_timer_handler(kind: str, fn: TimerHandler) -> None:
    """What a chat is told when a timer of ``kind`` reaches it: ``fn(ctx)``."""
    _handlers[kind] = fn


def recipients_of(kind: str) -> RecipientsFn | None:
    """The recipients function of ``kind`` (None: nobody registered one)."""
    return _recipients.get(kind)


async def run_timer_event(ctx: StepContext) -> None:
    """The step of a ``timer`` event: its kind's handler, the conversation left as it was."""
    handler = _handlers.get(ctx.event.timer_kind)
    if handler is None:
        log.warning("no handler for timers of kind %r; event dropped", ctx.event.timer_kind)
        return
    before = copy.deepcopy(ctx.conversation)
    await handler(ctx)
    ctx.conversation = before
