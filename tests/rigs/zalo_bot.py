"""The Zalo Bot Platform as a :class:`~tests.harness.Rig`: the fake platform, the real adapter
talking to it over HTTP, and producers' phones on it.

``running_bot(..., rig=ZaloBotRig())`` runs the channel beside Telegram; ``bot.producer(chat)``
is then a :class:`ZaloBotPhone`. The platform has no buttons: a phone ``tap``s by typing the
number of the choice in the latest numbered list ("1. Tiếng Việt"); it cannot share a contact, so
``share_contact`` types the number; and it forwards no documents, so ``send_document`` arrives
as what Zalo sends instead (``message.unsupported.received``). The adapter's routes (the
webhook with ``webhook=True``, the signed addresses of the pictures it sends) are served by a
small HTTP server of the rig, whose address is the channel's public URL.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.channels.zalo_bot import WEBHOOK_PATH, ZaloBotChannel
from storage.blobs import LocalBlobStore
from storage.text import fold
from tests.fakes.zalo_bot_api import FakeZaloBotAPI, SentMessage
from tests.rigs.listener import Listener

if TYPE_CHECKING:
    from bot.app import App
    from tests.harness import RunningBot

__all__ = ["WEBHOOK_SECRET", "ZaloBotPhone", "ZaloBotRig"]

WEBHOOK_SECRET = "rig-webhook-secret-0123"
CHOICE = re.compile(r"^(\d{1,3})\. (.+)$")


class ZaloBotRig:
    """The fake Zalo Bot Platform and the real :class:`ZaloBotChannel` (polling, or with
    ``webhook`` the platform POSTing to the rig's server); pictures go out by signed address
    unless ``public_files`` is False."""

    channel = "zalo_bot"
    verifies_phone = False  # the number is typed

    def __init__(self, *, webhook: bool = False, public_files: bool = True) -> None:
        self.webhook = webhook
        self.public_files = public_files
        self.api = FakeZaloBotAPI()
        self.adapter: ZaloBotChannel | None = None
        self._listener: Listener | None = None

    async def start(
        self, app: App, blob_dir: Path, stop: asyncio.Event
    ) -> list[asyncio.Task[Any]]:
        await self.api.start()
        self._listener = listener = Listener()
        url = listener.url
        self.adapter = ZaloBotChannel(
            self.api.token,
            self.api.url,
            app.engine,
            poll_timeout=1,
            backoff=(0.05, 0.5),
            webhook=(url + WEBHOOK_PATH, WEBHOOK_SECRET) if self.webhook else None,
            blobs=LocalBlobStore(blob_dir),
            public_url=url if self.public_files else None,
        )
        self.adapter.routes(listener.app)
        await listener.start()
        await self.adapter.initialize()
        app.channels.add(self.adapter)
        return [asyncio.create_task(self.adapter.run(stop))]

    async def close(self) -> None:
        if self.adapter is not None:
            await self.adapter.shutdown()
        if self._listener is not None:
            await self._listener.close()
        await self.api.stop()

    def phone(self, bot: RunningBot, chat_id: int) -> ZaloBotPhone:
        return ZaloBotPhone(bot, self.api, chat_id)


class ZaloBotPhone:
    """One producer's private chat with the Zalo bot (the platform's id: 20 hex digits)."""

    def __init__(self, bot: RunningBot, api: FakeZaloBotAPI, chat_id: int) -> None:
        self.bot = bot
        self.api = api
        self.chat_id = chat_id
        self.zalo_id = f"{chat_id:020x}"
        self.make = api.make
        self.seen = 0
        self.sends_documents = False  # photos only

    @property
    def address(self) -> str:
        return self.zalo_id

    # -- what the producer does -------------------------------------------------------------
    async def push(self, update: dict[str, Any]) -> list[SentMessage]:
        """Send one update and return the messages the bot answered with."""
        self.api.push(update)
        self.bot.pushed += 1
        await self.bot.settle()
        return self.new_messages()

    async def say(self, text: str) -> list[SentMessage]:
        return await self.push(self.make.text(self.zalo_id, text))

    async def tap(self, label: str) -> list[SentMessage]:
        """Type the number of the choice like ``label`` (diacritics ignored) in the latest
        numbered list."""
        return await self.say(str(self.choice_number(label)))

    async def share_contact(
        self, phone: str = "+84912345678", own: bool = True
    ) -> list[SentMessage]:
        """Zalo bots cannot ask for a contact: the number is typed."""
        return await self.say(phone)

    async def send_document(self, content: bytes, name: str,
                            mime: str = "application/pdf") -> list[SentMessage]:  # fmt: skip
        """The platform forwards no documents: the bot gets an unsupported message."""
        return await self.push(self.make.unsupported(self.zalo_id))

    async def send_photo(self, content: bytes, caption: str | None = None) -> list[SentMessage]:
        return await self.push(self.make.image(self.zalo_id, self.api.add_photo(content), caption))

    # -- what the producer sees -------------------------------------------------------------
    def messages(self) -> list[SentMessage]:
        return self.api.sent_to(self.zalo_id)

    def new_messages(self) -> list[SentMessage]:
        all_messages = self.messages()
        new = all_messages[self.seen :]
        self.seen = len(all_messages)
        return new

    @property
    def last(self) -> SentMessage:
        return self.messages()[-1]

    def choices(self) -> list[tuple[int, str]]:
        """The numbered list of the latest message that has one: its last run of lines "1. …",
        "2. …" (a message may number other things above it)."""
        for message in reversed(self.messages()):
            runs: list[list[tuple[int, str]]] = []
            current: list[tuple[int, str]] = []
            for line in message.plain.splitlines():
                found = CHOICE.match(line.strip())
                number = int(found[1]) if found else 0
                if found and number == len(current) + 1:
                    current.append((number, found[2]))
                    continue
                if current:
                    runs.append(current)
                current = [(1, found[2])] if found and number == 1 else []
            if current:
                runs.append(current)
            if runs:
                return runs[-1]
        raise AssertionError("no numbered list yet")

    def buttons(self) -> list[str]:
        return [label for _, label in self.choices()]

    def choice_number(self, label: str) -> int:
        wanted = fold(label)
        for number, text in self.choices():
            if wanted in fold(text):
                return number
        raise AssertionError(f"no choice like {label!r} in {self.buttons()}")
