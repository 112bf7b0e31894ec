"""Regression: a blob altered on disk raised ``BlobCorrupted`` on every read, and putting the same
bytes again did not repair it (the store saw a file of the right size and kept it). A stored
copy is now trusted only when its size and hash match; a damaged one is replaced atomically.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.blobs import BlobCorrupted, BlobStore, LocalBlobStore, MemoryBlobStore
from tests.files import make_pdf
from tests.handlers.test_documents import CHAT, handicraft_dossier, upload
from tests.handlers.test_documents import files as stored_files
from tests.harness import RunningBot

CONTENT = make_pdf("Giay chung nhan ATTP")


def flip_a_byte(data: bytes) -> bytes:
    """The same size, one bit different: a silent disk fault."""
    return data[:-10] + bytes([data[-10] ^ 0x01]) + data[-9:]


async def test_putting_the_same_bytes_again_repairs_a_damaged_local_blob(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    ref = await store.put(CONTENT)
    path = store.path_for(ref.sha256)
    path.write_bytes(flip_a_byte(CONTENT))
    with pytest.raises(BlobCorrupted):
        await store.get(ref.sha256)

    assert await store.put(CONTENT) == ref

    assert await store.get(ref.sha256) == CONTENT
    assert list(path.parent.iterdir()) == [path]  # no temporary file left


async def test_putting_the_same_bytes_again_repairs_a_damaged_memory_blob() -> None:
    store = MemoryBlobStore()
    ref = await store.put(CONTENT)
    store.blobs[ref.sha256] = flip_a_byte(CONTENT)

    await store.put(CONTENT)

    assert await store.get(ref.sha256) == CONTENT


async def test_an_intact_blob_is_not_rewritten(tmp_path: Path) -> None:
    store: BlobStore = LocalBlobStore(tmp_path / "blobs")
    ref = await store.put(CONTENT)
    path = LocalBlobStore(tmp_path / "blobs").path_for(ref.sha256)
    inode = path.stat().st_ino

    await store.put(CONTENT)

    assert path.stat().st_ino == inode


async def test_producer_uploading_the_file_again_repairs_it(
    bot: RunningBot, tmp_path: Path
) -> None:
    phone = bot.producer(CHAT)
    await handicraft_dossier(phone)
    await upload(phone, "Business registration", CONTENT, "dkkd.pdf")
    blobs = LocalBlobStore(tmp_path / "blobs")
    (first,) = await stored_files(bot)
    blobs.path_for(first.sha256).write_bytes(flip_a_byte(CONTENT))

    await upload(phone, "Product story", CONTENT, "dkkd-lai.pdf")

    assert await blobs.get(first.sha256) == CONTENT
