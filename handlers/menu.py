"""The main menu: what a producer can do from here (see menu.mmd).

Only features that exist appear. People without an organisation see "Register my organisation"
and "I have a join code"; registered producers see their products, profile and invitations, and,
once they have a product, "Estimate my stars". Everyone has "Settings" (language, and whether
announcements reach them) and "Help".
"""

from __future__ import annotations

from bot.flow import StepContext
from bot.vocabulary import Button, EventKind
from storage.dossiers import products_of
from storage.producers import producer_of_user

__all__ = ["MenuFlow"]

REGISTER, JOIN, LANGUAGE, HELP = "register", "join", "language", "help"
PRODUCTS, NEW_PRODUCT, PROFILE, INVITE = "products", "new_product", "profile", "invite"
ESTIMATE = "estimate"
RESULTS = "results"
DEADLINES = "deadlines"
SETTINGS = "settings"


class MenuFlow:
    """Shows the main menu and routes the choice."""

    name = "menu"

    async def start(self, ctx: StepContext) -> None:
        """Shows the menu."""
        ctx.set_step("main", flow=self.name)
        producer = await producer_of_user(ctx.session, ctx.user.id)
        if producer is None:
            text = ctx._("What would you like to do? Start by registering your organisation.")
            rows = [
                [Button(ctx._("📝 Register my organisation"), REGISTER)],
                [Button(ctx._("🔑 I have a join code"), JOIN)],
            ]
        else:
            text = ctx._("{name} · main menu. What would you like to do?").format(
                name=producer.name
            )
            rows = [
                [
                    Button(ctx._("📦 My products"), PRODUCTS),
                    Button(ctx._("➕ New product"), NEW_PRODUCT),
                ],
                [
                    Button(ctx._("📅 Round deadlines"), DEADLINES),
                    Button(ctx._("🏅 My results"), RESULTS),
                ],
                [Button(ctx._("👤 My profile"), PROFILE)],
                [Button(ctx._("👥 Invite a member to work on the dossier"), INVITE)],
            ]
            if await products_of(ctx.session, producer.id):
                rows.insert(2, [Button(ctx._("⭐ Estimate my stars"), ESTIMATE)])
        rows.append([Button(ctx._("⚙️ Settings"), SETTINGS), Button(ctx._("❓ Help"), HELP)])
        ctx.say(text, title=ctx._("Main menu"), buttons=rows)

    async def reprompt(self, ctx: StepContext) -> None:
        await self.start(ctx)

    def help(self, ctx: StepContext) -> str:
        return ctx._(
            "This is the main menu. Tap a button to choose. You can also type /menu at any time "
            "to come back here, /language to change the language, /mute to stop the office's "
            "announcements, /cancel to stop what you are doing."
        )

    async def handle(self, ctx: StepContext) -> None:
        """Opens the chosen entry."""
        choice = ctx.event.payload if ctx.event.kind == EventKind.BUTTON else ""
        registered = await producer_of_user(ctx.session, ctx.user.id) is not None
        targets = (
            {
                PRODUCTS: "products",
                NEW_PRODUCT: "product_new",
                PROFILE: "profile",
                INVITE: "invite",
                ESTIMATE: "estimate",
                RESULTS: "results",
                DEADLINES: "deadlines",
            }
            if registered
            else {REGISTER: "registration", JOIN: "join"}
        )
        if choice in targets:
            await ctx.goto(targets[choice])
        elif choice == SETTINGS:
            await ctx.goto("settings")
        elif choice == LANGUAGE:  # the menu's button before Settings replaced it
            await ctx.goto("language")
        elif choice == HELP:
            ctx.say(self.help(ctx))
            await self.start(ctx)
        else:
            ctx.say(ctx._("Please choose from the menu below."))
            await self.start(ctx)
