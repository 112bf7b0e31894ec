"""Receiving a file: download it from the channel, check its bytes, keep it in the blob store.

The engine calls :class:`FileFetcher` before a step that takes files opens its transaction (a
download can be slow). What the step sees is a :class:`ReceivedFile`: either the stored blob,
or the reason the file was refused. Nothing of the platform (URLs, paths) is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from bot.channels.base import ChannelAdapter, DownloadError, FileTooLarge
from bot.filetypes import detect
from bot.vocabulary import Event
from storage.blobs import BlobStore

__all__ = ["FileFetcher", "ReceivedFile"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceivedFile:
    """A file as the step sees it: stored (``sha256`` set) or refused (``problem`` set).

    ``problem`` is one of ``too_large``, ``download_failed``, and the refusals of
    :func:`bot.filetypes.detect` (``empty``, ``executable``, ``archive``, ``macros``,
    ``unknown``).
    """

    size: int
    limit: int
    sha256: str | None = None
    kind: str | None = None
    mime_type: str | None = None
    problem: str | None = None


class FileFetcher:
    """Downloads, checks and stores the file of a file event."""

    def __init__(
        self, channels: Mapping[str, ChannelAdapter], blobs: BlobStore, max_bytes: int
    ) -> None:
        self.channels = channels
        self.blobs = blobs
        self.max_bytes = max_bytes

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
        detection = detect(data)
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
