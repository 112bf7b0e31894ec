"""Uploaded files in the console: one file (``/console/files/{id}``) and a dossier's current
documents as one ZIP (``/console/dossiers/{id}.zip``), both through the official's scope.

The bytes come only from the blob store, which checks their hash. The content type is the one
of the kind the bot detected from the bytes when the file came in (never the type the upload
claimed); PDFs and images a browser shows are served inline, everything else as an attachment.
File names are built from safe ASCII (the producer's name for a file is folded and stripped),
so no name reaches a header or a ZIP path unchecked. Each opening of a file and each ZIP is
written in the audit log (who read which producer's papers, and when).
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
import zipfile
from typing import IO

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filetypes import Detection, FileKind
from bot.rules import rules
from console.config import CONFIG
from console.render import path_id
from console.security import HEADERS, signed_in
from storage.audit import audit
from storage.blobs import BlobCorrupted, BlobNotFound, BlobStore
from storage.dossiers import current_files, documents_of
from storage.models import Dossier, Product
from storage.officials import scope_of
from storage.review import dossier_in_scope, file_in_scope
from storage.states import ActorKind
from storage.text import fold

__all__ = ["INLINE_KINDS", "add_routes", "safe_stem"]

log = logging.getLogger(__name__)

# What a browser shows by itself: served inline; every other kind is downloaded.
INLINE_KINDS = frozenset({FileKind.PDF, FileKind.JPEG, FileKind.PNG, FileKind.WEBP})
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
CHUNK = 256 * 1024


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/files/{id:[0-9]+}", file_download, name="review_file")
    router.add_get("/dossiers/{id:[0-9]+}.zip", dossier_zip, name="review_dossier_zip")


def safe_stem(name: str, fallback: str) -> str:
    """A file name's stem in plain ASCII letters, digits, ``.``, ``_`` and ``-`` (at most 60
    characters, no leading dot); ``fallback`` when nothing is left."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    cleaned = _UNSAFE.sub("_", fold(stem)).strip("._-")[:60]
    return cleaned or fallback


def _kind(value: str) -> FileKind | None:
    try:
        return FileKind(value)
    except ValueError:
        return None


def _type_and_extension(kind: FileKind | None) -> tuple[str, str]:
    detected = Detection(kind)
    return detected.mime_type or "application/octet-stream", detected.extension or "bin"


def _blobs(request: web.Request) -> BlobStore:
    blobs = request.app[CONFIG].blobs
    if blobs is None:
        raise web.HTTPNotFound()
    return blobs


async def _read(blobs: BlobStore, sha256: str) -> bytes:
    try:
        return await blobs.get(sha256)
    except BlobNotFound:
        log.error("blob %s is missing", sha256)
        raise web.HTTPNotFound() from None
    except BlobCorrupted:
        log.error("blob %s failed its hash check; not served", sha256)
        raise web.HTTPInternalServerError() from None


def _audit_read(
    request: web.Request, session: AsyncSession, action: str, entity: str, entity_id: int,
    producer_id: int | None = None,
) -> None:  # fmt: skip
    """The official read a producer's papers: written in the audit log with the reading."""
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=signed_in(request).official.id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        producer_id=producer_id,
        at=request.app[CONFIG].clock.now(),
    )


async def file_download(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    async with config.db.transaction() as session:
        scope = await scope_of(session, signed_in(request).official)
        found = await file_in_scope(session, scope, path_id(request))
        if found is None:
            raise web.HTTPNotFound()
        stored, document = found
        _audit_read(
            request, session, "file.viewed", "document_file", stored.id,
            await _producer_of_document(session, document.dossier_id),
        )  # fmt: skip
    data = await _read(_blobs(request), stored.sha256)
    kind = _kind(stored.kind)
    content_type, extension = _type_and_extension(kind)
    name = f"{safe_stem(stored.original_name, document.doc_type)}-{stored.id}.{extension}"
    disposition = "inline" if kind in INLINE_KINDS else "attachment"
    return web.Response(
        body=data,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'{disposition}; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


async def _producer_of_document(session: AsyncSession, dossier_id: int) -> int | None:
    return await session.scalar(
        select(Product.producer_id)
        .join(Dossier, Dossier.product_id == Product.id)
        .where(Dossier.id == dossier_id)
    )


def _write_entry(archive: zipfile.ZipFile, path: str, data: bytes) -> None:
    archive.writestr(path, data)


async def dossier_zip(request: web.Request) -> web.StreamResponse:
    """The dossier's current files, one folder per document, built in a temporary file."""
    config = request.app[CONFIG]
    blobs = _blobs(request)
    async with config.db.transaction() as session:
        scope = await scope_of(session, signed_in(request).official)
        found = await dossier_in_scope(session, scope, path_id(request))
        if found is None:
            raise web.HTTPNotFound()
        dossier, product, producer = found
        _audit_read(request, session, "dossier.downloaded", "dossier", dossier.id, producer.id)
        documents = await documents_of(session, dossier.id)
        order = {
            req.document.code: n
            for n, req in enumerate(rules(dossier.rules_version).checklist(product.product_set), 1)
        }
        ordered = sorted(documents.values(), key=lambda d: (order.get(d.doc_type, 999), d.id))
        entries = [(d, await current_files(session, d.id)) for d in ordered]
    with tempfile.TemporaryFile() as spool:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for document, files in entries:
                code = safe_stem(document.doc_type, "document")
                folder = f"{order.get(document.doc_type, 0):02d}_{code}"
                for n, stored in enumerate(files, 1):
                    data = await _read(blobs, stored.sha256)
                    _mime, extension = _type_and_extension(_kind(stored.kind))
                    stem = safe_stem(stored.original_name, "file")
                    path = f"{folder}/{n:02d}_{stem}.{extension}"
                    await asyncio.to_thread(_write_entry, archive, path, data)
        return await _stream(request, spool, f"dossier-{dossier.id}.zip")


async def _stream(request: web.Request, spool: IO[bytes], name: str) -> web.StreamResponse:
    size = spool.tell()
    spool.seek(0)
    response = web.StreamResponse(
        headers={
            **HEADERS,
            "Content-Type": "application/zip",
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(size),
            "X-Content-Type-Options": "nosniff",
        }
    )
    await response.prepare(request)
    while chunk := await asyncio.to_thread(spool.read, CHUNK):
        await response.write(chunk)
    await response.write_eof()
    return response
