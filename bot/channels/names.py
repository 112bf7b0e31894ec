"""What each channel is called where people read it: in the chat (a person's linked apps) and
in the console (a producer's chats, an announcement's audience). Brand names, not translated.
A channel not listed here (the terminal) is shown by its own name."""

from __future__ import annotations

__all__ = ["CHANNEL_NAMES", "channel_name"]

CHANNEL_NAMES: dict[str, str] = {
    "telegram": "Telegram",
    "zalo_oa": "Zalo OA",
    "zalo_bot": "Zalo bot",
}


def channel_name(channel: str) -> str:
    """The name people know ``channel`` by ("zalo_oa" → "Zalo OA")."""
    return CHANNEL_NAMES.get(channel, channel)
