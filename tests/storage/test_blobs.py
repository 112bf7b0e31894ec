"""The content-addressed blob store: stored once, verified on read, written atomically."""

from __future__ import annotations

import hashlib
import inspect
import os
from pathlib import Path

import pytest

from storage.blobs import (
    BlobCorrupted,
    BlobNotFound,
    BlobRef,
    BlobStore,
    LocalBlobStore,
    MemoryBlobStore,
)

CONTENT = b"%PDF-1.4 fake certificate"
DIGEST = hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def test_put_returns_hash_and_size(store: LocalBlobStore) -> None:
    assert await store.put(CONTENT) == BlobRef(sha256=DIGEST, size=len(CONTENT))


async def test_blob_lives_at_a_path_made_of_its_hash_only(store: LocalBlobStore) -> None:
    await store.put(CONTENT)

    expected = store.root / DIGEST[:2] / DIGEST[2:4] / DIGEST
    assert files_under(store.root) == [expected]
    assert expected.read_bytes() == CONTENT


def test_put_takes_no_name() -> None:
    assert list(inspect.signature(LocalBlobStore.put).parameters) == ["self", "data"]


async def test_same_content_is_stored_once(store: LocalBlobStore) -> None:
    first = await store.put(CONTENT)
    second = await store.put(bytes(CONTENT))

    assert first == second
    assert len(files_under(store.root)) == 1


async def test_round_trip_and_exists(store: LocalBlobStore) -> None:
    ref = await store.put(CONTENT)

    assert await store.exists(ref.sha256)
    assert await store.get(ref.sha256) == CONTENT
    assert not await store.exists("0" * 64)


async def test_empty_content_round_trips(store: LocalBlobStore) -> None:
    ref = await store.put(b"")
    assert await store.get(ref.sha256) == b""


async def test_missing_blob_raises_not_found(store: LocalBlobStore) -> None:
    with pytest.raises(BlobNotFound):
        await store.get("0" * 64)


async def test_corrupted_file_is_detected_on_read(store: LocalBlobStore) -> None:
    ref = await store.put(CONTENT)
    store.path_for(ref.sha256).write_bytes(b"%PDF-1.4 forged certificate")

    with pytest.raises(BlobCorrupted) as caught:
        await store.get(ref.sha256)
    assert caught.value.sha256 == ref.sha256


async def test_truncated_copy_is_rewritten_by_the_next_put(store: LocalBlobStore) -> None:
    ref = await store.put(CONTENT)
    store.path_for(ref.sha256).write_bytes(CONTENT[:5])

    await store.put(CONTENT)

    assert await store.get(ref.sha256) == CONTENT


@pytest.mark.parametrize(
    "bad", ["../../etc/passwd", "ABCDEF" + "0" * 58, "0" * 63, "0" * 64 + "/x", ""]
)
async def test_only_hex_digests_reach_the_file_system(store: LocalBlobStore, bad: str) -> None:
    with pytest.raises(ValueError):
        await store.get(bad)
    with pytest.raises(ValueError):
        await store.exists(bad)


async def test_write_leaves_no_temporary_files(store: LocalBlobStore) -> None:
    for i in range(5):
        await store.put(CONTENT + bytes([i]))

    leftovers = [p for p in files_under(store.root) if p.name.startswith(".tmp")]
    assert leftovers == []
    assert len(files_under(store.root)) == 5


async def test_failed_write_leaves_nothing_behind(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)

    with pytest.raises(OSError, match="disk full"):
        await store.put(CONTENT)
    assert files_under(store.root) == []
    assert not await store.exists(DIGEST)


async def test_memory_store_behaves_the_same() -> None:
    store: BlobStore = MemoryBlobStore()
    ref = await store.put(CONTENT)

    assert ref == await store.put(CONTENT)
    assert await store.get(DIGEST) == CONTENT
    assert await store.exists(DIGEST)
    with pytest.raises(BlobNotFound):
        await store.get("f" * 64)


async def test_memory_store_detects_corruption() -> None:
    store = MemoryBlobStore()
    await store.put(CONTENT)
    store.blobs[DIGEST] = b"tampered"

    with pytest.raises(BlobCorrupted):
        await store.get(DIGEST)


def test_local_store_satisfies_the_protocol(store: LocalBlobStore) -> None:
    typed: BlobStore = store
    assert typed is store
