"""The one list of flows the bot runs; a new feature module adds its flow here (and what its
timers do: ``bot.timers.register_recipients`` / ``register_timer_handler``, after
``register_reminders`` so that a feature's own registration replaces a default)."""

from __future__ import annotations

from bot.flow import FlowRegistry
from bot.settings import Settings
from handlers.deadlines import DeadlinesFlow
from handlers.documents import DocumentsFlow
from handlers.estimate import EstimateFlow
from handlers.language import LanguageFlow
from handlers.linking import LinkFlow
from handlers.members import InviteFlow, JoinFlow
from handlers.menu import MenuFlow
from handlers.officials import OfficialLinkFlow
from handlers.products import ProductFormFlow, ProductsFlow
from handlers.profile import ProfileFlow
from handlers.questions import QuestionsFlow
from handlers.registration import ProfileEditFlow, RegistrationFlow
from handlers.reminders import register_reminders
from handlers.results import ResultsFlow
from handlers.settings import SettingsFlow

__all__ = ["build_flows", "invite_links"]


def invite_links(settings: Settings) -> dict[str, str]:
    """Per channel, the link that opens the bot with a join code (``{code}``), when known."""
    username = (settings.telegram_bot_username or "").lstrip("@")
    return {"telegram": f"https://t.me/{username}?start={{code}}"} if username else {}


def build_flows(links: dict[str, str] | None = None) -> FlowRegistry:
    """Every flow, by name; ``links`` as :func:`invite_links` gives them. Registers what
    timers do, too."""
    register_reminders()
    flows = FlowRegistry()
    for flow in (
        LanguageFlow(),
        MenuFlow(),
        RegistrationFlow(),
        ProfileFlow(),
        ProfileEditFlow(),
        ProductsFlow(),
        ProductFormFlow(),
        DocumentsFlow(),
        InviteFlow(links),
        JoinFlow(),
        QuestionsFlow(),
        OfficialLinkFlow(),
        EstimateFlow(),
        ResultsFlow(),
        DeadlinesFlow(),
        SettingsFlow(),
        LinkFlow(),
    ):
        flows.add(flow)
    return flows
