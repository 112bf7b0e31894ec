"""The step signature: what a flow is, and the context one step runs in.

A step reads ``ctx.event`` and ``ctx.state``, writes through ``ctx.session`` (the step's one
transaction), and answers with :meth:`StepContext.say`. It never talks to a platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Capabilities
from bot.i18n import Translator, translator
from bot.vocabulary import Button, Event, Reply, button_payload
from storage.clock import SYSTEM_CLOCK, Clock, local_date
from storage.models import ChannelIdentity, User

__all__ = [
    "GLOBAL_SIGNATURE",
    "ConversationState",
    "Flow",
    "FlowRegistry",
    "StepContext",
    "sign_reply",
]

# Buttons signed with this are valid at any step (menu shortcuts); their value is a command.
GLOBAL_SIGNATURE = "g"


def sign_reply(reply: Reply, signature: str | None) -> Reply:
    """The reply with each button's payload signed: commands ("/menu") with the global
    signature, other values with ``signature`` — the question they answer. A reply sent outside
    a conversation step (``signature`` None) may carry commands only."""

    def sign(button: Button) -> Button:
        if button.url:  # a link: nothing comes back to sign
            return button
        if button.payload.startswith("/"):
            return Button(button.label, button_payload(GLOBAL_SIGNATURE, button.payload))
        if signature is None:
            raise ValueError(f"button {button.payload!r} needs a conversation step")
        return Button(button.label, button_payload(signature, button.payload))

    return replace(reply, buttons=[[sign(b) for b in row] for row in reply.buttons])


class Flow(Protocol):
    """A conversation flow: one module in ``handlers/`` exports one of these."""

    name: str

    async def start(self, ctx: StepContext) -> None:
        """Enter the flow and ask its first question."""
        ...

    async def handle(self, ctx: StepContext) -> None:
        """Take the user's answer to the current step."""
        ...

    async def reprompt(self, ctx: StepContext) -> None:
        """Ask the current step's question again."""
        ...

    def help(self, ctx: StepContext) -> str:
        """What /help says at the current step."""
        ...


@dataclass
class ConversationState:
    """Where a chat stands, as the step sees it: the engine saves it when the step ends."""

    flow: str = ""
    step: str = ""
    version: int = 0
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepContext:
    """Everything one step may read and the replies it produces."""

    session: AsyncSession
    event: Event
    user: User
    identity: ChannelIdentity
    conversation: ConversationState
    flows: FlowRegistry
    file_blob: Any = None  # what the engine fetched for a file event (see bot.engine)
    replies: list[Reply] = field(default_factory=list)
    is_new_user: bool = False
    more_waiting: bool = False  # more events of this chat are queued behind this one
    clock: Clock = SYSTEM_CLOCK  # the engine's: expiry and attempt windows (tests move it)
    conceal_input: bool = False  # the step saw a secret: the stored event and transcript mask it
    # What the user's channel can do (None: a channel not running in this process).
    capabilities: Capabilities | None = None

    @property
    def today(self) -> date:
        """Today's date in Vietnam by the engine's clock."""
        return local_date(self.clock)

    # -- the user's channel -----------------------------------------------------------------
    def receives(self, kind: str) -> bool:
        """Whether the user can send files of ``kind`` ("document", "photo") on their channel
        (assumed where the channel is not known)."""
        return self.capabilities is None or kind in self.capabilities.file_kinds

    @property
    def can_share_contact(self) -> bool:
        """Whether the user's channel has a button sharing their phone number (assumed where
        the channel is not known)."""
        return self.capabilities is None or self.capabilities.contact_request

    # -- language ---------------------------------------------------------------------------
    @property
    def t(self) -> Translator:
        return translator(self.user.locale)

    def _(self, message: str) -> str:
        """Translate ``message`` into the user's language."""
        return self.t.gettext(message)

    # -- state ------------------------------------------------------------------------------
    @property
    def flow_name(self) -> str:
        return self.conversation.flow

    @property
    def step(self) -> str:
        return self.conversation.step

    @property
    def data(self) -> dict[str, Any]:
        """The flow's working data (a fresh dict is written back at the end of the step)."""
        return self.conversation.data

    def set_step(self, step: str, *, flow: str | None = None) -> None:
        if flow is not None and flow != self.conversation.flow:
            self.conversation.flow = flow
        self.conversation.step = step
        self.conversation.version += 1

    async def goto(self, flow: str, **data: Any) -> None:
        """Leave the current flow and start ``flow`` with ``data`` as its working data.

        Keys starting with "_" belong to the engine (e.g. whether a reply keyboard is shown)
        and are kept.
        """
        kept = {k: v for k, v in self.data.items() if k.startswith("_")}
        self.conversation.data = {**kept, **data}
        self.set_step("", flow=flow)
        await self.flows[flow].start(self)

    # -- replies ----------------------------------------------------------------------------
    def say(
        self,
        text: str,
        *,
        title: str = "",
        buttons: list[list[Button]] | None = None,
        contact_button: str = "",
        contact_request_over: bool = False,
        secrets: list[str] | None = None,
    ) -> None:
        """Queue a reply. Button payloads are plain values; the engine signs them.

        ``secrets`` (parts of ``text``) are masked in the transcript and forgotten by the
        outbox once the message went out."""
        self.replies.append(
            Reply(
                text=text,
                title=title,
                buttons=buttons or [],
                contact_button=contact_button,
                contact_request_over=contact_request_over,
                secrets=secrets or [],
            )
        )


class FlowRegistry(dict[str, Flow]):
    """All flows by name; ``bot.flows`` builds the one list."""

    def add(self, flow: Flow) -> None:
        if flow.name in self:
            raise ValueError(f"two flows named {flow.name!r}")
        self[flow.name] = flow
