"""The one list of flows the bot runs; a new feature module adds its flow here."""

from __future__ import annotations

from bot.flow import FlowRegistry
from handlers.language import LanguageFlow
from handlers.menu import MenuFlow
from handlers.profile import ProfileFlow
from handlers.registration import ProfileEditFlow, RegistrationFlow

__all__ = ["build_flows"]


def build_flows() -> FlowRegistry:
    """Every flow, by name."""
    flows = FlowRegistry()
    for flow in (LanguageFlow(), MenuFlow(), RegistrationFlow(), ProfileFlow(), ProfileEditFlow()):
        flows.add(flow)
    return flows
