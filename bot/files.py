"""Receiving a file: download it from the channel, check its bytes, keep it in the blob store.

The engine runs :class:`FileFetcher` beside its rounds, outside any transaction (a download can
be slow), and records the :class:`ReceivedFile` on the event's inbox row (as JSON: keep its
fields plain). What the step sees is that record: either the stored blob, or the reason the file
was refused. Nothing of the platform (URLs, paths) is kept.

The check of the bytes (:func:`bot.filetypes.detect`) runs in a worker thread, so the event loop
keeps serving other chats meanwhile, and within a time limit: a file whose check does not finish
in time (or fails) is refused as ``unreadable``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.channels.base import ChannelAdapter, DownloadError, FileTooLarge
from bot.filetypes import Detection, Refusal, detect
from bot.vocabulary import ChatKey, Event
from storage.blobs import BlobStore

__all__ = ["FileFetcher", "ReceivedFile"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceivedFile:
    """A file as the step sees it: stored (``sha256`` set) or refused (``problem`` set).

    ``problem`` is one of ``too_large``, ``download_failed``, the refusals of
    :func:`bot.filetypes.detect` (``empty``, ``executable``, ``archive``, ``macros``,
    ``unknown``) and ``unreadable`` (the check failed or did not finish in time).
    """

    size: int
    limit: int
    sha256: str | None = None
    kind: str | None = None
    mime_type: str | None = None
    problem: str | None = None


class FileFetcher:
    """Downloads, checks and stores the file of a file event.

    ``check_timeout`` bounds the seconds the check of one file may take; ``detector`` is
    :func:`~bot.filetypes.detect` unless a test needs another.
    """

    def __init__(
        self,
        channels: Mapping[str, ChannelAdapter],
        blobs: BlobStore,
        max_bytes: int,
        *,
        check_timeout: float = 10.0,
        detector: Callable[[bytes], Detection] = detect,
    ) -> None:
        self.channels = channels
        self.blobs = blobs
        self.max_bytes = max_bytes
        self.check_timeout = check_timeout
        self.detector = detector

    async def __call__(self, event: Event) -> ReceivedFile:
        assert event.file is not None
        declared = event.file.size or 0
        channel = self.channels.get(event.channel)
        if channel is None:
            return ReceivedFile(declared, self.max_bytes, problem="download_failed")
        await channel.working(event.chat_id)  # a progress sign in the chat, if it has one
        try:
            data = await channel.download(event.file, self.max_bytes)
        except FileTooLarge as exc:
            return ReceivedFile(exc.size or declared, self.max_bytes, problem="too_large")
        except (DownloadError, OSError, TimeoutError) as exc:
            log.warning("could not download a file from %s: %s", event.key, exc)
            return ReceivedFile(declared, self.max_bytes, problem="download_failed")
        if len(data) > self.max_bytes:
            return ReceivedFile(len(data), self.max_bytes, problem="too_large")
        detection = await self._check(data, event.key)
        if not detection.accepted:
            problem = str(detection.refusal)
            return ReceivedFile(len(data), self.max_bytes, problem=problem)
        ref = await self.blobs.put(data)
        return ReceivedFile(
            ref.size,
            self.max_bytes,
            sha256=ref.sha256,
            kind=str(detection.kind),
            mime_type=detection.mime_type,
        )

    async def _check(self, data: bytes, key: ChatKey) -> Detection:
        """What the bytes are, told off the event loop and within the time limit."""
        try:
            async with asyncio.timeout(self.check_timeout):
                return await asyncio.to_thread(self.detector, data)
        except TimeoutError:
            # The worker thread cannot be stopped; the parsers are bounded, so it ends soon.
            log.warning("checking a file from %s took over %s s: refused", key, self.check_timeout)
        except Exception as exc:  # a defect in a parser must refuse the file, not the step
            log.error("checking a file from %s failed: %s", key, type(exc).__name__)
        return Detection(None, Refusal.UNREADABLE)
