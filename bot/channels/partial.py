"""Replies sent in part: what went, so that a retry sends only the rest.

A reply of several messages may fail half way (a 429 or a network error after some of them
went). Sending it all again would repeat what the user already has — and, under a per-chat
limit, could fail at the same place for ever. The adapter remembers, per chat and reply, how
many messages went and the last one's id, and the retry goes on from there. Only the most
recent :data:`PARTLY_SENT_KEPT` are kept (the oldest are given up by then).
"""

from __future__ import annotations

import json
from typing import Generic, TypeVar

from bot.vocabulary import Reply

__all__ = ["PARTLY_SENT_KEPT", "PartlySent"]

PARTLY_SENT_KEPT = 1000
Id = TypeVar("Id")
Key = tuple[str, str]


class PartlySent(Generic[Id]):
    """(chat, reply) → (messages sent, the last one's platform id)."""

    def __init__(self, kept: int = PARTLY_SENT_KEPT) -> None:
        self.kept = kept
        self._sent: dict[Key, tuple[int, Id]] = {}

    @staticmethod
    def key(chat_id: str, reply: Reply) -> Key:
        return chat_id, json.dumps(reply.to_json(), sort_keys=True, ensure_ascii=False)

    def take(self, key: Key | None, nothing: Id) -> tuple[int, Id]:
        """How many messages of the reply went and the last id (forgotten now); ``(0,
        nothing)`` when none did."""
        return self._sent.pop(key, (0, nothing)) if key is not None else (0, nothing)

    def remember(self, key: Key, done: int, last: Id) -> None:
        while len(self._sent) >= self.kept:
            del self._sent[next(iter(self._sent))]
        self._sent[key] = (done, last)
