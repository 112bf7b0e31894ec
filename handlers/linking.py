"""One person on several apps: linking a chat on another app (Telegram, Zalo) to this one, and
the person's linked apps (see linking.mmd).

``/link`` (or "liên kết" / "lien ket" / "link" typed as the whole message) gives a 6-digit code
and says what to send on the other app: ``/link 123456`` (or "lien ket 123456", at any step;
at the code's own step the digits alone). That chat then becomes this person's: both are told,
the one that typed it in its reply, the other by a notification. ⚙️ Settings → "Linked apps"
lists the person's chats by app, with a way to unlink one (it gets a fresh person of its own;
the last chat is never unlinked). Rules and limits are ``storage/links.py``'s; each refusal
says why and what to do. The code is a secret: the transcript never shows it, in or out.

``/link`` in the middle of another conversation gives the code and asks that question again;
a chat that was linked starts from the menu, as its person changed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from bot.channels.names import channel_name
from bot.flow import StepContext
from bot.i18n import N_, Translator
from bot.notify import notify_user
from bot.validators import parse_id
from bot.vocabulary import Button, EventKind, Reply
from handlers.members import speak_platform_language
from storage.clock import LOCAL_TIMEZONE
from storage.links import (
    LINK_CODE_VALIDITY,
    LinkRefused,
    UnlinkRefused,
    chats_of,
    create_link_code,
    normalise_link_code,
    redeem_link_code,
    unlink_chat,
)
from storage.members import retry_in
from storage.models import ChannelIdentity
from storage.text import fold

__all__ = ["LinkFlow"]

CODE, APPS, CONFIRM = "code", "apps", "confirm"  # steps
NEW_CODE, SHOW_APPS, BACK, YES, NO = "new_code", "apps", "back", "yes", "no"
UNLINK = "unlink:"  # + the chat's identity id
STAY_IN = ("", "menu", "settings", "link")  # from these, /link opens this flow
WORDS = ("lien ket", "lien ket tai khoan", "lien ket ung dung", "link", "link account")
_TYPED_CODE = re.compile(r"^(?:lien ket|link)(?: ma)? ([0-9][0-9 ]*)$")
MINUTES = int(LINK_CODE_VALIDITY.total_seconds() // 60)

REFUSALS = {
    LinkRefused.MALFORMED: N_(
        "That is not a linking code: a code has 6 digits. Send /link on the app where you "
        "already use OCOP Bot to get one, then send it here like this: /link 123456"
    ),
    LinkRefused.UNKNOWN: N_(
        "That linking code is not right. Please check the 6 digits on your other app, or "
        "send /link there for a new code."
    ),
    LinkRefused.USED: N_(
        "That linking code was already used. Send /link on your other app to get a new one."
    ),
    LinkRefused.EXPIRED: N_(
        "That linking code no longer works: a code works for 15 minutes, and a newer one "
        "replaces it. Send /link on your other app to get a new one."
    ),
    LinkRefused.SAME_CHAT: N_(
        "This code was made in this chat, so it cannot link it. Send it from the chat with "
        "OCOP Bot on your other app (Telegram or Zalo): /link followed by the code."
    ),
    LinkRefused.ALREADY_LINKED: N_(
        "These two chats are already linked: they share your registration and "
        "notifications. ⚙️ Settings → 🔗 Linked apps shows them."
    ),
    LinkRefused.THIS_CHAT_REGISTERED: N_(
        "This chat already has its own OCOP registration, so it cannot join the account of "
        "another app. Do it the other way round: send /link here, then send the code you get "
        "from the chat on your other app."
    ),
    LinkRefused.BOTH_REGISTERED: N_(
        "Both chats have their own OCOP registration, so they cannot be linked here: two "
        "registrations are joined by the commune OCOP officer. Please ask them (you can send "
        "“gặp cán bộ” to leave them a question)."
    ),
}
LINKED_THERE = N_(
    "🔗 Your {channel} chat is now linked to this account: it shares your registration, "
    "products and notifications. To unlink it: ⚙️ Settings → 🔗 Linked apps."
)
UNLINKED_THERE = N_(
    "This chat is no longer linked to your other OCOP Bot chats: it is an account of its own "
    "now, without their registration. Send /menu to start, or /link to link it again."
)
LEFT_THERE = N_("Your {channel} chat was unlinked: it no longer belongs to this account.")


def typed_code(text: str) -> str | None:
    """The code of a typed "liên kết 123456" / "lien ket 123 456" / "link 123456", if any."""
    found = _TYPED_CODE.match(fold(text))
    return found.group(1).replace(" ", "") if found else None


class LinkFlow:
    """Codes that link another app's chat to this person, and the person's linked apps."""

    name = "link"

    # -- from anywhere (bot/dispatch.py) ------------------------------------------------------
    def typed_command(self, text: str) -> str | None:
        """A typed code ("lien ket 123456") as the command it stands for ("link 123456")."""
        code = typed_code(text)
        return None if code is None else f"{self.name} {code}"

    def wants_a_code(self, text: str) -> bool:
        """Whether a message typed as a whole asks for a linking code ("liên kết")."""
        return fold(text) in WORDS

    async def command(self, ctx: StepContext, argument: str) -> None:
        """``/link``: a code for this chat; ``/link <code>``: link this chat with it."""
        if argument:
            await self.redeem(ctx, argument)
        else:
            await self.offer(ctx)

    async def offer(self, ctx: StepContext) -> None:
        """A new code, with what to send on the other app; a conversation in progress goes on
        (its question asked again)."""
        speak_platform_language(ctx)
        if ctx.conversation.flow in STAY_IN or ctx.conversation.flow not in ctx.flows:
            await ctx.goto(self.name, make_code=True)
            return
        await self._show_code(ctx, buttons=False)
        await ctx.flows[ctx.conversation.flow].reprompt(ctx)

    async def redeem(self, ctx: StepContext, typed: str) -> None:
        """Links this chat with the code ``typed`` on another chat, or says why not."""
        ctx.conceal_input = True  # whatever was typed may be a code: never stored plain
        speak_platform_language(ctx)
        result = await redeem_link_code(
            ctx.session,
            typed,
            user_id=ctx.user.id,
            channel=ctx.event.channel,
            chat_id=ctx.event.chat_id,
            clock=ctx.clock,
        )
        if isinstance(result, LinkRefused):
            await self._refused(ctx, result)
            return
        ctx.user = result.user  # this chat's person from now on
        here = channel_name(ctx.event.channel)
        others = [c for c in await chats_of(ctx.session, ctx.user.id) if not _is_here(ctx, c)]
        ctx.say(
            ctx._(
                "✅ Linked: this {channel} chat and your chat on {others} are now one account. "
                "Your registration, products and notifications are shared, and you can go on "
                "in either app. To unlink a chat: ⚙️ Settings → 🔗 Linked apps."
            ).format(channel=here, others=", ".join(channel_name(c.channel) for c in others))
        )
        await notify_user(
            ctx.session,
            ctx.user.id,
            lambda t: Reply(text=t.gettext(LINKED_THERE).format(channel=here)),
            besides=ctx.event.key,
        )
        await ctx.goto("menu")

    # -- the flow -----------------------------------------------------------------------------
    async def start(self, ctx: StepContext) -> None:
        """The person's linked apps (or, asked with ``make_code``, a new code)."""
        if ctx.data.pop("make_code", False):
            ctx.set_step(CODE, flow=self.name)
            await self._show_code(ctx, buttons=True)
            return
        ctx.set_step(APPS, flow=self.name)
        chats = await chats_of(ctx.session, ctx.user.id)
        lines = "\n".join(f"{i}. {self._describe(ctx, chat)}" for i, chat in enumerate(chats, 1))
        rows = []
        if len(chats) > 1:
            text = ctx._(
                "Your chats with OCOP Bot:\n{chats}\n\nThey are one account: your "
                "registration, products and notifications are shared. Unlinking a chat makes "
                "it an account of its own."
            ).format(chats=lines)
            rows = [
                [
                    Button(
                        ctx._("✂️ Unlink {number}. {channel}").format(
                            number=i, channel=channel_name(chat.channel)
                        ),
                        f"{UNLINK}{chat.id}",
                    )
                ]
                for i, chat in enumerate(chats, 1)
            ]
        else:
            text = ctx._(
                "Your chats with OCOP Bot:\n{chats}\n\nTo use OCOP Bot on another app too "
                "(Telegram, Zalo) with the same registration, tap “Link another app” or send "
                "/link."
            ).format(chats=lines)
        rows.append([Button(ctx._("➕ Link another app"), NEW_CODE)])
        rows.append([Button(ctx._("⬅️ Back"), BACK)])
        ctx.say(text, title=ctx._("🔗 Linked apps"), buttons=rows)

    async def handle(self, ctx: StepContext) -> None:
        event = ctx.event
        choice = event.payload if event.kind == EventKind.BUTTON else ""
        if (
            ctx.step == CODE
            and event.kind == EventKind.TEXT
            and normalise_link_code(event.text) is not None  # a code from the other app
        ):
            await self.redeem(ctx, event.text)
            return
        if choice == NEW_CODE:
            await ctx.goto(self.name, make_code=True)
        elif choice == SHOW_APPS:
            await ctx.goto(self.name)
        elif choice == BACK:
            await ctx.goto("settings")
        elif ctx.step == APPS and choice.startswith(UNLINK):
            await self._ask_to_unlink(ctx, parse_id(choice.removeprefix(UNLINK)) or 0)
        elif ctx.step == CONFIRM and choice == YES:
            await self._unlink(ctx, int(ctx.data.get("unlink") or 0))
        elif ctx.step == CODE:
            await self.reprompt(ctx)
        else:
            await self.start(ctx)

    async def reprompt(self, ctx: StepContext) -> None:
        if ctx.step == CODE:
            ctx.say(
                ctx._(
                    "On your other app, send /link followed by the code I gave you above. If "
                    "your other app gave you a code, type its 6 digits here. /link gives a new "
                    "code."
                ),
                buttons=[
                    [Button(ctx._("🔗 Linked apps"), SHOW_APPS)],
                    [Button(ctx._("🏠 Menu"), "/menu")],
                ],
            )
        elif ctx.step == CONFIRM:
            await self._ask_to_unlink(ctx, int(ctx.data.get("unlink") or 0))
        else:
            await self.start(ctx)

    def takes_free_text(self, ctx: StepContext) -> bool:
        """At the code's step, digits typed are a code from the other app."""
        return ctx.step == CODE

    def help(self, ctx: StepContext) -> str:
        return ctx._(
            "Linking lets you use OCOP Bot on several apps (Telegram, Zalo) with one "
            "registration: send /link in one app, then /link and the code in the other."
        )

    # -- steps --------------------------------------------------------------------------------
    async def _show_code(self, ctx: StepContext, *, buttons: bool) -> None:
        code = await create_link_code(
            ctx.session,
            ctx.user.id,
            channel=ctx.event.channel,
            chat_id=ctx.event.chat_id,
            clock=ctx.clock,
        )
        text = ctx._(
            "To use OCOP Bot on another app too — Telegram, Zalo — with the same "
            "registration, open OCOP Bot there and send:\n\n/link {code}\n\nThe code works "
            "once, within {minutes} minutes; asking again replaces it."
        ).format(code=code, minutes=MINUTES)
        rows = []
        if buttons:
            text += "\n\n" + ctx._("If your other app gave you a code, type its 6 digits here.")
            rows = [
                [Button(ctx._("🔗 Linked apps"), SHOW_APPS)],
                [Button(ctx._("🏠 Menu"), "/menu")],
            ]
        ctx.say(text, title=ctx._("🔗 Link another app"), buttons=rows, secrets=[code])

    async def _refused(self, ctx: StepContext, why: LinkRefused) -> None:
        """Says why, then the question the chat was at (or the menu)."""
        if why == LinkRefused.TOO_MANY:
            wait = await retry_in(ctx.session, ctx.user.id, clock=ctx.clock)
            ctx.say(
                ctx._(
                    "Too many wrong codes. Please check the code on your other app and try "
                    "again in {minutes} minutes."
                ).format(minutes=max(1, math.ceil(wait.total_seconds() / 60)))
            )
        else:
            ctx.say(ctx._(REFUSALS[why]))
        current = ctx.conversation.flow
        if current == self.name and ctx.step == CODE:
            return  # another code may be typed here
        if current in STAY_IN or current not in ctx.flows:
            await ctx.goto("menu")
        else:
            await ctx.flows[current].reprompt(ctx)

    def _describe(self, ctx: StepContext, chat: ChannelIdentity) -> str:
        name = channel_name(chat.channel)
        if _is_here(ctx, chat):
            return ctx._("{channel} — this chat").format(channel=name)
        if chat.last_inbound_at is None:
            return name
        return ctx._("{channel} — last message {day}").format(
            channel=name, day=ctx.t.date(chat.last_inbound_at.astimezone(LOCAL_TIMEZONE).date())
        )

    async def _ask_to_unlink(self, ctx: StepContext, identity_id: int) -> None:
        chats = await chats_of(ctx.session, ctx.user.id)
        found = [(i, c) for i, c in enumerate(chats, 1) if c.id == identity_id]
        if not found or len(chats) < 2:
            await self.start(ctx)
            return
        ((number, chat),) = found
        ctx.set_step(CONFIRM, flow=self.name)
        ctx.data["unlink"] = chat.id
        ctx.say(
            ctx._(
                "Unlink {number}. {channel}? That chat will no longer see your registration "
                "nor get its notifications; it becomes an account of its own. You can link it "
                "again with /link."
            ).format(number=number, channel=channel_name(chat.channel)),
            buttons=[
                [Button(ctx._("✂️ Yes, unlink it"), YES)],
                [Button(ctx._("⬅️ No, keep it"), NO)],
            ],
        )

    async def _unlink(self, ctx: StepContext, identity_id: int) -> None:
        chats = {c.id: c for c in await chats_of(ctx.session, ctx.user.id)}
        person = ctx.user
        result = await unlink_chat(
            ctx.session, person.id, identity_id, current=_here(ctx), clock=ctx.clock
        )
        if isinstance(result, UnlinkRefused):
            if result == UnlinkRefused.ONLY_CHAT:
                ctx.say(ctx._("This is your only chat with OCOP Bot: it stays linked."))
            await self.start(ctx)
            return
        chat = chats[identity_id]
        name = channel_name(chat.channel)
        if _is_here(ctx, chat):
            ctx.user = result
            await notify_user(ctx.session, person.id, _left_there(name), besides=ctx.event.key)
            ctx.say(ctx._(UNLINKED_THERE))
            await ctx.goto("menu")
            return
        await notify_user(ctx.session, result.id, lambda t: Reply(text=t.gettext(UNLINKED_THERE)))
        ctx.say(ctx._(LEFT_THERE).format(channel=name))
        await self.start(ctx)


def _left_there(channel: str) -> Callable[[Translator], Reply]:
    return lambda t: Reply(text=t.gettext(LEFT_THERE).format(channel=channel))


def _here(ctx: StepContext) -> tuple[str, str]:
    return (ctx.event.channel, ctx.event.chat_id)


def _is_here(ctx: StepContext, chat: ChannelIdentity) -> bool:
    return (chat.channel, chat.chat_id) == _here(ctx)
