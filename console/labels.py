"""Words the console shows for states and times: what each dossier state is called and how long
something has waited, one wording for every page and export."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.channels.names import CHANNEL_NAMES
from bot.i18n import N_, Translator
from storage.states import (
    AnnouncementStatus,
    DeliveryReason,
    DeliveryStatus,
    DossierStatus,
    EntryStatus,
    RoundLevel,
    RoundPhase,
)

__all__ = [
    "ANNOUNCEMENT_STATES",
    "CHANNELS",
    "DELIVERY_REASONS",
    "DELIVERY_STATES",
    "DOSSIER_STATES",
    "ENTRY_STATES",
    "ROUND_LEVELS",
    "ROUND_PHASES",
    "waited",
]

DOSSIER_STATES: dict[str, str] = {  # keyed by DossierStatus
    DossierStatus.DRAFT: N_("Draft (not submitted)"),
    DossierStatus.SUBMITTED: N_("Filed, to review"),
    DossierStatus.HAS_ISSUES: N_("Sent back with issues"),
    DossierStatus.EDITED: N_("Corrected, to review again"),
    DossierStatus.APPROVED: N_("Valid, passed on for evaluation"),
    DossierStatus.REJECTED: N_("Rejected"),
}

ROUND_LEVELS: dict[str, str] = {  # keyed by RoundLevel
    RoundLevel.PROVINCE: N_("province level"),
    RoundLevel.CENTRAL: N_("central level"),
}
ROUND_PHASES: dict[str, str] = {  # keyed by RoundPhase
    RoundPhase.UPCOMING: N_("Upcoming"),
    RoundPhase.OPEN: N_("Open for dossiers"),
    RoundPhase.EVALUATING: N_("Evaluating"),
    RoundPhase.SCORED: N_("Scores closed"),
    RoundPhase.PUBLISHED: N_("Results published"),
}
ENTRY_STATES: dict[str, str] = {  # keyed by EntryStatus
    EntryStatus.SUBMITTED: N_("Submitted"),
    EntryStatus.IN_REVIEW: N_("In review"),
    EntryStatus.SCORED: N_("Scored"),
    EntryStatus.PUBLISHED: N_("Results published"),
}

ANNOUNCEMENT_STATES: dict[str, str] = {  # keyed by AnnouncementStatus
    AnnouncementStatus.DRAFT: N_("Draft"),
    AnnouncementStatus.SCHEDULED: N_("Scheduled"),
    AnnouncementStatus.SENDING: N_("Sending"),
    AnnouncementStatus.DONE: N_("Sent"),
    AnnouncementStatus.CANCELLED: N_("Cancelled"),
}
DELIVERY_STATES: dict[str, str] = {  # keyed by DeliveryStatus
    DeliveryStatus.WAITING: N_("Waiting"),
    DeliveryStatus.QUEUED: N_("Queued to send"),
    DeliveryStatus.SENT: N_("Sent"),
    DeliveryStatus.FAILED: N_("Failed"),
    DeliveryStatus.TOO_OLD: N_("Too old to send"),
    DeliveryStatus.CANCELLED: N_("Cancelled"),
}
DELIVERY_REASONS: dict[str, str] = {  # keyed by DeliveryReason
    DeliveryReason.BLOCKED: N_("blocked the bot"),
    DeliveryReason.DELETED: N_("account deleted"),
    DeliveryReason.OUTSIDE_WINDOW: N_("outside the reply window"),
    DeliveryReason.REFUSED: N_("refused by the platform"),
}
CHANNELS: dict[str, str] = CHANNEL_NAMES  # keyed by channel; brand names, not translated


def waited(since: datetime, now: datetime, t: Translator) -> str:
    """How long since ``since``, in whole days ("3 days"), else hours ("5 hours"), else
    minutes ("12 minutes")."""
    gap = max(now - since, timedelta(0))
    if gap >= timedelta(days=1):
        n = gap.days
        return t.ngettext("{n} day", "{n} days", n).format(n=t.number(n))
    if gap >= timedelta(hours=1):
        n = int(gap.total_seconds() // 3600)
        return t.ngettext("{n} hour", "{n} hours", n).format(n=t.number(n))
    n = int(gap.total_seconds() // 60)
    return t.ngettext("{n} minute", "{n} minutes", n).format(n=t.number(n))
