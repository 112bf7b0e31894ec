"""Routes one event: commands and out-of-context input first, then the current flow's step.

The order matters and reads like the rules a person would follow:

0. a timer that fell due (``timer`` events) runs its kind's handler (``bot/timers.py``),
   which may say something but leaves the conversation where it was;
1. blocked / unblocked notices change the chat's reachability and say nothing;
2. a user with no language yet is asked for one;
3. commands (/start, /help, /menu, /cancel, /language) and menu shortcuts work anywhere
   (``/start <code>``, from an invitation link, joins at once: no language question first;
   ``/official <code>`` and ``/start o-<code>`` link an official's chat, also at once);
   /help twice in a row, or a message asking for a person ("gặp cán bộ"), offers to leave a
   question for the office (the ``questions`` flow); ``/deadlines``, ``/results``,
   ``/estimate`` or a typed request ("hạn nộp", "kết quả", "ước tính sao") opens its flow
   (:data:`TYPED_REQUESTS`; the short, ambiguous ones not at a step that takes free text,
   where they are that step's answer; none while a question for the office is typed);
   ``/mute`` and ``/unmute``, or typing "tắt thông báo" / "bật thông báo" as the whole message,
   stop or restart announcements (the ``settings`` flow) and ask the question again;
   ``/link`` (or "liên kết" as the whole message, not at a step that takes free text) gives a
   code to link another app's chat, and ``/link <code>`` or a typed "lien ket <code>" (anywhere
   but in a question being typed for the office) links this chat, at once (``link`` flow);
4. stickers, voice and the like get a polite "I cannot read that" and the question again;
5. a button from an earlier question is caught by its step signature, and the question is
   asked again (a number typed to answer buttons shown as a numbered list is that button);
6. everything else is the current step's answer.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.channels.base import NUMBERED_CHOICES
from bot.flow import GLOBAL_SIGNATURE, StepContext
from bot.i18n import N_
from bot.timers import run_timer_event
from bot.validators import parse_id
from bot.vocabulary import GROUP, EventKind, split_button_payload, step_signature
from storage.official_chats import LINK_PREFIX

__all__ = ["HELP_AGAIN_WITHIN", "dispatch"]

HELP_AGAIN_WITHIN = 300  # seconds: a second /help in a row within this offers the office
HELP_AT = "_help_at"  # when the last /help came (kept across flows; any other event clears it)
QUESTIONS = "questions"
DEADLINES = "deadlines"
ESTIMATE = "estimate"
RESULTS = "results"
SETTINGS = "settings"
LINK = "link"
MUTE, UNMUTE = "mute", "unmute"
# Flows that a typed request opens from anywhere: the flow, its method saying whether a text
# is for it, and whether a step that takes free text keeps the text as its answer instead.
TYPED_REQUESTS = (
    (QUESTIONS, "wants_a_person", False),
    (DEADLINES, "wants_deadlines", False),
    (RESULTS, "wants_results", True),
    (ESTIMATE, "wants_an_estimate", True),
    (SETTINGS, "wants_announcements_changed", False),
    (LINK, "wants_a_code", True),
)

log = logging.getLogger(__name__)

OTHER_KINDS = {
    "sticker": N_("a sticker"),
    "voice": N_("a voice message"),
    "video": N_("a video"),
    "video_note": N_("a video message"),
    "audio": N_("an audio file"),
    "location": N_("a location"),
    "animation": N_("an animation"),
    "poll": N_("a poll"),
}


async def dispatch(ctx: StepContext) -> None:
    """Handle ``ctx.event`` for the conversation it belongs to."""
    event = ctx.event
    if event.kind == EventKind.TIMER:  # not the user: reachability and language stay as they are
        await run_timer_event(ctx)
        return
    if event.kind == EventKind.LEAVE:
        ctx.identity.blocked_at = ctx.clock.now()
        return
    ctx.identity.blocked_at = None
    if event.kind == EventKind.OTHER and event.other == GROUP:
        if not ctx.data.get("_group_told"):  # once per group, not at every message
            ctx.data["_group_told"] = True
            ctx.say(
                ctx._(
                    "I work in private chats only. Please open a chat with me directly to "
                    "register your organisation and products."
                )
            )
        return
    if event.kind == EventKind.JOIN and ctx.conversation.flow:
        return
    _answer_numbered_list(ctx)
    command = _command(ctx)
    if command != "help":
        ctx.data.pop(HELP_AT, None)
    joins = command is not None and (
        command.startswith(("start ", "official ", f"{LINK} ")) or command == LINK
    )
    if ctx.user.locale is None and ctx.conversation.flow != "language" and not joins:
        await ctx.goto("language")
        return
    if command is not None:
        name, _, argument = command.partition(" ")
        await run_command(ctx, name, argument.strip())
        return
    if await _typed_request(ctx):
        return
    if not ctx.conversation.flow or ctx.conversation.flow not in ctx.flows:
        await ctx.goto("menu")
        return
    flow = ctx.flows[ctx.conversation.flow]
    if event.kind == EventKind.OTHER:
        what = OTHER_KINDS.get(event.other, N_("this kind of message"))
        caps = ctx.capabilities
        sorry = (
            N_("Sorry, I cannot read {what} here. Please answer with text or a choice's number.")
            if caps is not None and not caps.buttons_per_message  # choices come as numbered lists
            else N_("Sorry, I cannot read {what} here. Please answer with text or the buttons.")
        )
        ctx.say(ctx._(sorry).format(what=ctx._(what)))
        await flow.reprompt(ctx)
        return
    if event.kind == EventKind.BUTTON and event.signature != _current_signature(ctx):
        ctx.say(ctx._("That button belongs to an earlier question. Here is where we are now:"))
        await flow.reprompt(ctx)
        return
    await flow.handle(ctx)


def _answer_numbered_list(ctx: StepContext) -> None:
    """A typed number answering buttons shown as a numbered list becomes that button."""
    choices = ctx.data.get(NUMBERED_CHOICES)
    typed = ctx.event.text.strip()
    if ctx.event.kind != EventKind.TEXT or not choices or not typed.isascii():
        return
    if typed.isdigit() and len(typed) <= 3 and 1 <= int(typed) <= len(choices):
        signature, value = split_button_payload(choices[int(typed) - 1])
        ctx.event = replace(ctx.event, kind=EventKind.BUTTON, signature=signature, payload=value)


def _current_signature(ctx: StepContext) -> str:
    c = ctx.conversation
    return step_signature(c.flow, c.step, c.version or 0)


def _command(ctx: StepContext) -> str | None:
    event = ctx.event
    if event.kind == EventKind.COMMAND:
        return f"{event.command} {event.text.strip()}".strip()
    if event.kind == EventKind.BUTTON and event.signature == GLOBAL_SIGNATURE:
        return event.payload.lstrip("/")
    if event.kind == EventKind.TEXT and ctx.conversation.flow != QUESTIONS:
        typed_command = getattr(ctx.flows.get(LINK), "typed_command", None)
        if typed_command is not None:
            return typed_command(event.text)  # "lien ket 123456" is /link 123456
    return None


async def run_command(ctx: StepContext, command: str, argument: str = "") -> None:
    """The commands that work at any step (``/product 12`` opens a product's dossier)."""
    flow = ctx.flows.get(ctx.conversation.flow)
    if command == "official" or (command == "start" and argument.startswith(LINK_PREFIX)):
        await _link_official(ctx, argument)
    elif command == "start" and argument:
        await _join_by_link(ctx, argument)
    elif command == "start":
        if flow is None or ctx.conversation.flow == "menu":
            await ctx.goto("menu")
        else:
            ctx.say(ctx._("Welcome back! Let's continue where you stopped."))
            await flow.reprompt(ctx)
    elif command == "help":
        ctx.say(_help_text(ctx))
        if await _help_again(ctx):
            return
        if flow is not None:
            await flow.reprompt(ctx)
    elif command == "menu":
        await ctx.goto("menu")
    elif command == DEADLINES and DEADLINES in ctx.flows:
        await getattr(ctx.flows[DEADLINES], "offer")(ctx)  # noqa: B009
    elif command == LINK and LINK in ctx.flows:
        await getattr(ctx.flows[LINK], "command")(ctx, argument)  # noqa: B009
    elif command in (MUTE, UNMUTE) and SETTINGS in ctx.flows:
        await getattr(ctx.flows[SETTINGS], "set_muted")(ctx, muted=command == MUTE)  # noqa: B009
    elif command == "language":
        await ctx.goto("language")
    elif command == RESULTS and RESULTS in ctx.flows:
        await ctx.goto(RESULTS)
    elif command == "product" and argument:
        # An id that is not one (too long, not ASCII digits) is a product nobody has.
        # "/product 12 34" opens the upload of document 34 (a document sent back).
        product, _, document = argument.partition(" ")
        if document:
            await ctx.goto(
                "documents", product_id=parse_id(product) or 0, upload=parse_id(document) or 0
            )
        else:
            await ctx.goto("documents", product_id=parse_id(product) or 0)
    elif command == "products" and "products" in ctx.flows:  # "My products" in announcements
        await ctx.goto("products")
    elif command == "estimate":
        await ctx.goto(ESTIMATE, **({"product_id": parse_id(argument) or 0} if argument else {}))
    elif command == "cancel":
        cancel = getattr(flow, "cancel", None)
        if cancel is not None:
            await cancel(ctx)
        else:
            await ctx.goto("menu")
    else:
        ctx.say(ctx._("I do not know the command /{command}.").format(command=command[:30]))
        ctx.say(_help_text(ctx))
        if flow is not None:
            await flow.reprompt(ctx)
        else:
            await ctx.goto("menu")


async def _help_again(ctx: StepContext) -> bool:
    """A second /help in a row, soon after the first, offers a question for the office."""
    now = ctx.clock.now().timestamp()
    last = ctx.data.get(HELP_AT)
    ctx.data[HELP_AT] = now
    offer = getattr(ctx.flows.get(QUESTIONS), "offer", None)
    if offer is None or not isinstance(last, int | float) or now - last > HELP_AGAIN_WITHIN:
        return False
    ctx.data.pop(HELP_AT, None)
    await offer(ctx)
    return True


async def _typed_request(ctx: StepContext) -> bool:
    """A typed request for a flow of :data:`TYPED_REQUESTS` ("gặp cán bộ", "hạn nộp") opens
    it: its ``offer`` when it has one, else its start (never from inside the flow itself, and
    nothing interrupts a question for the office being typed)."""
    if ctx.event.kind != EventKind.TEXT or ctx.conversation.flow == QUESTIONS:
        return False
    current = ctx.flows.get(ctx.conversation.flow)
    free_text = getattr(current, "takes_free_text", lambda _ctx: False)(ctx)
    for name, wants, yields_to_free_text in TYPED_REQUESTS:
        flow = ctx.flows.get(name)
        if (
            flow is None
            or ctx.conversation.flow == name
            or (yields_to_free_text and free_text)
            or not getattr(flow, wants, lambda _text: False)(ctx.event.text)
        ):
            continue
        offer = getattr(flow, "offer", None)
        if offer is not None:
            await offer(ctx)
        else:
            await ctx.goto(name)
        return True
    return False


async def _join_by_link(ctx: StepContext, code: str) -> None:
    """An invitation link (``t.me/<bot>?start=<code>``) arrives as ``/start <code>``; it joins
    at once, in the language the platform reports when none was chosen yet."""
    redeem = getattr(ctx.flows.get("join"), "redeem", None)
    if redeem is None:
        await ctx.goto("menu")
    else:
        await redeem(ctx, code)


async def _link_official(ctx: StepContext, code: str) -> None:
    """An official's code from the console links this chat to their account; the chat then
    goes on where it was (a chat without a language yet is asked for one later)."""
    redeem = getattr(ctx.flows.get("official_link"), "redeem", None)
    if redeem is None:
        await ctx.goto("menu")
        return
    await redeem(ctx, code)
    flow = ctx.flows.get(ctx.conversation.flow)
    if flow is not None:
        await flow.reprompt(ctx)


def _help_text(ctx: StepContext) -> str:
    flow = ctx.flows.get(ctx.conversation.flow)
    where = flow.help(ctx) if flow is not None else ""
    commands = ctx._(
        "Commands: /menu main menu · /cancel stop what you are doing · /language change "
        "language · /estimate estimate a product's stars · /mute stop the office's "
        "announcements · /unmute receive them again · /link use the bot on another app too · "
        "/help this help."
    )
    return f"{where}\n\n{commands}" if where else commands
