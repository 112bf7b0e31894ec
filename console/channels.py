"""A producer's chats as its page shows them (``/console/producers/{id}``, "Channels"): for each
chat of each person who speaks for it, the app it is on, whether the bot can reach it now and
when the person last wrote there.

A chat that blocked the bot is unreachable since it did. On a channel with a reply window
(Zalo OA: ``ConsoleConfig.reply_windows``) the bot may write only until the window after the
person's last message closes; after that the chat is out of reach until they write again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.channels.base import in_window
from console.labels import CHANNELS
from storage.review import Member

__all__ = ["ChatLine", "Reach", "chat_lines", "reach_of"]


class Reach(StrEnum):
    """Whether the bot can write to a chat now (shown, never stored)."""

    REACHABLE = "reachable"
    BLOCKED = "blocked"  # since the chat blocked the bot
    WINDOW_OPEN = "window_open"  # until the reply window closes
    WINDOW_CLOSED = "window_closed"  # since it closed (never open: the person never wrote)


@dataclass(frozen=True)
class ChatLine:
    """One chat of a person who speaks for the producer."""

    person: str
    channel: str  # the app's name
    reach: Reach
    when: datetime | None  # blocked since, window open until or closed since
    last_message: datetime | None  # the person's last message there

    @property
    def reachable(self) -> bool:
        return self.reach in (Reach.REACHABLE, Reach.WINDOW_OPEN)


def reach_of(
    blocked_at: datetime | None,
    last_inbound_at: datetime | None,
    now: datetime,
    window: timedelta | None,
) -> tuple[Reach, datetime | None]:
    """Whether a chat is reachable at ``now``, and since or until when."""
    if blocked_at is not None:
        return Reach.BLOCKED, blocked_at
    if window is None:
        return Reach.REACHABLE, None
    if last_inbound_at is None:
        return Reach.WINDOW_CLOSED, None
    closes = last_inbound_at + window
    return (Reach.WINDOW_OPEN if in_window(last_inbound_at, now, window)
            else Reach.WINDOW_CLOSED), closes  # fmt: skip


def chat_lines(
    members: Sequence[Member], now: datetime, windows: Mapping[str, timedelta]
) -> list[ChatLine]:
    """Every chat of the producer's people, person by person (as the members are listed)."""
    lines = []
    for member in members:
        for chat in member.channels:
            reach, when = reach_of(
                chat.blocked_at, chat.last_inbound_at, now, windows.get(chat.channel)
            )
            lines.append(
                ChatLine(
                    person=member.user.display_name,
                    channel=CHANNELS.get(chat.channel, chat.channel),
                    reach=reach,
                    when=when,
                    last_message=chat.last_inbound_at,
                )
            )
    return lines
