"""A terminal channel: chat with the bot in a shell, with the same engine and flows.

Buttons are shown numbered; type the number (or the button's text, with its diacritics: "Huy"
is a name, "Hủy" the Cancel button) to tap one. The phone button is dropped (the question says
the number can be typed). Used by ``ocop-bot chat`` to try the bot without any platform account.
"""

from __future__ import annotations

import sys
import uuid
from typing import TextIO

from bot.channels.base import BaseChannel, Capabilities
from bot.vocabulary import Event, EventKind, FileRef, Reply, split_button_payload

__all__ = ["TerminalChannel"]


class TerminalChannel(BaseChannel):
    """Prints replies and turns typed lines into events."""

    name = "terminal"
    capabilities = Capabilities(
        buttons_per_message=100,  # shown numbered by ``deliver`` itself
        buttons_per_row=100,
        button_label_length=200,
        file_kinds=frozenset({"document"}),
        text_limit=100_000,
    )

    def __init__(self, out: TextIO = sys.stdout, chat_id: str = "local") -> None:
        self.out = out
        self.chat_id = chat_id
        self._buttons: list[tuple[str, str]] = []
        self._sent = 0

    async def deliver(self, chat_id: str, reply: Reply) -> str:
        """Prints a reply; its buttons become the numbered choices."""
        if reply.title:
            print(f"\n== {reply.title} ==", file=self.out)
        print(reply.text, file=self.out)
        buttons = [b for row in reply.buttons for b in row]
        if buttons:
            self._buttons = [(b.label, b.payload) for b in buttons]
            for i, b in enumerate(buttons, 1):
                print(f"  [{i}] {b.label}", file=self.out)
        self.out.flush()
        self._sent += 1
        return str(self._sent)

    async def download(self, file: FileRef, max_bytes: int) -> bytes:
        """Reads a local file named by ``/file PATH``."""
        with open(file.file_id, "rb") as fh:
            data = fh.read(max_bytes + 1)
        return data

    def to_event(self, line: str) -> Event:
        """A typed line as the event a platform would have sent."""
        text = line.strip()
        if text.startswith("/file "):
            path = text[6:].strip()
            return self._event(EventKind.FILE, file=FileRef(file_id=path, name=path))
        if text.startswith("/"):
            head, _, argument = text[1:].partition(" ")
            return self._event(EventKind.COMMAND, command=head.lower(), text=argument.strip())
        payload = self._button_for(text)
        if payload is not None:
            signature, value = split_button_payload(payload)
            return self._event(EventKind.BUTTON, payload=value, signature=signature)
        return self._event(EventKind.TEXT, text=text)

    def _event(
        self,
        kind: EventKind,
        *,
        text: str = "",
        command: str = "",
        payload: str = "",
        signature: str = "",
        file: FileRef | None = None,
    ) -> Event:
        return Event(
            channel=self.name,
            chat_id=self.chat_id,
            user_id=self.chat_id,
            event_id=uuid.uuid4().hex,
            kind=kind,
            text=text,
            command=command,
            payload=payload,
            signature=signature,
            file=file,
            display_name="Terminal",
        )

    def _button_for(self, text: str) -> str | None:
        if text.isdigit() and 1 <= int(text) <= len(self._buttons):
            return self._buttons[int(text) - 1][1]
        for label, payload in self._buttons:
            if _words(label) == _words(text):
                return payload
        return None


def _words(text: str) -> str:
    """Letters and digits as typed (lower case, diacritics kept: not :func:`fold`)."""
    kept = "".join(ch for ch in text.casefold() if ch.isalnum() or ch.isspace())
    return " ".join(kept.split())
