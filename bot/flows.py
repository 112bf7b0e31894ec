"""The one list of flows the bot runs; a new feature module adds its flow here."""

from __future__ import annotations

from bot.flow import FlowRegistry
from handlers.documents import DocumentsFlow
from handlers.language import LanguageFlow
from handlers.members import InviteFlow, JoinFlow
from handlers.menu import MenuFlow
from handlers.products import ProductFormFlow, ProductsFlow
from handlers.profile import ProfileFlow
from handlers.registration import ProfileEditFlow, RegistrationFlow

__all__ = ["build_flows"]


def build_flows() -> FlowRegistry:
    """Every flow, by name."""
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
        InviteFlow(),
        JoinFlow(),
    ):
        flows.add(flow)
    return flows
