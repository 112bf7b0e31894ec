"""When a certificate's re-rating dossier may be filed (Art. 7.6): 180 to 120 days before the
certificate expires, counted from its issue date by the rules the dossier is filed under."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.rules import RuleSet

__all__ = ["RERATING", "RerateWindow", "WindowState", "rerating_window"]

RERATING = "rerating"  # the dossier kind (rules data) whose filing Art. 7.6 times


class WindowState(StrEnum):
    """Where today falls against a certificate's re-rating window."""

    NOT_YET = "not_yet"  # the window opens later
    OPEN = "open"
    CLOSED = "closed"  # the window closed; the certificate is still valid
    EXPIRED = "expired"  # the certificate itself has expired


@dataclass(frozen=True)
class RerateWindow:
    """A certificate's expiry and re-rating window, and where ``today`` falls."""

    expiry: date
    opens: date
    closes: date
    state: WindowState


def rerating_window(rule_set: RuleSet, issued: date, today: date) -> RerateWindow:
    """The re-rating window of a certificate issued on ``issued``, seen on ``today``."""
    expiry = rule_set.certificate_expiry(issued)
    opens, closes = rule_set.rerating_window(expiry)
    if today < opens:
        state = WindowState.NOT_YET
    elif today <= closes:
        state = WindowState.OPEN
    elif today < expiry:
        state = WindowState.CLOSED
    else:
        state = WindowState.EXPIRED
    return RerateWindow(expiry, opens, closes, state)
