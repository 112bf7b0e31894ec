"""What a producer's chat is told when a reminder falls due (``timer`` events, ``bot/timers.py``):
a certificate's re-rating window opening or closing, a round's deadline coming.

Each handler only speaks: the conversation stays where it was, so an open question still takes
the next answer. Texts come from the timer's payload and dates are shown in the user's language;
a reminder that arrives after its date (the bot was down) says nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from bot.flow import StepContext
from bot.i18n import N_
from bot.reminders import register_reminder_recipients
from bot.timers import register_timer_handler
from bot.vocabulary import Button
from storage.models import Product
from storage.states import TimerKind

__all__ = ["register_reminders"]

OPEN_PRODUCT = "/product"  # a global button: opens the product's dossier from anywhere
DEADLINES = "/deadlines"  # a global button: the open rounds and their deadlines
RERATING_TEXTS = {  # (title, text) of each re-rating reminder
    TimerKind.RERATING_OPENS: (
        N_("🔔 Re-rating window open"),
        N_(
            "The re-rating window of OCOP certificate {number} for {product} opens on {opens}. "
            "To keep the certificate, file a re-rating dossier at the UBND xã/phường between "
            "{opens} and {closes}. The certificate expires on {expires}."
        ),
    ),
    TimerKind.RERATING_CLOSING: (
        N_("⏳ Re-rating window closing"),
        N_(
            "The re-rating window of OCOP certificate {number} for {product} closes on {closes} "
            "({left}). If you have not filed yet, file a re-rating dossier at the UBND "
            "xã/phường before then. The certificate expires on {expires}."
        ),
    ),
}


def _date(payload: dict[str, Any], name: str) -> date | None:
    try:
        return date.fromisoformat(str(payload.get(name)))
    except ValueError:
        return None


def _days_left(ctx: StepContext, day: date) -> str:
    days = (day - ctx.today).days
    return ctx.t.ngettext("{n} day left", "{n} days left", days).format(n=days)


async def _product_name(ctx: StepContext, payload: dict[str, Any]) -> str:
    product_id = payload.get("product_id")
    name = None
    if isinstance(product_id, int):
        name = await ctx.session.scalar(
            select(Product.name).where(
                Product.id == product_id, Product.producer_id == payload.get("producer_id")
            )
        )
    return name or ctx._("your product")


def _open_product(ctx: StepContext, payload: dict[str, Any]) -> list[list[Button]]:
    product_id = payload.get("product_id")
    if not isinstance(product_id, int):
        return []
    return [[Button(ctx._("📦 Open the dossier"), f"{OPEN_PRODUCT} {product_id}")]]


async def _certificate_words(ctx: StepContext) -> dict[str, str] | None:
    """What a re-rating reminder's text names (None: the window closed already)."""
    payload = ctx.event.timer_payload
    opens, closes = _date(payload, "opens_on"), _date(payload, "closes_on")
    expires = _date(payload, "expires_on")
    if opens is None or closes is None or expires is None or closes < ctx.today:
        return None
    return {
        "number": str(payload.get("certificate_number", "")),
        "product": await _product_name(ctx, payload),
        "opens": ctx.t.date(opens),
        "closes": ctx.t.date(closes),
        "expires": ctx.t.date(expires),
        "left": _days_left(ctx, closes),
    }


async def rerating_reminder(ctx: StepContext) -> None:
    """A certificate's re-rating window opens today, or closes soon."""
    words = await _certificate_words(ctx)
    if words is None:
        return
    title, text = RERATING_TEXTS[TimerKind(ctx.event.timer_kind)]
    buttons = _open_product(ctx, ctx.event.timer_payload)
    ctx.say(ctx._(text).format(**words), title=ctx._(title), buttons=buttons)


async def deadline_reminder(ctx: StepContext) -> None:
    """A round's submission deadline is coming."""
    payload = ctx.event.timer_payload
    deadline = _date(payload, "deadline")
    if deadline is None or deadline < ctx.today:
        return
    text = ctx._(
        "{round} closes for dossiers on {deadline} ({left}). File your product's dossier "
        "before then."
    ).format(
        round=payload.get("round_name", ""),
        deadline=ctx.t.date(deadline),
        left=_days_left(ctx, deadline),
    )
    ctx.say(
        text,
        title=ctx._("⏰ Dossier deadline"),
        buttons=[[Button(ctx._("📅 Deadlines"), DEADLINES)]],
    )


def register_reminders() -> None:
    """The reminder kinds: who gets them (defaults in ``bot/reminders.py``), what they say."""
    register_reminder_recipients()
    for kind in RERATING_TEXTS:
        register_timer_handler(kind, rerating_reminder)
    register_timer_handler(TimerKind.DEADLINE_REMINDER, deadline_reminder)
