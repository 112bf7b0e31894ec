"""The buttons an announcement may carry: a fixed list of commands the bot runs at any step
(``bot/dispatch.py``), each with its label in Vietnamese and English from the catalogs, so an
official chooses a button and never types a command or a label."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_, translator
from storage.announcements import Button

__all__ = ["COMMANDS", "AnnouncementCommand", "button", "command_of"]


@dataclass(frozen=True)
class AnnouncementCommand:
    """A command an announcement's button runs: its key (the form's value), the command and
    its label (a msgid)."""

    key: str
    command: str
    label: str

    def button(self) -> Button:
        """The stored button, labelled in both languages."""
        return Button(
            label_vi=translator("vi").gettext(self.label),
            command=self.command,
            label_en=translator("en").gettext(self.label),
        )


COMMANDS: tuple[AnnouncementCommand, ...] = (
    AnnouncementCommand("deadlines", "/deadlines", N_("📅 See deadlines")),
    AnnouncementCommand("products", "/products", N_("📦 My products")),
    AnnouncementCommand("results", "/results", N_("🏅 My results")),
    AnnouncementCommand("estimate", "/estimate", N_("⭐ Estimate my stars")),
    AnnouncementCommand("menu", "/menu", N_("🏠 Menu")),
)
_BY_KEY = {c.key: c for c in COMMANDS}
_BY_COMMAND = {c.command: c for c in COMMANDS}


def button(key: str) -> Button:
    """The button of the command with ``key`` ("deadlines"); KeyError for another key."""
    return _BY_KEY[key].button()


def command_of(stored: Button) -> AnnouncementCommand | None:
    """The listed command a stored button runs, or None for one not in the list."""
    return _BY_COMMAND.get(stored.command)
