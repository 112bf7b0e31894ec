"""Simulated producers driving the fake Bot API server through its control API.

A :class:`Driver` runs many producers (private chats) at once. Each sends the updates of its
script one at a time, the next only once the bot has answered the previous one. In a closed
loop (:meth:`Driver.run`) every producer sends its next update as soon as the previous one is
answered; in an open loop (:meth:`Driver.run_open`) updates arrive at a given rate (Poisson
arrivals), each sent by a producer that is not waiting for an answer (a new one when every
producer is waiting). Three kinds of task talk to the fake server
(``tests/fakes/telegram_api.py``, in its own process) over HTTP:

* the *pusher* POSTs every queued update in one ``/_control/updates`` request per batch and
  stamps each update with ``time.monotonic()`` just before the request;
* the *collector* long-polls ``/_control/wait_sent?n=<cursor+1>&since=<cursor>`` with one
  global cursor (all chats) and hands each sent message to its chat; a chat's update is
  answered by the first message that completes a reply (:func:`is_answer`);
* a producer that must tap a button attached afterwards by ``editMessageReplyMarkup`` reads
  that one message again (``/_control/sent?since=<its global index>``).

Latency is ``at - pushed``: ``at`` is the fake server's ``time.monotonic()`` when it accepted
the ``sendMessage``; Linux's CLOCK_MONOTONIC is system-wide, so it is comparable with the
driver's. Every sample is checked (``pushed <= at <= observed``); the observed latency (when the
driver saw the message) is kept as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout

from tests.fakes.telegram_api import UpdateBuilder

__all__ = ["REGISTRATION", "Driver", "FakeServer", "RunResult", "Step", "percentile", "script"]

Message = dict[str, Any]


@dataclass(frozen=True)
class Step:
    """One thing a producer sends: typed text (a command if it starts with ``/``), or a tap on
    the button whose label contains ``text`` (typed instead when there is no such button)."""

    text: str
    tap: bool = False


# A producer registering by typing (tests/handlers/test_registration_input.py); "Skip" and
# "Confirm" are tapped, as people do (a word typed at a free-text question is its answer).
REGISTRATION = (
    Step("/start"),
    Step("English"),
    Step("enterprise"),
    Step("Cong ty Mat ong Son Dong {n}"),
    Step("0100109106"),
    Step("Skip", tap=True),
    Step("Tran Van Binh"),
    Step("Director"),
    Step("Male"),
    Step("Kinh"),
    Step("0912345678"),
    Step("bac ninh"),
    Step("tan son"),
    Step("Skip", tap=True),
    Step("Confirm", tap=True),
)
PADDING = Step("/help")


def script(updates_per_user: int) -> list[Step]:
    """The registration (cut short if fewer updates are wanted), then ``/help`` as padding."""
    steps = list(REGISTRATION[:updates_per_user])
    return steps + [PADDING] * (updates_per_user - len(steps))


def inline_keyboard(message: Message) -> list[list[dict[str, Any]]] | None:
    """The inline buttons the user sees now (after any ``editMessageReplyMarkup``)."""
    markup = message.get("edited_markup") or message.get("reply_markup") or {}
    return markup.get("inline_keyboard")


def is_answer(message: Message, *, echo: bool) -> bool:
    """Whether ``message`` completes a reply.

    Every question has inline buttons; informational messages (errors, acknowledgements) have
    none. A question that also changes the reply keyboard (contact button, keyboard removal)
    comes as two messages, the keyboard change first and the question's buttons second: the
    second answers. For an echo bot, any message answers.
    """
    return echo or bool(inline_keyboard(message))


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by nearest rank; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


class FakeServer:
    """The control API of the fake Bot API server."""

    def __init__(self, session: ClientSession, url: str) -> None:
        self.session, self.url = session, url.rstrip("/")

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        async with self.session.request(method, f"{self.url}/_control/{path}", **kw) as resp:
            if resp.status == 408:  # wait_sent timed out
                return None
            resp.raise_for_status()
            return await resp.json()

    async def reset(self) -> None:
        await self._json("POST", "reset")

    async def stats(self) -> dict[str, Any]:
        return dict(await self._json("GET", "stats"))

    async def sent_count(self) -> int:
        """How many messages were sent so far (all chats)."""
        return int((await self.stats())["sent"])

    async def push(self, updates: list[dict[str, Any]]) -> None:
        await self._json("POST", "updates", json=updates)

    async def sent_since(self, since: int) -> list[Message]:
        """Every message sent (all chats) from global index ``since`` on."""
        return list(await self._json("GET", "sent", params={"since": since}))

    async def wait_sent_since(self, since: int, timeout: float) -> list[Message]:
        """Like :meth:`sent_since`, waiting up to ``timeout`` s for at least one message."""
        params = {"n": since + 1, "since": since, "timeout": timeout}
        return list(await self._json("GET", "wait_sent", params=params) or [])


@dataclass
class _Chat:
    chat_id: int
    waiting: asyncio.Future[tuple[Message, int, float]] | None = None
    pushed: float | None = None  # monotonic time of the push of the update being answered
    stray: int = 0  # messages that arrived while nothing was waiting for them
    answered: int = 0


@dataclass
class RunResult:
    """What one run measured; times in seconds."""

    users: int
    updates: int = 0  # answered
    sent: int = 0  # updates pushed
    registered: int = 0  # producers whose whole registration was answered
    offered_rate: float = 0.0  # open loop: the arrival rate asked for (updates/s)
    arrival_seconds: float = 0.0  # open loop: from the first arrival to the last
    seconds: float = 0.0
    messages: int = 0  # sent by the bot (sendMessage) during the run
    latencies: list[float] = field(default_factory=list)  # pushed → fake server got the answer
    observed: list[float] = field(default_factory=list)  # pushed → driver saw the answer
    answered_at: list[float] = field(default_factory=list)  # seconds since the start
    clock_violations: int = 0
    stray: int = 0
    errors: list[str] = field(default_factory=list)


class Driver:
    """Runs ``users`` closed-loop producers against the fake server."""

    def __init__(
        self,
        fake: FakeServer,
        *,
        echo: bool,
        answer_timeout: float = 120.0,
        first_chat_id: int = 7_200_000_000,
        make: UpdateBuilder | None = None,
    ) -> None:
        """Drivers that follow one another on one bot share ``make``: update ids must keep
        increasing (the bot confirms them, and its inbox knows the ones it has seen)."""
        self.fake = fake
        self.echo = echo
        self.answer_timeout = answer_timeout
        self.first_chat_id = first_chat_id
        self.make = make or UpdateBuilder()
        self._chats: dict[int, _Chat] = {}
        self._queue: list[tuple[dict[str, Any], _Chat]] = []
        self._queued = asyncio.Event()
        self._cursor = 0
        self._started = 0.0
        self.result = RunResult(users=0)
        # Open loop: arrivals not yet taken by a producer, producers free to take one,
        # arrivals not yet answered (nor given up), producers that failed.
        self._arrivals: asyncio.Queue[None] = asyncio.Queue()
        self._idle = self._outstanding = 0
        self._failed: list[BaseException] = []

    async def run(self, users: int, steps: list[Step], timeout: float) -> RunResult:
        """Every producer through ``steps``; returns once all are done or ``timeout`` passed."""
        self.result = RunResult(users=users)
        self._chats = {
            cid: _Chat(cid) for cid in range(self.first_chat_id, self.first_chat_id + users)
        }
        producers = asyncio.gather(
            *(self._producer(c, steps, n) for n, c in enumerate(self._chats.values()))
        )
        return await self._drive(producers, timeout)

    async def run_open(
        self, rate: float, count: int, steps: list[Step], timeout: float, seed: int = 12
    ) -> RunResult:
        """``count`` updates arriving at ``rate`` a second on average (exponential gaps drawn
        from ``seed``); each is sent by an idle producer, a new one when none is idle. Returns
        once every arrival is answered (or given up) or ``timeout`` passed."""
        self.result = RunResult(users=0, offered_rate=rate)
        self._chats = {}
        self._arrivals, self._idle, self._outstanding, self._failed = asyncio.Queue(), 0, 0, []
        return await self._drive(self._arrive(rate, count, steps, seed), timeout)

    async def _drive(self, work: Any, timeout: float) -> RunResult:
        self._cursor = await self.fake.sent_count()
        helpers = [asyncio.create_task(self._pusher()), asyncio.create_task(self._collector())]
        started = self._started = time.monotonic()
        everything: list[asyncio.Future[Any]] = [asyncio.ensure_future(work), *helpers]
        try:
            done, _ = await asyncio.wait(
                everything, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                self.result.errors.append(f"run timed out after {timeout:.0f} s")
            for task in done:
                if (exc := task.exception()) is not None:
                    raise RuntimeError(f"the driver failed: {exc!r}") from exc
        finally:
            self.result.seconds = time.monotonic() - started
            for task in everything:
                task.cancel()
            for task in everything:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self.result.stray = sum(c.stray for c in self._chats.values())
        registration = len(REGISTRATION)
        self.result.registered = sum(c.answered >= registration for c in self._chats.values())
        return self.result

    # -- producers --------------------------------------------------------------------------
    async def _arrive(self, rate: float, count: int, steps: list[Step], seed: int) -> None:
        """The open loop's arrivals, then waiting for every producer that took one."""
        rng = random.Random(seed)
        producers: list[asyncio.Task[None]] = []
        due = started = time.monotonic()
        try:
            for _ in range(count):
                due += rng.expovariate(rate)
                if (wait := due - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                self._raise_failure()
                if self._idle <= self._arrivals.qsize():  # every producer is busy
                    chat = _Chat(self.first_chat_id + len(self._chats))
                    self._chats[chat.chat_id] = chat
                    self._idle += 1
                    self.result.users += 1
                    task = asyncio.create_task(self._producer(chat, steps, len(producers), True))
                    task.add_done_callback(self._note_failure)
                    producers.append(task)
                self._outstanding += 1
                self._arrivals.put_nowait(None)
            self.result.arrival_seconds = time.monotonic() - started
            while self._outstanding:
                self._raise_failure()
                await asyncio.sleep(0.01)
        finally:
            for task in producers:
                task.cancel()
            await asyncio.gather(*producers, return_exceptions=True)

    def _note_failure(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._failed.append(exc)

    def _raise_failure(self) -> None:
        if self._failed:
            raise self._failed[0]

    async def _producer(self, chat: _Chat, steps: list[Step], n: int, open_: bool = False) -> None:
        answer: tuple[Message, int] | None = None
        for i, step in enumerate(steps, 1):
            if open_:  # wait for an arrival (this producer was counted idle already)
                await self._arrivals.get()
                self._idle -= 1
            try:
                answer = await self._step(chat, step, answer, n, i)
            finally:
                if open_:
                    self._outstanding -= 1
            if answer is None:
                return
            if open_ and i < len(steps):
                self._idle += 1

    async def _step(
        self, chat: _Chat, step: Step, answer: tuple[Message, int] | None, n: int, i: int
    ) -> tuple[Message, int] | None:
        """Send one update and wait for its answer; None when none came in time."""
        update = await self._update(chat.chat_id, step, answer, n)
        loop = asyncio.get_running_loop()
        chat.waiting, chat.pushed = loop.create_future(), None
        self._queue.append((update, chat))
        self._queued.set()
        try:
            message, index, seen = await asyncio.wait_for(chat.waiting, self.answer_timeout)
        except TimeoutError:
            self.result.errors.append(
                f"chat {chat.chat_id}: no answer to update {i} "
                f"({step.text!r}) in {self.answer_timeout:.0f} s"
            )
            return None
        finally:
            chat.waiting = None
        self._record(chat, message, seen)
        return (message, index)

    def _record(self, chat: _Chat, message: Message, seen: float) -> None:
        assert chat.pushed is not None
        at = float(message["at"])
        self.result.updates += 1
        chat.answered += 1
        self.result.answered_at.append(seen - self._started)
        self.result.observed.append(seen - chat.pushed)
        if not chat.pushed - 0.001 <= at <= seen + 0.001:
            self.result.clock_violations += 1
        self.result.latencies.append(at - chat.pushed)

    async def _update(
        self, chat_id: int, step: Step, answer: tuple[Message, int] | None, n: int
    ) -> dict[str, Any]:
        text = step.text.format(n=n + 1)
        if step.tap and answer is not None and (data := await self._button(*answer, text)):
            return self.make.callback(chat_id, data, message_id=int(answer[0]["message_id"]))
        if text.startswith("/"):
            command, _, args = text[1:].partition(" ")
            return self.make.command(chat_id, command, args)
        return self.make.text(chat_id, text)

    async def _button(self, message: Message, index: int, label: str) -> str | None:
        """The callback data of ``label``'s button in ``message`` (re-read while its inline
        keyboard has not been attached yet); None when it has no such button."""
        keyboard = inline_keyboard(message)
        deadline = time.monotonic() + 10
        while keyboard is None and message.get("reply_markup") and time.monotonic() < deadline:
            again = (await self.fake.sent_since(index))[:1]
            if again and again[0]["message_id"] == message["message_id"]:
                message = again[0]
                keyboard = inline_keyboard(message)
            if keyboard is None:
                await asyncio.sleep(0.005)
        for row in keyboard or []:
            for button in row:
                if label.casefold() in str(button.get("text", "")).casefold():
                    return str(button["callback_data"])
        return None

    # -- the two helpers --------------------------------------------------------------------
    async def _pusher(self) -> None:
        while True:
            await self._queued.wait()
            self._queued.clear()
            batch, self._queue = self._queue, []
            if not batch:
                continue
            now = time.monotonic()
            for _update, chat in batch:
                chat.pushed = now
            self.result.sent += len(batch)
            await self.fake.push([update for update, _chat in batch])

    async def _collector(self) -> None:
        while True:
            messages = await self.fake.wait_sent_since(self._cursor, timeout=1.0)
            seen = time.monotonic()
            for offset, message in enumerate(messages):
                self._route(message, self._cursor + offset, seen)
            self._cursor += len(messages)
            self.result.messages += len(messages)

    def _route(self, message: Message, index: int, seen: float) -> None:
        chat = self._chats.get(int(message["chat_id"]))
        if chat is None:
            return
        waiting = chat.waiting
        if waiting is None or waiting.done() or chat.pushed is None:
            chat.stray += 1
        elif is_answer(message, echo=self.echo):
            waiting.set_result((message, index, seen))


def client_session() -> ClientSession:
    """An HTTP session for the control API (long polls last up to ~1 s)."""
    return ClientSession(timeout=ClientTimeout(total=30))
