"""An official links this chat to their console account, to hear of events in their area.

The console shows a one-time code (``storage/official_chats.py``); the official sends
``/official <code>`` here, or opens the link ``t.me/<bot>?start=o-<code>`` (it arrives as
``/start o-<code>``). The answer is in the official's language (the one of their console
account); wrong codes are answered as join codes are, and count against the same limit. The
code is a secret: the transcript never shows it.
"""

from __future__ import annotations

import math

from bot.flow import StepContext
from bot.i18n import N_, translator
from storage.members import JoinRefused, retry_in
from storage.official_chats import LINK_PREFIX, redeem_link_code

__all__ = ["OfficialLinkFlow"]

REFUSALS = {
    JoinRefused.MALFORMED: N_(
        "That is not a linking code: send /official followed by the 12 letters and digits "
        "shown on your account page in the console, like /official ABCD-EFGH-JKMN."
    ),
    JoinRefused.UNKNOWN: N_(
        "That linking code is not right. Please check it on your account page in the console."
    ),
    JoinRefused.USED: N_(
        "That linking code was already used. Please show a new one on your account page in "
        "the console."
    ),
    JoinRefused.EXPIRED: N_(
        "That linking code has expired. Please show a new one on your account page in the console."
    ),
    JoinRefused.REVOKED: N_(
        "That linking code no longer works. Please show a new one on your account page in the "
        "console."
    ),
}


class OfficialLinkFlow:
    """Not a conversation: ``/official <code>`` and ``/start o-<code>`` link the chat at once,
    from any step, and the chat goes on where it was."""

    name = "official_link"

    async def start(self, ctx: StepContext) -> None:
        await ctx.goto("menu")

    async def reprompt(self, ctx: StepContext) -> None:
        await ctx.goto("menu")

    def help(self, ctx: StepContext) -> str:
        return ""

    async def handle(self, ctx: StepContext) -> None:
        await ctx.goto("menu")

    async def redeem(self, ctx: StepContext, typed: str) -> None:
        """Links the chat with ``typed`` (the code, with or without the link's prefix)."""
        ctx.conceal_input = True  # whatever was typed may be a code: never stored plain
        if ctx.user.locale is None:
            ctx.user.locale = translator(ctx.event.locale_hint).locale
        code = typed.strip().removeprefix(LINK_PREFIX)
        result = await redeem_link_code(
            ctx.session,
            code,
            user_id=ctx.user.id,
            channel=ctx.event.channel,
            chat_id=ctx.event.chat_id,
            clock=ctx.clock,
        )
        if result == JoinRefused.TOO_MANY:
            wait = await retry_in(ctx.session, ctx.user.id, clock=ctx.clock)
            ctx.say(
                ctx._(
                    "Too many wrong codes. Please check the code and try again in {minutes} "
                    "minutes."
                ).format(minutes=max(1, math.ceil(wait.total_seconds() / 60)))
            )
            return
        if isinstance(result, JoinRefused):
            ctx.say(ctx._(REFUSALS.get(result, REFUSALS[JoinRefused.UNKNOWN])))
            return
        t = translator(result.locale)
        ctx.say(
            t.gettext(
                "✅ This chat is linked to the console account of {name}. You will get "
                "notifications about registrations, dossiers and questions in your area here. "
                "Change how often on your account page in the console."
            ).format(name=result.display_name)
        )
