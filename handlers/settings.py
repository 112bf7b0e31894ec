"""A person's settings: their language, whether announcements reach them and their linked apps
(see settings.mmd).

Reached from the main menu's "⚙️ Settings". It shows the language, whether announcements
from the OCOP office are on and the apps the person uses the bot on, with one button to mute
announcements or receive them again, one to change the language, one for the linked apps
(``handlers/linking.py``) and one back to the menu.

Muting works at any step too: ``/mute`` and ``/unmute``, or typing "tắt thông báo" / "tat thong
bao" / "mute announcements" and "bật thông báo" / "bat thong bao" / "unmute announcements" as
the whole message. The answer says what changed (or that nothing had to); in the middle of
another conversation its question is asked again, from the menu the settings are shown. Muting
stops announcements only: deadline reminders, results and certificates, officials' decisions
and answers to the person's questions still come (``storage.announcements.mute``).
"""

from __future__ import annotations

import re

from bot.channels.names import channel_name
from bot.flow import StepContext
from bot.vocabulary import Button, EventKind
from handlers.language import NAMES
from storage.announcements import mute, unmute
from storage.clock import LOCAL_TIMEZONE
from storage.links import chats_of
from storage.text import fold

__all__ = ["SettingsFlow", "asks_to_mute", "asks_to_unmute"]

SHOWN = "shown"
MUTE, UNMUTE, LANGUAGE, LINKED = "mute", "unmute", "language", "linked"
STAY_IN = ("", "menu")  # from these, the answer shows the settings (with their buttons)
# What a person types to stop or restart announcements (folded), as the whole message.
MUTE_PHRASES = (
    "tat thong bao",
    "tat thong bao chung",
    "tat nhan thong bao",
    "ngung nhan thong bao",
    "khong nhan thong bao",
    "mute",
    "mute announcements",
)
UNMUTE_PHRASES = (
    "bat thong bao",
    "bat lai thong bao",
    "bat nhan thong bao",
    "nhan lai thong bao",
    "unmute",
    "unmute announcements",
)
_WORDS = re.compile(r"[^\w]+")


def _words(text: str) -> str:
    return " ".join(_WORDS.sub(" ", fold(text)).split())


def asks_to_mute(text: str) -> bool:
    """Whether a typed message asks to stop announcements (with or without diacritics)."""
    return _words(text) in MUTE_PHRASES


def asks_to_unmute(text: str) -> bool:
    """Whether a typed message asks to receive announcements again."""
    return _words(text) in UNMUTE_PHRASES


class SettingsFlow:
    """Shows the person's settings and mutes or unmutes announcements."""

    name = "settings"

    def wants_announcements_changed(self, text: str) -> bool:
        """Whether a message typed at any step mutes or unmutes announcements (dispatch asks)."""
        return asks_to_mute(text) or asks_to_unmute(text)

    async def offer(self, ctx: StepContext) -> None:
        """A typed "tắt thông báo" or "bật thông báo", from wherever the person is."""
        await self.set_muted(ctx, muted=not asks_to_unmute(ctx.event.text))

    async def set_muted(self, ctx: StepContext, *, muted: bool) -> None:
        """``/mute`` or ``/unmute``: says what happened, then the settings from the menu, else
        the current question again (a form in progress is not left)."""
        await self._change(ctx, muted=muted)
        current = ctx.conversation.flow
        flow = ctx.flows.get(current)
        if current in (*STAY_IN, self.name) or flow is None:
            await ctx.goto(self.name)
        else:
            await flow.reprompt(ctx)

    async def start(self, ctx: StepContext) -> None:
        ctx.set_step(SHOWN, flow=self.name)
        muted_at = ctx.user.announcements_muted_at
        if muted_at is None:
            state = ctx._("🔔 on")
            toggle = Button(ctx._("🔕 Mute announcements"), MUTE)
        else:
            state = ctx._("🔕 muted since {day}").format(
                day=ctx.t.date(muted_at.astimezone(LOCAL_TIMEZONE).date())
            )
            toggle = Button(ctx._("🔔 Receive announcements"), UNMUTE)
        text = ctx._(
            "Language: {language}\nAnnouncements from the OCOP office: {state}\n\n"
            "Deadlines, results and answers to your questions always reach you."
        ).format(language=NAMES.get(ctx.user.locale or "", "—"), state=state)
        apps = sorted({channel_name(c.channel) for c in await chats_of(ctx.session, ctx.user.id)})
        text += "\n\n" + ctx._("🔗 Linked apps: {apps}").format(apps=", ".join(apps))
        buttons = [
            [toggle],
            [Button(ctx._("🌐 Language"), LANGUAGE)],
            [Button(ctx._("🔗 Linked apps"), LINKED)],
            [Button(ctx._("⬅️ Back to the menu"), "/menu")],
        ]
        ctx.say(text, title=ctx._("⚙️ Settings"), buttons=buttons)

    async def handle(self, ctx: StepContext) -> None:
        event = ctx.event
        choice = event.payload if event.kind == EventKind.BUTTON else ""
        if choice == LANGUAGE:
            await ctx.goto("language", back=self.name)
        elif choice == LINKED:
            await ctx.goto("link")
        elif choice in (MUTE, UNMUTE):
            await self._change(ctx, muted=choice == MUTE)
            await self.start(ctx)
        elif event.kind == EventKind.TEXT and self.wants_announcements_changed(event.text):
            await self._change(ctx, muted=asks_to_mute(event.text))
            await self.start(ctx)
        else:
            await self.start(ctx)

    async def reprompt(self, ctx: StepContext) -> None:
        await self.start(ctx)

    def help(self, ctx: StepContext) -> str:
        return ctx._(
            "Here you choose your language and whether announcements from the OCOP office "
            "reach you, and see the apps you use OCOP Bot on. /mute, /unmute and /link work "
            "at any time too."
        )

    async def _change(self, ctx: StepContext, *, muted: bool) -> None:
        """Mutes or unmutes, and says what happened (or that it already was so)."""
        now = ctx.clock.now()
        if muted:
            if await mute(ctx.session, ctx.user.id, now):
                said = ctx._(
                    "You will no longer receive announcements from the OCOP office. "
                    "Deadlines, results and answers to your questions still reach you. "
                    "Send /unmute to receive them again."
                )
            else:
                said = ctx._(
                    "Announcements from the OCOP office are already muted for you. "
                    "Deadlines, results and answers to your questions still reach you. "
                    "Send /unmute to receive announcements again."
                )
        elif await unmute(ctx.session, ctx.user.id, now):
            said = ctx._(
                "You will receive announcements from the OCOP office again. "
                "Send /mute to stop them."
            )
        else:
            said = ctx._(
                "Announcements from the OCOP office were not muted: you receive them. "
                "Send /mute to stop them."
            )
        ctx.say(said)
