""" "When is the deadline?": the evaluation rounds covering the producer (see deadlines.mmd).

Reached from the main menu's button, ``/deadlines``, or typed words anywhere ("hạn nộp",
"han nop", "deadline", "hạn chót"…, matched folded, as "gặp cán bộ" is). It lists the rounds
that are upcoming or open for the producer's commune or province, soonest deadline first: the
level, the name, the submission deadline in the producer's language with the days left, and per
product what it still misses to be filed (:mod:`bot.dossier_progress`) or that it is submitted to
this round. Without any round: none is announced yet, the office will announce it. Asked in the
middle of another conversation, the answer comes and the question there is asked again.
"""

from __future__ import annotations

import re
from datetime import date

from bot.dossier_progress import progress
from bot.flow import StepContext
from bot.i18n import N_
from bot.vocabulary import Button, EventKind
from storage.dossiers import current_dossier, documents_of, products_of
from storage.models import Dossier, Product, Round
from storage.producers import producer_of_user
from storage.rounds import entry_of_dossier, phase, rounds_for_producer
from storage.states import EDITABLE_DOSSIER, DossierStatus, RoundLevel, RoundPhase
from storage.text import fold

__all__ = ["LEVELS", "DeadlinesFlow", "asks_for_deadlines", "days_left", "round_line"]

SHOWN = "shown"
PRODUCTS = "products"
DEADLINE_PHRASES = (
    "han nop",
    "han chot",
    "thoi han nop",
    "het han nop",
    "bao gio nop",
    "khi nao nop",
    "dot danh gia",
    "deadline",
    "deadlines",
    "when is the deadline",
)
_PHRASE = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in DEADLINE_PHRASES) + r")\b")
MAX_PHRASE_MESSAGE = 120  # a longer message is an answer, not a question about deadlines
QUESTIONS = "questions"  # typing a question for the office is never interrupted
STAY_IN = ("", "menu")  # from these, the answer is its own step (with its buttons)

LEVELS = {
    RoundLevel.PROVINCE: N_("province level"),
    RoundLevel.CENTRAL: N_("central level"),
}


def asks_for_deadlines(text: str) -> bool:
    """Whether a typed message asks about round deadlines (with or without diacritics)."""
    return len(text) <= MAX_PHRASE_MESSAGE and _PHRASE.search(fold(text)) is not None


def days_left(ctx: StepContext, deadline: date) -> str:
    """ "today is the last day", "tomorrow is the last day" or "12 days left"."""
    days = (deadline - ctx.today).days
    if days <= 0:
        return ctx._("today is the last day")
    if days == 1:
        return ctx._("tomorrow is the last day")
    return ctx.t.ngettext("{n} day left", "{n} days left", days).format(n=ctx.t.number(days))


def round_line(ctx: StepContext, round_: Round) -> str:
    """ "Đợt 1 cấp tỉnh 2026 (province level): dossiers until 30/04/2026, 12 days left"."""
    level = ctx._(LEVELS.get(RoundLevel(round_.level), round_.level))
    deadline = ctx.t.date(round_.submission_deadline)
    if phase(round_, ctx.today) is RoundPhase.UPCOMING:
        return ctx._(
            "🗓 {name} ({level}): opens on {opens}; dossiers until {deadline} ({left})."
        ).format(
            name=round_.name,
            level=level,
            opens=ctx.t.date(round_.opens_on),
            deadline=deadline,
            left=days_left(ctx, round_.submission_deadline),
        )
    return ctx._("🗓 {name} ({level}): open now; dossiers until {deadline} ({left}).").format(
        name=round_.name,
        level=level,
        deadline=deadline,
        left=days_left(ctx, round_.submission_deadline),
    )


class DeadlinesFlow:
    """Shows the rounds covering the producer and what each product still needs."""

    name = "deadlines"

    def wants_deadlines(self, text: str) -> bool:
        """Whether a message typed at any step asks about deadlines (dispatch asks)."""
        return asks_for_deadlines(text)

    async def offer(self, ctx: StepContext) -> None:
        """The answer from wherever the producer is: its own step from the menu, else said
        and the current question asked again (a form in progress is not left)."""
        current = ctx.conversation.flow
        flow = ctx.flows.get(current)
        if current in (*STAY_IN, self.name) or flow is None:
            await ctx.goto(self.name)
            return
        ctx.say(await self.text(ctx), title=ctx._("📅 Round deadlines"))
        await flow.reprompt(ctx)

    async def start(self, ctx: StepContext) -> None:
        ctx.set_step(SHOWN, flow=self.name)
        registered = await producer_of_user(ctx.session, ctx.user.id) is not None
        buttons = [[Button(ctx._("📦 My products"), PRODUCTS)]] if registered else []
        buttons.append([Button(ctx._("🏠 Menu"), "/menu")])
        ctx.say(await self.text(ctx), title=ctx._("📅 Round deadlines"), buttons=buttons)

    async def handle(self, ctx: StepContext) -> None:
        choice = ctx.event.payload if ctx.event.kind == EventKind.BUTTON else ""
        if choice == PRODUCTS and await producer_of_user(ctx.session, ctx.user.id):
            await ctx.goto("products")
        else:
            await ctx.goto("menu")

    async def reprompt(self, ctx: StepContext) -> None:
        await self.start(ctx)

    def help(self, ctx: StepContext) -> str:
        return ctx._(
            "These are the evaluation rounds for your area and their deadlines. Ask again "
            "any time with /deadlines or by typing “hạn nộp”."
        )

    # -- the answer ---------------------------------------------------------------------------
    async def text(self, ctx: StepContext) -> str:
        """The rounds covering the producer, each with their products' state."""
        producer = await producer_of_user(ctx.session, ctx.user.id)
        if producer is None:
            return ctx._(
                "Evaluation rounds are announced for registered producers. Register your "
                "organisation first; then I can tell you the deadlines for your area."
            )
        rounds = await rounds_for_producer(ctx.session, producer, ctx.today)
        if not rounds:
            return ctx._(
                "No evaluation round has been announced for your area yet. The office will "
                "announce it; you can keep preparing your dossiers meanwhile."
            )
        products = await products_of(ctx.session, producer.id)
        blocks = []
        for round_ in rounds:
            lines = [round_line(ctx, round_)]
            if round_.level == RoundLevel.CENTRAL:
                lines.append(
                    ctx._(
                        "The province sends on to this round the products it finds of 5★ "
                        "potential; there is nothing to file for it here."
                    )
                )
            elif not products:
                lines.append(ctx._("You have no products yet: add one with ➕ New product."))
            else:
                for product in products:
                    lines.append(await self._product_line(ctx, product, round_))
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)

    async def _product_line(self, ctx: StepContext, product: Product, round_: Round) -> str:
        dossier = await current_dossier(ctx.session, product.id)
        state = await self._state(ctx, dossier, product, round_) if dossier else "—"
        return f"• {product.name}: {state}"

    async def _state(
        self, ctx: StepContext, dossier: Dossier, product: Product, round_: Round
    ) -> str:
        entry = await entry_of_dossier(ctx.session, dossier.id)
        if entry is not None and entry.round_id == round_.id:
            return ctx._("✅ submitted to this round")
        if entry is not None:
            other = await ctx.session.get_one(Round, entry.round_id)
            return ctx._("submitted to {round}").format(round=other.name)
        if dossier.status == DossierStatus.REJECTED:
            return ctx._("rejected by the officials")
        if dossier.status not in EDITABLE_DOSSIER:
            return ctx._("filed; the office adds it to a round")
        state = progress(dossier, product.product_set, await documents_of(ctx.session, dossier.id))
        locale = ctx.user.locale
        if state.sent_back:
            names = [line.requirement.name(locale) for line in state.lines if line.sent_back]
            return ctx._("⚠️ send again: {docs}").format(docs="; ".join(names))
        if state.missing_required:
            names = [line.requirement.name(locale) for line in state.missing_required]
            return ctx._("⬜ still missing to file: {docs}").format(docs="; ".join(names))
        if phase(round_, ctx.today) is RoundPhase.OPEN:
            return ctx._("📨 ready: you can submit it now")
        return ctx._("📨 ready: submit it when the round opens")
