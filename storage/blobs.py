"""Content-addressed blob storage for uploaded dossier files.

A blob is named by the SHA-256 of its bytes, so the same file uploaded twice is stored once and a
name chosen by a user never reaches a file-system path. Reads verify the hash: a blob whose bytes
changed on disk raises :class:`BlobCorrupted` instead of handing back wrong evidence. Putting the
same bytes again repairs such a blob: a stored copy is trusted only if its size and hash match.

:class:`BlobStore` is the seam: :class:`LocalBlobStore` keeps files on local disk,
:class:`MemoryBlobStore` is for tests, and an S3-compatible store (object key ``ab/cd/<sha256>``,
checking the hash on ``get``) can implement the same three methods later. Metadata — the user's
file name, detected type, who uploaded it — belongs in the database next to the :class:`BlobRef`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = [
    "BlobCorrupted",
    "BlobNotFound",
    "BlobRef",
    "BlobStore",
    "LocalBlobStore",
    "MemoryBlobStore",
    "checked_hash",
    "verified",
]

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class BlobRef:
    """Where a blob is: its SHA-256 (lower-case hex) and size in bytes."""

    sha256: str
    size: int

    @classmethod
    def of(cls, data: bytes) -> BlobRef:
        """The reference ``data`` would be stored under."""
        return cls(sha256=hashlib.sha256(data).hexdigest(), size=len(data))


class BlobNotFound(LookupError):
    """No blob with that hash is stored."""


class BlobCorrupted(Exception):
    """A stored blob's bytes no longer match its hash (disk fault or tampering)."""

    def __init__(self, sha256: str, actual: str) -> None:
        super().__init__(f"blob {sha256} is corrupted: its content hashes to {actual}")
        self.sha256 = sha256
        self.actual = actual


class BlobStore(Protocol):
    """Stores bytes under their SHA-256. Implementations must verify the hash on every read."""

    async def put(self, data: bytes) -> BlobRef:
        """Store ``data`` (once, however often it is put) and return its reference."""
        ...

    async def get(self, sha256: str) -> bytes:
        """The bytes of a blob; raises BlobNotFound, or BlobCorrupted if they fail the hash."""
        ...

    async def exists(self, sha256: str) -> bool:
        """Whether a blob is stored (without reading or verifying it)."""
        ...


def checked_hash(sha256: str) -> str:
    """``sha256`` if it is 64 lower-case hex digits; ValueError otherwise (no path tricks)."""
    if not _SHA256_HEX.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return sha256


def verified(sha256: str, data: bytes) -> bytes:
    """``data`` if it hashes to ``sha256``; BlobCorrupted otherwise."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise BlobCorrupted(sha256, actual)
    return data


class LocalBlobStore:
    """Blobs as files ``root/ab/cd/<sha256>`` on a local disk.

    Writes go to a temporary file in the target directory, are fsynced, then renamed into place
    with ``os.replace``, so a reader never sees a half-written blob and a crash leaves at most a
    stray ``.tmp-*`` file. Concurrent puts of the same content are safe: both renames install the
    same bytes. A put of bytes already stored checks the stored copy (size, then hash) and
    replaces a damaged one. File I/O runs in a worker thread (``asyncio.to_thread``).
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        """The file a blob lives in; derived from the hash only."""
        digest = checked_hash(sha256)
        return self.root / digest[:2] / digest[2:4] / digest

    async def put(self, data: bytes) -> BlobRef:
        return await asyncio.to_thread(self._put, data)

    async def get(self, sha256: str) -> bytes:
        return await asyncio.to_thread(self._get, sha256)

    async def exists(self, sha256: str) -> bool:
        return await asyncio.to_thread(self.path_for(sha256).is_file)

    def _put(self, data: bytes) -> BlobRef:
        ref = BlobRef.of(data)
        path = self.path_for(ref.sha256)
        if _holds(path, ref):
            return ref
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, data)
        return ref

    def _get(self, sha256: str) -> bytes:
        path = self.path_for(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None
        return verified(sha256, data)


def _holds(path: Path, ref: BlobRef) -> bool:
    """Whether ``path`` holds exactly the blob ``ref``: the size first (cheap), then the hash."""
    try:
        with path.open("rb") as stored:
            if os.fstat(stored.fileno()).st_size != ref.size:
                return False
            return hashlib.file_digest(stored, "sha256").hexdigest() == ref.sha256
    except (FileNotFoundError, IsADirectoryError):
        return False


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a fsynced temporary file and a rename."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class MemoryBlobStore:
    """Blobs in a dict, for tests. Not shared between processes."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    async def put(self, data: bytes) -> BlobRef:
        ref = BlobRef.of(data)
        if self.blobs.get(ref.sha256) != data:  # absent, or changed since: (re)store it
            self.blobs[ref.sha256] = bytes(data)
        return ref

    async def get(self, sha256: str) -> bytes:
        try:
            data = self.blobs[checked_hash(sha256)]
        except KeyError:
            raise BlobNotFound(sha256) from None
        return verified(sha256, data)

    async def exists(self, sha256: str) -> bool:
        return checked_hash(sha256) in self.blobs
