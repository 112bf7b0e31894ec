"""Leaving a question for the office (see questions.mmd).

A producer who types /help twice in a row, or asks for a person ("gặp cán bộ", "talk to an
official"…), is offered to leave a question: they type it, confirm it, and are told when the
office usually answers; the question waits in the console's queue and the answer comes back
in this chat. Back and Cancel work at every step; leaving returns the producer to exactly where
they were (the flow, step and data they had are kept aside while the question is asked).
"""

from __future__ import annotations

import re
from typing import Any

from bot.flow import StepContext
from bot.i18n import N_
from bot.official_notify import notify_officials
from bot.vocabulary import Button, EventKind
from handlers.forms import BACK, CANCEL, CONFIRM, TYPED_COMMANDS, nav_row
from storage.area_cache import current_areas
from storage.producers import producer_of_user
from storage.questions import MAX_QUESTION, add_question, office_name
from storage.states import OfficialEvent
from storage.text import fold

__all__ = ["QuestionsFlow", "asks_for_a_person"]

OFFER, ASK, CONFIRM_STEP = "offer", "ask", "confirm"
WRITE = "write"
RESUME = "resume"  # the data key holding where the producer was
# What a producer types to reach a person (folded: no diacritics, lower case), anywhere in a
# short message.
PERSON_PHRASES = (
    "gap can bo",
    "noi chuyen voi can bo",
    "noi chuyen can bo",
    "lien he can bo",
    "hoi can bo",
    "gap nguoi that",
    "noi chuyen voi nguoi",
    "gap nhan vien",
    "talk to an official",
    "talk to a person",
    "talk to a human",
    "speak to an official",
    "speak to a person",
    "contact an official",
)
_PHRASE = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in PERSON_PHRASES) + r")\b")
MAX_PHRASE_MESSAGE = 120  # a longer message is an answer, not a request for a person
ANSWER_TIME = N_("The office usually answers within two working days, here in this chat.")


def asks_for_a_person(text: str) -> bool:
    """Whether a typed message asks to talk to an official (with or without diacritics)."""
    return len(text) <= MAX_PHRASE_MESSAGE and _PHRASE.search(fold(text)) is not None


class QuestionsFlow:
    """Offers, takes and confirms a question for the office."""

    name = "questions"

    def takes_free_text(self, ctx: StepContext) -> bool:
        """The question itself is typed (dispatch asks before taking a phrase for a shortcut)."""
        return ctx.step == ASK

    def wants_a_person(self, text: str) -> bool:
        """Whether a message typed at any step asks for an official (dispatch asks)."""
        return asks_for_a_person(text)

    async def offer(self, ctx: StepContext) -> None:
        """Enter the flow from wherever the producer is, keeping that place to return to."""
        if ctx.conversation.flow == self.name:
            await self.reprompt(ctx)
            return
        c = ctx.conversation
        resume = {
            "flow": c.flow,
            "step": c.step,
            "data": {k: v for k, v in c.data.items() if not k.startswith("_")},
        }
        await ctx.goto(self.name, **{RESUME: resume})

    async def start(self, ctx: StepContext) -> None:
        producer = await producer_of_user(ctx.session, ctx.user.id)
        if producer is None:
            ctx.say(
                ctx._(
                    "The commune office answers registered producers. Please finish "
                    "registering first; then you can leave a question for the office here."
                )
            )
            await self._leave(ctx)
            return
        areas = await current_areas(ctx.session, ctx.clock)
        office = await office_name(ctx.session, producer, areas=areas) or ""
        ctx.data["office"] = office
        ctx.set_step(OFFER, flow=self.name)
        ctx.say(
            ctx._(
                "Would you like to leave a question for {office}? An official will answer "
                "you here in this chat."
            ).format(office=office),
            buttons=[[Button(ctx._("✍️ Leave a question"), WRITE)], nav_row(ctx)],
        )

    async def reprompt(self, ctx: StepContext) -> None:
        if ctx.step == ASK:
            self._ask(ctx)
        elif ctx.step == CONFIRM_STEP:
            self._confirm(ctx)
        else:
            await self.start(ctx)

    def help(self, ctx: StepContext) -> str:
        if ctx.step == ASK:
            return ctx._("Type your question for the office in one message.")
        return ctx._("Tap a button, or /cancel to go back to what you were doing.")

    async def cancel(self, ctx: StepContext) -> None:
        ctx.say(ctx._("All right, no question was sent."))
        await self._leave(ctx)

    async def handle(self, ctx: StepContext) -> None:
        answer = self._answer(ctx)
        if ctx.step == ASK:
            await self._on_question(ctx, answer)
        elif answer == CANCEL:
            await self.cancel(ctx)
        elif ctx.step == OFFER:
            if answer == WRITE:
                self._ask(ctx)
            elif answer == BACK:
                await self._leave(ctx)
            else:
                await self.start(ctx)
        elif ctx.step == CONFIRM_STEP:
            if answer == CONFIRM:
                await self._send(ctx)
            elif answer == BACK:
                self._ask(ctx)
            else:
                self._confirm(ctx)
        else:
            await self.start(ctx)

    def _answer(self, ctx: StepContext) -> str | None:
        event = ctx.event
        if event.kind == EventKind.BUTTON:
            return event.payload
        if event.kind != EventKind.TEXT:
            return None
        if ctx.step == ASK:
            return event.text
        return TYPED_COMMANDS.get(fold(event.text), event.text)

    def _ask(self, ctx: StepContext) -> None:
        ctx.set_step(ASK)
        ctx.say(
            ctx._("Type your question in one message (up to {limit} characters).").format(
                limit=MAX_QUESTION
            ),
            buttons=[nav_row(ctx)],
        )

    async def _on_question(self, ctx: StepContext, answer: str | None) -> None:
        if answer == BACK and ctx.event.kind == EventKind.BUTTON:
            await self.start(ctx)
            return
        if answer == CANCEL and ctx.event.kind == EventKind.BUTTON:
            await self.cancel(ctx)
            return
        text = " ".join((answer or "").split()) if ctx.event.kind == EventKind.TEXT else ""
        if not text:
            ctx.say(ctx._("Please type your question as text."))
            self._ask(ctx)
            return
        if len(text) > MAX_QUESTION:
            ctx.say(
                ctx._("That is too long: please keep it under {limit} characters.").format(
                    limit=MAX_QUESTION
                )
            )
            self._ask(ctx)
            return
        ctx.data["question"] = text
        self._confirm(ctx)

    def _confirm(self, ctx: StepContext) -> None:
        ctx.set_step(CONFIRM_STEP)
        ctx.say(
            ctx._("Your question for {office}:\n“{question}”\nSend it?").format(
                office=ctx.data.get("office", ""), question=ctx.data.get("question", "")
            ),
            buttons=[[Button(ctx._("✅ Send"), CONFIRM)], nav_row(ctx)],
        )

    async def _send(self, ctx: StepContext) -> None:
        producer = await producer_of_user(ctx.session, ctx.user.id)
        text = str(ctx.data.get("question") or "")
        if producer is None or not text:
            await self.start(ctx)
            return
        await add_question(ctx.session, producer.id, ctx.user.id, text, ctx.clock)
        await notify_officials(
            ctx.session, producer=producer, event=OfficialEvent.QUESTION, clock=ctx.clock
        )
        ctx.say(
            ctx._("✅ Your question was sent to {office}.").format(office=ctx.data.get("office"))
            + "\n"
            + ctx._(ANSWER_TIME)
        )
        await self._leave(ctx)

    async def _leave(self, ctx: StepContext) -> None:
        """Back to where the producer was when the question was offered (or the menu)."""
        resume: dict[str, Any] = ctx.data.get(RESUME) or {}
        flow = resume.get("flow") or ""
        if not flow or flow == self.name or flow not in ctx.flows:
            await ctx.goto("menu")
            return
        kept = {k: v for k, v in ctx.data.items() if k.startswith("_")}
        ctx.conversation.data = {**kept, **(resume.get("data") or {})}
        ctx.set_step(str(resume.get("step") or ""), flow=flow)
        await ctx.flows[flow].reprompt(ctx)
