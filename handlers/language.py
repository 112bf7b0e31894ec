"""Choosing the language: asked at the first contact and from the menu (see language.mmd).

The first screen also offers "I have a join code", so a colleague of a registered producer is
not pushed into registering (they join in the language their platform reports). Opened from
the settings (``back``), a choice returns there; otherwise to the menu.
"""

from __future__ import annotations

from bot.flow import StepContext
from bot.i18n import LOCALES, N_, translator
from bot.vocabulary import Button, EventKind
from storage.text import fold

__all__ = ["LanguageFlow"]

NAMES = {"vi": "🇻🇳 Tiếng Việt", "en": "🇬🇧 English"}
JOIN = "join"
TYPED = {"tieng viet": "vi", "viet": "vi", "vi": "vi", "english": "en", "en": "en", "anh": "en"}
QUESTION = N_("Which language would you like?")
JOIN_LABEL = N_("I have a join code")
RETURNS_TO = ("menu", "settings")  # where a later choice may go back to (``back``)


class LanguageFlow:
    """Asks for the language and stores it on the user."""

    name = "language"

    async def start(self, ctx: StepContext) -> None:
        """Asks in both languages (we may not know the user's yet)."""
        ctx.set_step("choose", flow=self.name)
        question = " / ".join(translator(loc).gettext(QUESTION) for loc in LOCALES)
        rows = [[Button(NAMES[loc], loc) for loc in LOCALES]]
        if ctx.user.locale is None:  # the very first screen
            join = " / ".join(translator(loc).gettext(JOIN_LABEL) for loc in LOCALES)
            rows.append([Button(f"🔑 {join}", JOIN)])
        ctx.say(question, buttons=rows)

    async def reprompt(self, ctx: StepContext) -> None:
        await self.start(ctx)

    def help(self, ctx: StepContext) -> str:
        return ctx._("Tap the language you want me to use.")

    async def handle(self, ctx: StepContext) -> None:
        """Stores the choice; a new user goes on to registration."""
        event = ctx.event
        if event.kind == EventKind.BUTTON and event.payload == JOIN:
            await ctx.goto("join")  # in the language the platform reports
            return
        chosen = event.payload if event.kind == EventKind.BUTTON else TYPED.get(fold(event.text))
        if chosen not in LOCALES:
            await self.start(ctx)
            return
        first_time = ctx.user.locale is None
        ctx.user.locale = chosen
        ctx.say(
            ctx._("I will speak English with you.")
            if chosen == "en"
            else ctx._("I will speak Vietnamese with you.")
        )
        if first_time:
            ctx.say(
                ctx._(
                    "Welcome to OCOP Bot! I help producers join the OCOP programme: register "
                    "your organisation and products, send your dossier, and follow the results."
                )
            )
            await ctx.goto("registration")
        else:
            back = ctx.data.get("back")
            await ctx.goto(back if back in RETURNS_TO else "menu")
