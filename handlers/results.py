"""A producer's evaluation results (see results.mmd): ``/results``, the menu's "My results", or
typing "kết quả" / "ket qua" / "results" at any step.

Per product: the round of its latest dossier, then the score and stars once the round's
results are published ("not yet published" before; "not yet submitted" without a round), and
each certificate with its number, issue and expiry dates — or that it expired, or was revoked,
when and on which ground.
"""

from __future__ import annotations

import re
from datetime import date

from bot.flow import StepContext
from bot.i18n import Translator
from bot.results_notify import GROUNDS, entry_outcome, score_text, stars_text
from bot.vocabulary import Button, EventKind
from handlers.access import producer_or_redirect
from storage.certificates import (
    CertificateState,
    ProductResult,
    certificate_state,
    results_of_producer,
)
from storage.models import Certificate
from storage.states import EntryStatus
from storage.text import fold

__all__ = ["ResultsFlow", "asks_for_results"]

MENU = "menu"
# What a producer types to see their results (folded), as the whole message.
RESULTS_PHRASES = (
    "ket qua",
    "xem ket qua",
    "ket qua cua toi",
    "ket qua danh gia",
    "ket qua cham diem",
    "results",
    "my results",
    "result",
)
_WORDS = re.compile(r"[^\w]+")
MESSAGE_LIMIT = 3500  # characters in one message (Telegram takes 4,096)


def asks_for_results(text: str) -> bool:
    """Whether a typed message asks for the results (with or without diacritics)."""
    words = " ".join(_WORDS.sub(" ", fold(text)).split())
    return words in RESULTS_PHRASES


def _certificate_lines(t: Translator, certificate: Certificate, today_state: str) -> list[str]:
    lines = [
        t.gettext("Certificate {number}, {stars}").format(
            number=certificate.number, stars=stars_text(certificate.stars)
        ),
        t.gettext("issued on {issued}, valid until {expires}").format(
            issued=t.date(certificate.issued_on), expires=t.date(certificate.expires_on)
        ),
    ]
    if today_state == CertificateState.REVOKED and certificate.revoked_on is not None:
        ground = GROUNDS.get(certificate.revoked_ground or "", "")
        lines.append(
            t.gettext("⛔ Revoked on {day}: {ground}. {reason}").format(
                day=t.date(certificate.revoked_on),
                ground=t.gettext(ground) if ground else "—",
                reason=certificate.revoked_reason or "",
            )
        )
    elif today_state == CertificateState.EXPIRED:
        lines.append(t.gettext("⌛ Expired."))
    return lines


def describe(t: Translator, result: ProductResult, today: date) -> str:
    """One product's block of the results message."""
    lines = [f"📦 {result.product.name}"]
    entry, round_ = result.entry, result.round
    if entry is None or round_ is None:
        lines.append(t.gettext("Not yet submitted to an evaluation round."))
    elif entry.status != EntryStatus.PUBLISHED:
        lines.append(t.gettext("{round}: results not yet published.").format(round=round_.name))
    else:
        lines.append(
            t.gettext("{round}: score {score}, {stars}.").format(
                round=round_.name, score=score_text(t, entry.score), stars=stars_text(entry.stars)
            )
        )
        if not result.certificates:
            lines.append(entry_outcome(t, entry))
    for certificate in result.certificates:
        lines.extend(_certificate_lines(t, certificate, certificate_state(certificate, today)))
    return "\n".join(lines)


class ResultsFlow:
    """Shows the producer's results, then offers the menu."""

    name = "results"

    def wants_results(self, text: str) -> bool:
        """Whether a message typed at any step asks for the results (dispatch asks)."""
        return asks_for_results(text)

    async def start(self, ctx: StepContext) -> None:
        producer = await producer_or_redirect(ctx)
        if producer is None:
            return
        ctx.set_step("shown", flow=self.name)
        results = await results_of_producer(ctx.session, producer.id)
        buttons = [[Button(ctx._("🏠 Menu"), MENU)]]
        if not results:
            ctx.say(
                ctx._("You have no products yet. Add a product, file its dossier, and its "
                      "results will show here."),
                title=ctx._("My results"),
                buttons=buttons,
            )  # fmt: skip
            return
        blocks = [describe(ctx.t, result, ctx.today) for result in results]
        messages: list[list[str]] = [[]]
        for block in blocks:
            if messages[-1] and sum(len(b) + 2 for b in messages[-1]) + len(block) > MESSAGE_LIMIT:
                messages.append([])
            messages[-1].append(block)
        for i, chunk in enumerate(messages):
            last = i == len(messages) - 1
            ctx.say(
                "\n\n".join(chunk),
                title=ctx._("My results") if i == 0 else "",
                buttons=buttons if last else None,
            )

    async def reprompt(self, ctx: StepContext) -> None:
        await self.start(ctx)

    def help(self, ctx: StepContext) -> str:
        return ctx._(
            "Here are the evaluation results of your products and their certificates. "
            "Type /results to see them again, /menu for the main menu."
        )

    async def handle(self, ctx: StepContext) -> None:
        if ctx.event.kind == EventKind.TEXT and asks_for_results(ctx.event.text):
            await self.start(ctx)
            return
        await ctx.goto("menu")
