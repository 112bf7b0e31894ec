"""The whole bot running against fake platforms, and simulated producers talking to it.

``RunningBot`` wires the real application (engine, sender, Telegram channel polling the fake
Bot API over HTTP, file fetcher, blob store) on a real SQLite file (or PostgreSQL) database;
``Producer`` is one person's Telegram phone: it pushes updates to the fake server and waits
until the bot has answered.

Other channels plug in as a :class:`Rig` (their fake server, the real adapter, and a
:class:`Phone` that talks to it): ``running_bot(..., channel="zalo_oa")`` runs that rig beside
Telegram and ``bot.producer(chat)`` then gives its phones, so one scenario, written against
:class:`Phone`, runs on every channel (tests/scenarios).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import func, select

from bot.app import App, build_app
from bot.channels.telegram import TelegramChannel
from bot.settings import Settings
from storage.areas import import_areas, seed_provinces
from storage.blobs import LocalBlobStore
from storage.clock import SYSTEM_CLOCK, Clock
from storage.db import Database
from storage.models import InboxEvent, OutboxMessage
from storage.states import OUTBOX_WAITING
from storage.text import fold
from tests.conftest import create_schema
from tests.fakes.telegram_api import FakeTelegramAPI, SentMessage, UpdateBuilder
from tests.files import make_jpeg

__all__ = [
    "Phone",
    "Producer",
    "Rig",
    "RunningBot",
    "Seen",
    "copy_database",
    "hand_in",
    "prepare_database",
    "register",
    "running_bot",
]


# Inbox rows of updates pushed to the fake server (not the timer events the scheduler adds).
PUSHED = InboxEvent.event_id.not_like("timer:%")


class Seen(Protocol):
    """A message as the producer sees it on their phone."""

    @property
    def plain(self) -> str: ...


class Phone(Protocol):
    """One producer's chat with the bot on some channel: what they do, what they see.

    Every method that acts waits until the bot has answered and returns the new messages.
    ``tap`` presses the button like ``label`` (diacritics ignored) of the latest message with
    buttons — or, where the channel shows choices as a numbered list, types its number."""

    chat_id: int
    sends_documents: bool  # False: the app sends only photos (the Zalo bot)

    @property
    def address(self) -> str:
        """The chat id the bot knows this chat by (``channel_identities.chat_id``)."""
        ...

    async def say(self, text: str) -> list[Any]: ...

    async def tap(self, label: str) -> list[Any]: ...

    async def share_contact(self, phone: str = "+84912345678", own: bool = True) -> list[Any]:
        """Share the phone number where the channel can, else type it."""
        ...

    async def send_document(self, content: bytes, name: str,
                            mime: str = "application/pdf") -> list[Any]: ...  # fmt: skip

    async def send_photo(self, content: bytes) -> list[Any]: ...

    def messages(self) -> list[Any]: ...

    def new_messages(self) -> list[Any]: ...

    @property
    def last(self) -> Any: ...

    def buttons(self) -> list[str]:
        """The choices of the latest message that offers some."""
        ...


class Rig(Protocol):
    """A fake platform, the real adapter talking to it, and phones on it."""

    channel: str  # the adapter's name
    verifies_phone: bool  # whether a shared number is known to be the user's own

    async def start(
        self, app: App, blob_dir: Path, stop: asyncio.Event
    ) -> list[asyncio.Task[Any]]:
        """Start the fake server and the adapter, add it to ``app.channels``; its tasks."""
        ...

    async def close(self) -> None: ...

    def phone(self, bot: RunningBot, chat_id: int) -> Phone: ...


class RunningBot:
    """The application, its Telegram channel polling the fake server, its loops, and the rig
    of ``channel`` when it is another one."""

    def __init__(self, app: App, api: FakeTelegramAPI, telegram: TelegramChannel,
                 rig: Rig | None = None) -> None:  # fmt: skip
        self.app = app
        self.api = api
        self.telegram = telegram
        self.rig = rig
        self.channel = rig.channel if rig is not None else "telegram"
        self.db = app.db
        self.pushed = 0

    @property
    def verifies_phone(self) -> bool:
        """Whether a phone number shared on this bot's channel is known to be the user's."""
        return self.rig.verifies_phone if self.rig is not None else True

    def producer(self, chat_id: int) -> Any:
        """A producer's phone on this bot's channel: a Telegram :class:`Producer`, or the
        rig's :class:`Phone`."""
        return self.rig.phone(self, chat_id) if self.rig is not None else Producer(self, chat_id)

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every pushed update is stored and processed and every reply sent."""
        deadline = time.monotonic() + timeout
        while True:
            async with self.db.sessions() as session:
                stored = await session.scalar(
                    select(func.count()).select_from(InboxEvent).where(PUSHED)
                )
                pending = await session.scalar(
                    select(func.count())
                    .select_from(InboxEvent)
                    .where(InboxEvent.status == "pending")
                )
                unsent = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status.in_(OUTBOX_WAITING))
                )
            if (stored or 0) >= self.pushed and not pending and not unsent:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"bot did not settle: stored {stored}/{self.pushed}, pending {pending}, "
                    f"unsent {unsent}"
                )
            await asyncio.sleep(0.02)


class Producer:
    """One simulated producer: a Telegram private chat with the bot."""

    def __init__(self, bot: RunningBot, chat_id: int) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.api = bot.api
        self.make = bot.api.make
        self.seen = 0

    sends_documents = True

    @property
    def address(self) -> str:
        return str(self.chat_id)

    # -- what the producer does -------------------------------------------------------------
    async def push(self, update: dict[str, Any]) -> list[SentMessage]:
        """Send one update and return the messages the bot answered with."""
        self.api.push(update)
        self.bot.pushed += 1
        await self.bot.settle()
        return self.new_messages()

    async def say(self, text: str) -> list[SentMessage]:
        if text.startswith("/"):
            command, _, args = text[1:].partition(" ")
            return await self.push(self.make.command(self.chat_id, command, args))
        return await self.push(self.make.text(self.chat_id, text))

    async def tap(self, label: str) -> list[SentMessage]:
        """Tap the button whose label contains ``label`` (diacritics ignored) in the latest
        message that has buttons."""
        data = self.button_data(label)
        return await self.push(self.make.callback(self.chat_id, data))

    async def share_contact(
        self, phone: str = "+84912345678", own: bool = True
    ) -> list[SentMessage]:
        return await self.push(self.make.contact(self.chat_id, phone, own=own))

    async def send_photo(self, content: bytes) -> list[SentMessage]:
        return await self.push(self.photo_update(content))

    async def send_document(
        self,
        content: bytes,
        name: str,
        mime: str = "application/pdf",
        *,
        declared_size: int | None = -1,
        fail_after: int | None = None,
        album: str | None = None,
    ) -> list[SentMessage]:
        """Send a file as a document; ``declared_size`` None = Telegram did not say."""
        file = self.api.add_file(content, fail_after=fail_after)
        size = len(content) if declared_size == -1 else declared_size
        update = self.make.document(
            self.chat_id,
            file.file_id,
            file_name=name,
            mime_type=mime,
            file_size=size,
            unique_id=file.unique_id,
            media_group_id=album,
        )
        return await self.push(update)

    def photo_update(self, content: bytes, album: str | None = None) -> dict[str, Any]:
        """A photo message (the largest size is ``content``), not yet sent."""
        file = self.api.add_file(content)
        return self.make.photo(
            self.chat_id, file.file_id, file_size=len(content), media_group_id=album
        )

    async def send_album(self, photos: list[bytes]) -> list[SentMessage]:
        """Several photos sent at once, as Telegram delivers an album."""
        album = f"album-{self.chat_id}-{len(self.messages())}"
        updates = [self.photo_update(content, album) for content in photos]
        self.api.push(*updates)
        self.bot.pushed += len(updates)
        await self.bot.settle()
        return self.new_messages()

    # -- what the producer sees -------------------------------------------------------------
    def messages(self) -> list[SentMessage]:
        return self.api.sent_to(self.chat_id)

    def new_messages(self) -> list[SentMessage]:
        all_messages = self.messages()
        new = all_messages[self.seen :]
        self.seen = len(all_messages)
        return new

    @property
    def last(self) -> SentMessage:
        return self.messages()[-1]

    def last_with_buttons(self) -> SentMessage:
        for message in reversed(self.messages()):
            if message.inline_keyboard:
                return message
        raise AssertionError("no message with buttons yet")

    def buttons(self) -> list[str]:
        """The labels of the latest message with buttons."""
        keyboard = self.last_with_buttons().inline_keyboard or []
        return [b["text"] for row in keyboard for b in row]

    def button_data(self, label: str) -> str:
        keyboard = self.last_with_buttons().inline_keyboard or []
        wanted = fold(label)
        for row in keyboard:
            for button in row:
                if wanted in fold(button["text"]):
                    return str(button["callback_data"])
        raise AssertionError(f"no button like {label!r} in {self.buttons()}")


async def hand_in(
    phone: Phone, content: bytes, name: str, mime: str = "application/pdf"
) -> list[Any]:
    """A paper for the dossier as the producer's app lets them send it: the file, or where the
    app sends only photos, a photo of it."""
    if phone.sends_documents:
        return await phone.send_document(content, name, mime)
    return await phone.send_photo(make_jpeg(len(name)))


async def register(phone: Phone, *, language: str = "Tiếng Việt", confirm: bool = False) -> None:
    """Walks the whole registration, answering the way producers type on phones."""
    await phone.say("/start")
    await phone.tap(language)
    await phone.tap("Hop tac xa" if language == "Tiếng Việt" else "Cooperative")
    await phone.say("Hop tac xa Nong nghiep Luc Ngan")
    await phone.say("0100109106")
    await phone.tap("Bo qua" if language == "Tiếng Việt" else "Skip")
    await phone.say("Nguyen Thi Lan")
    await phone.say("Giam doc")
    await phone.tap("Nu" if language == "Tiếng Việt" else "Female")
    await phone.say("tay")
    await phone.share_contact("+84912345678")
    await phone.say("bac ninh")
    await phone.say("tan son")
    await phone.say("lan@htx-lucngan.vn")
    if confirm:
        await phone.tap("Xac nhan" if language == "Tiếng Việt" else "Confirm")


@asynccontextmanager
async def running_bot(
    database_url: str,
    blob_dir: Path,
    *,
    per_chat_rate: float = 1000.0,
    first_update_id: int = 100_000,
    clock: Clock = SYSTEM_CLOCK,
    rig: Rig | None = None,
    **settings: Any,
) -> AsyncIterator[RunningBot]:
    """Start the real application against a fresh fake Bot API server; stop it afterwards.

    A bot restarted on the same database needs a higher ``first_update_id``, as Telegram's
    update ids keep growing. ``clock`` is the engine's, the scheduler's and the console's
    (``http_app(running.app)``): a :class:`ManualClock` set in the past fixes "today" for the
    steps, the officials' pages and when timers fall due (the sender keeps the real clock, so
    replies still flow). The scheduler and the broadcaster do not run by themselves: a test
    fires due timers with ``app.scheduler.run_due()`` and moves announcements on with
    ``app.broadcaster.step()``. With a ``rig``, its channel runs beside Telegram and
    ``bot.phone(chat)`` is a phone on it.
    """
    async with FakeTelegramAPI() as api:
        api.make = UpdateBuilder(first_update_id)
        config = Settings(
            database_url=database_url,
            telegram_token=api.token,
            telegram_api_url=api.url,
            blob_dir=blob_dir,
            poll_interval=0.05,
            **settings,
        )
        app = build_app(config, per_chat_rate=per_chat_rate)
        app.engine.clock = clock
        app.scheduler.clock = clock
        app.broadcaster.clock = clock
        app.clock = clock
        telegram = TelegramChannel(api.token, api.url, app.engine, poll_timeout=1,
                                   blobs=LocalBlobStore(blob_dir))  # fmt: skip
        await telegram.initialize()
        app.channels[telegram.name] = telegram
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(app.engine.run(stop)),
            asyncio.create_task(app.sender.run(stop)),
            asyncio.create_task(telegram.run_polling(stop)),
        ]
        if rig is not None:
            tasks += await rig.start(app, blob_dir, stop)
        running = RunningBot(app, api, telegram, rig)
        async with app.db.sessions() as session:
            running.pushed = (
                await session.scalar(select(func.count()).select_from(InboxEvent).where(PUSHED))
                or 0
            )
        try:
            yield running
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await telegram.shutdown()
            if rig is not None:
                await rig.close()
            await app.db.dispose()


@asynccontextmanager
async def bot_on(
    backend: str,
    prepared_database: Path,
    tmp_path: Path,
    *,
    clock: Clock = SYSTEM_CLOCK,
    name: str = "ocop_test_bot",
    rig: Rig | None = None,
) -> AsyncIterator[RunningBot]:
    """:func:`running_bot` on a fresh database of ``backend``: "sqlite", a copy of the
    prepared file; "postgres", a copy (named after ``name``) of a PostgreSQL database prepared
    with the areas once per test process — skipped without ``OCOP_TEST_POSTGRES_URL``."""
    from tests.postgres import POSTGRES_URL, templates

    if backend == "postgres":
        if not POSTGRES_URL:
            pytest.skip("OCOP_TEST_POSTGRES_URL is not set")
        copy = templates().copy("areas", prepare_database, name)
        async with (
            copy as url,
            running_bot(url, tmp_path / "blobs", clock=clock, rig=rig) as running,
        ):
            yield running
        return
    url = copy_database(prepared_database, tmp_path / "ocop.sqlite3")
    async with running_bot(url, tmp_path / "blobs", clock=clock, rig=rig) as running:
        yield running


def copy_database(template: Path, target: Path) -> str:
    """A fresh copy of a prepared SQLite file; returns its URL."""
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


ROOT = Path(__file__).resolve().parents[1]
NATIONAL_LIST = ROOT.parent / "shared" / "data" / "vn-admin-units-2025.json"
SAMPLE_LIST = ROOT / "tests" / "data" / "communes-sample.csv"


async def prepare_database(url: str) -> None:
    """Migrates an empty database and loads the provinces and communes (the national list
    from ../shared when it is there, else the small sample)."""
    db = Database(url)
    try:
        await create_schema(db)
        async with db.transaction() as session:
            await seed_provinces(session)
            await import_areas(session, NATIONAL_LIST if NATIONAL_LIST.exists() else SAMPLE_LIST)
    finally:
        await db.dispose()
