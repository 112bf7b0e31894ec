"""Several people for one producer: an invitation code from the bot, and joining with it.

See members.mmd. A registered member asks for a code and passes it on (or the link that carries
it, where the channel has one: ``t.me/<bot>?start=<code>`` arrives as ``/start <code>``); the
colleague taps "I have a join code" (offered from the very first screen) and types it, or just
opens the link. A code works once, within its validity; the limits on wrong tries are in
``storage/members.py``. The code is a secret: the transcript never shows it, in or out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta

from bot.flow import StepContext
from bot.i18n import N_, translator
from bot.vocabulary import Button, EventKind
from handlers.access import producer_or_redirect
from storage.members import (
    JoinRefused,
    create_join_code,
    format_code,
    redeem_join_code,
    retry_in,
)

__all__ = ["CODE_VALIDITY", "InviteFlow", "JoinFlow", "speak_platform_language"]

CODE_VALIDITY = timedelta(hours=48)
BACK = "back"

REFUSALS = {
    JoinRefused.MALFORMED: N_(
        "That is not a join code: a code has 12 letters and digits, like ABCD-EFGH-JKMN."
    ),
    JoinRefused.UNKNOWN: N_("That code is not right. Please check it with your colleague."),
    JoinRefused.USED: N_("That code was already used. Please ask your colleague for a new one."),
    JoinRefused.EXPIRED: N_("That code has expired. Please ask your colleague for a new one."),
    JoinRefused.REVOKED: N_(
        "That code no longer works (a newer one replaced it, or it was tried wrongly too "
        "often). Please ask your colleague for a new one."
    ),
    JoinRefused.ALREADY_MEMBER: N_("This account is already linked to an OCOP producer."),
}


class InviteFlow:
    """Gives a registered member a one-time code for a colleague (and a link to it)."""

    name = "invite"

    def __init__(self, links: Mapping[str, str] | None = None) -> None:
        # Per channel, a link that opens the bot with the code ("…?start={code}").
        self.links = dict(links or {})

    async def start(self, ctx: StepContext) -> None:
        """Creates a code (revoking the previous one) and explains how to use it."""
        producer = await producer_or_redirect(ctx)
        if producer is None:
            return
        code = await create_join_code(
            ctx.session, producer.id, ctx.user.id, CODE_VALIDITY, clock=ctx.clock
        )
        ctx.set_step("shown", flow=self.name)
        shown = format_code(code)
        text = ctx._(
            "Give this code to your colleague: {code}\n\nThey open this bot, choose "
            "“I have a join code” and type it. Then they see and manage the products of "
            "{name} with you. The code works once, within {hours} hours; a new code "
            "replaces this one."
        ).format(code=shown, name=producer.name, hours=int(CODE_VALIDITY.total_seconds() // 3600))
        template = self.links.get(ctx.event.channel)
        if template:
            text += "\n\n" + ctx._(
                "Or send them this link: it opens the bot and enters the code for them.\n{link}"
            ).format(link=template.format(code=code))
        ctx.say(
            text,
            title=ctx._("Invite a member to work on the dossier"),
            buttons=[[Button(ctx._("🏠 Menu"), "/menu")]],
            secrets=[shown, code],
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
        speak_platform_language(ctx)
        ctx.set_step("code", flow=self.name)
        ctx.say(
            ctx._(
                "Type the join code your colleague got from the bot "
                "(12 letters and digits, like ABCD-EFGH-JKMN)."
            ),
            buttons=[[Button(ctx._("⬅️ Back"), BACK)]],
        )

    async def reprompt(self, ctx: StepContext) -> None:
        await self.start(ctx)

    def takes_free_text(self, _ctx: StepContext) -> bool:
        """The code is typed (dispatch asks before taking a phrase for a shortcut)."""
        return True

    def help(self, ctx: StepContext) -> str:
        return ctx._(
            "A colleague who already registered your organisation can get a join code from the "
            "bot's menu (“Invite a member to work on the dossier”). Type that code here."
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
        await self.redeem(ctx, event.text)

    async def redeem(self, ctx: StepContext, typed: str) -> None:
        """Joins with ``typed`` (typed here, or from a link: ``/start <code>``)."""
        speak_platform_language(ctx)
        ctx.conceal_input = True  # whatever was typed may be a code: never stored plain
        result = await redeem_join_code(ctx.session, typed, ctx.user.id, clock=ctx.clock)
        if result == JoinRefused.TOO_MANY:
            wait = await retry_in(ctx.session, ctx.user.id, clock=ctx.clock)
            ctx.say(
                ctx._(
                    "Too many wrong codes. Please check the code with your colleague and try "
                    "again in {minutes} minutes."
                ).format(minutes=max(1, math.ceil(wait.total_seconds() / 60)))
            )
            await ctx.goto("menu")
            return
        if isinstance(result, JoinRefused):
            ctx.say(ctx._(REFUSALS[result]))
            if result == JoinRefused.ALREADY_MEMBER:
                await ctx.goto("menu")
            else:
                await self.start(ctx)
            return
        ctx.say(
            ctx._("Welcome! You now help manage the OCOP dossiers of {name}.").format(
                name=result.name
            )
        )
        await ctx.goto("menu")


def speak_platform_language(ctx: StepContext) -> None:
    """A person may join (or link a chat) before choosing a language (from the first screen,
    a link, a chat's first message): they are answered in the language their platform
    reports."""
    if ctx.user.locale is None:
        ctx.user.locale = translator(ctx.event.locale_hint).locale
