"""Several people for one producer: an invitation code from the bot, and joining with it.

See members.mmd. A registered member asks for a code and passes it on; the colleague opens the
bot, taps "I have a join code" and types it. A code works once, within its validity.
"""

from __future__ import annotations

from datetime import timedelta

from bot.flow import StepContext
from bot.i18n import N_
from bot.vocabulary import Button, EventKind
from handlers.access import producer_or_redirect
from storage.members import JoinRefused, create_join_code, redeem_join_code

__all__ = ["CODE_VALIDITY", "InviteFlow", "JoinFlow"]

CODE_VALIDITY = timedelta(hours=48)
BACK = "back"

REFUSALS = {
    JoinRefused.UNKNOWN: N_("That code is not right. Please check it with your colleague."),
    JoinRefused.USED: N_("That code was already used. Please ask your colleague for a new one."),
    JoinRefused.EXPIRED: N_("That code has expired. Please ask your colleague for a new one."),
    JoinRefused.ALREADY_MEMBER: N_("You already speak for an organisation."),
}


class InviteFlow:
    """Gives a registered member a one-time code for a colleague."""

    name = "invite"

    async def start(self, ctx: StepContext) -> None:
        """Creates a code and explains how to use it."""
        producer = await producer_or_redirect(ctx)
        if producer is None:
            return
        code = await create_join_code(ctx.session, producer.id, ctx.user.id, CODE_VALIDITY)
        ctx.set_step("shown", flow=self.name)
        ctx.say(
            ctx._(
                "Give this code to your colleague: {code}\n\nThey open this bot, choose "
                "“I have a join code” and type it. Then they see and manage the products of "
                "{name} with you. The code works once, within {hours} hours."
            ).format(
                code=f"{code[:4]}-{code[4:]}",
                name=producer.name,
                hours=int(CODE_VALIDITY.total_seconds() // 3600),
            ),
            title=ctx._("Invite a colleague"),
            buttons=[[Button(ctx._("🏠 Menu"), "/menu")]],
        )

    async def reprompt(self, ctx: StepContext) -> None:
        await ctx.goto("menu")

    def help(self, ctx: StepContext) -> str:
        return ctx._("Pass the code on to your colleague; it works once.")

    async def handle(self, ctx: StepContext) -> None:
        await ctx.goto("menu")


class JoinFlow:
    """A person without an organisation joins one with a code."""

    name = "join"

    async def start(self, ctx: StepContext) -> None:
        """Asks for the code."""
        ctx.set_step("code", flow=self.name)
        ctx.say(
            ctx._("Type the join code your colleague got from the bot (8 letters and digits)."),
            buttons=[[Button(ctx._("⬅️ Back"), BACK)]],
        )

    async def reprompt(self, ctx: StepContext) -> None:
        await self.start(ctx)

    def help(self, ctx: StepContext) -> str:
        return ctx._(
            "A colleague who already registered your organisation can get a join code from the "
            "bot's menu (“Invite a colleague”). Type that code here."
        )

    async def handle(self, ctx: StepContext) -> None:
        """Checks the code and joins, or says why not."""
        event = ctx.event
        if event.kind == EventKind.BUTTON and event.payload == BACK:
            await ctx.goto("menu")
            return
        if event.kind != EventKind.TEXT or not event.text.strip():
            await self.start(ctx)
            return
        result = await redeem_join_code(ctx.session, event.text, ctx.user.id)
        if isinstance(result, JoinRefused):
            ctx.say(ctx._(REFUSALS[result]))
            if result == JoinRefused.ALREADY_MEMBER:
                await ctx.goto("menu")
            else:
                await self.start(ctx)
            return
        ctx.say(ctx._("Welcome! You now speak for {name}.").format(name=result.name))
        await ctx.goto("menu")
