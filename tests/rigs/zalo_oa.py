"""The Zalo OA rig for ``tests/harness.py``: the fake OA API, the real adapter behind a real
webhook server, and producers' Zalo phones.

    async with running_bot(url, blobs, rig=ZaloOARig()) as bot:
        phone = bot.producer(1)          # a follower of the OA
        await phone.say("/start")        # a signed webhook call; waits for the answers
        await phone.tap("Tiếng Việt")    # the button's hidden text, or the number of a list
        await phone.share_contact()      # user_submit_info: the Zalo profile's number

:func:`fake_oa` and :func:`token_keeper` are the one place the channel's tests and this rig get
the fake server (the OA API and Zalo's OAuth server) and the access tokens from: the real
``ZaloTokenKeeper``, renewing at the fake's OAuth server.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import App
from bot.channels.zalo_oa import WEBHOOK_PATH, ZaloOAChannel
from bot.channels.zalo_oa_events import signature_variants
from bot.channels.zalo_tokens import ZaloTokenKeeper
from storage.blobs import LocalBlobStore
from storage.clock import Clock
from storage.db import Database
from storage.text import fold
from tests.fakes.zalo_oa_api import (
    APP_ID,
    APP_SECRET,
    FIRST_USER,
    OA_SECRET,
    FakeZaloOA,
    ZaloMessage,
)
from tests.harness import RunningBot

__all__ = ["ZaloOARig", "ZaloPhone", "fake_oa", "token_keeper"]

NUMBERED = re.compile(r"^(\d{1,3})\. (.+)$", re.MULTILINE)


def fake_oa(**options: Any) -> FakeZaloOA:
    """The fake OA API the tests run against (an async context manager)."""
    return FakeZaloOA(**options)


def token_keeper(oa: FakeZaloOA, db: Database, clock: Clock) -> ZaloTokenKeeper:
    """The bot's access tokens for ``oa``: the real keeper (its pair in ``db``), seeded with a
    refresh token the OA's administrator has just authorised."""
    return ZaloTokenKeeper(
        db,
        app_id=APP_ID,
        app_secret=APP_SECRET,
        oauth_url=oa.url,
        refresh_token=oa.oauth.authorise(),
        owner="test",
        clock=clock,
    )


class ZaloOARig:
    """The fake OA, the adapter (``app.channels["zalo_oa"]``) and a webhook server for it."""

    channel = "zalo_oa"
    verifies_phone = True  # user_submit_info is the number of the user's own Zalo profile

    def __init__(self, *, signature_secret: str = "both", signs_with: str = "oa",
                 reply_window_hours: float = 48.0) -> None:  # fmt: skip
        self.signature_secret = signature_secret
        self.signs_with = signs_with
        self.reply_window_hours = reply_window_hours
        self.oa: FakeZaloOA | None = None
        self.adapter: ZaloOAChannel | None = None
        self.tokens: ZaloTokenKeeper | None = None
        self._runner: web.AppRunner | None = None

    async def start(
        self, app: App, blob_dir: Path, stop: asyncio.Event
    ) -> list[asyncio.Task[Any]]:
        oa = self.oa = await fake_oa(signs_with=self.signs_with).__aenter__()
        variants = signature_variants(self.signature_secret, OA_SECRET, APP_SECRET)
        self.tokens = token_keeper(oa, app.db, app.clock)
        adapter = self.adapter = ZaloOAChannel(
            APP_ID,
            oa.url,
            self.tokens,
            app.engine,
            signature_variants=variants,
            reply_window_hours=self.reply_window_hours,
            send_rate=app.settings.zalo_send_rate,
            blobs=LocalBlobStore(blob_dir),
            clock=app.clock,
        )
        app.channels.add(adapter)
        web_app = web.Application()
        adapter.routes(web_app)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        port = server.sockets[0].getsockname()[1]
        oa.webhook_url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        return []

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self.adapter is not None:
            await self.adapter.shutdown()
        if self.tokens is not None:
            await self.tokens.close()
        if self.oa is not None:
            await self.oa.__aexit__(None, None, None)

    def phone(self, bot: RunningBot, chat_id: int) -> ZaloPhone:
        assert self.oa is not None, "the rig has not started"
        return ZaloPhone(bot, self.oa, chat_id)


class ZaloPhone:
    """One producer following the OA in Zalo: what they send arrives as signed webhook calls;
    each action waits until the bot has answered and returns the new messages."""

    def __init__(self, bot: RunningBot, oa: FakeZaloOA, chat_id: int) -> None:
        self.bot = bot
        self.oa = oa
        self.chat_id = chat_id
        self.user = str(FIRST_USER + chat_id)  # beyond 2**53, as Zalo's ids are
        oa.followers.add(self.user)
        self.seen = 0
        self.sends_documents = True

    @property
    def address(self) -> str:
        return self.user

    # -- what the producer does -------------------------------------------------------------
    async def push(self, event: dict[str, Any], *, stored: bool = True) -> list[ZaloMessage]:
        """Send one event (``stored``: one the bot keeps in its inbox) and return the messages
        the bot answered with."""
        await self.oa.push(event)
        if stored:
            self.bot.pushed += 1
        await self.bot.settle()
        return self.new_messages()

    async def say(self, text: str) -> list[ZaloMessage]:
        return await self.push(self.oa.make.text(self.user, text))

    async def tap(self, label: str) -> list[ZaloMessage]:
        """Tap the button like ``label`` (diacritics ignored) of the latest message with
        choices: its hidden payload text, or the number of a numbered list."""
        wanted = fold(label)
        choices = self.choices()
        for title, answer in choices:
            if wanted in fold(title):
                return await self.say(answer)
        raise AssertionError(f"no choice like {label!r} in {[t for t, _ in choices]}")

    async def share_contact(self, phone: str = "+84912345678",
                            own: bool = True) -> list[ZaloMessage]:  # fmt: skip
        """Submit the Zalo profile's number on the request card (Zalo gives "84…"); another
        person's number can only be typed."""
        if not own:
            return await self.say(phone)
        return await self.push(self.oa.make.submit_info(self.user, phone.lstrip("+")))

    async def send_document(self, content: bytes, name: str,
                            mime: str = "application/pdf") -> list[ZaloMessage]:  # fmt: skip
        url = self.oa.add_file(content, name)
        kind = name.rsplit(".", 1)[-1] if "." in name else ""
        return await self.push(self.oa.make.file(self.user, url, name, len(content), kind))

    async def send_photo(self, content: bytes) -> list[ZaloMessage]:
        url = self.oa.add_file(content, "photo.jpg")
        return await self.push(self.oa.make.image(self.user, url))

    async def unfollow(self) -> list[ZaloMessage]:
        return await self.push(self.oa.make.unfollow(self.user))

    # -- what the producer sees -------------------------------------------------------------
    def messages(self) -> list[ZaloMessage]:
        return self.oa.sent_to(self.user)

    def new_messages(self) -> list[ZaloMessage]:
        messages = self.messages()
        new = messages[self.seen :]
        self.seen = len(messages)
        return new

    @property
    def last(self) -> ZaloMessage:
        return self.messages()[-1]

    def choices(self) -> list[tuple[str, str]]:
        """(label, what tapping it sends) of the latest message offering choices: its query
        buttons, or the lines of a numbered list."""
        for message in reversed(self.messages()):
            if message.buttons:
                return [(b.title, str(b.payload)) for b in message.buttons
                        if isinstance(b.payload, str)]  # fmt: skip
            if numbered := NUMBERED.findall(message.plain):
                return [(label, number) for number, label in numbered]
        raise AssertionError("no message with choices yet")

    def buttons(self) -> list[str]:
        """The labels of the latest message with choices."""
        return [label for label, _answer in self.choices()]
