"""Regression: an official could open any of a producer's uploaded papers, or download the
whole dossier as a ZIP, and nothing recorded it: the audit log showed who decided on a document,
but not who read it. Personal data (ids, tax codes, contracts) is in those files. Now each file
opened and each ZIP downloaded is an audit entry (the official, the producer, the file or the
dossier, when), shown in the console's audit log; refused requests write nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from storage.blobs import LocalBlobStore
from storage.models import AuditEntry, Official
from tests.console.conftest import Console, console, prepared_console_database
from tests.console.review_data import REGISTRATION, filed_dossier
from tests.console.test_review import blobs_of, signed_in_page, two_communes

__all__ = ["console", "prepared_console_database"]  # the console's fixtures, used here


@pytest.fixture
def tmp_blobs(tmp_path: Path) -> LocalBlobStore:
    return blobs_of(tmp_path)


async def test_files_and_zips_read_by_an_official_are_in_the_audit_log(
    console: Console, tmp_blobs: LocalBlobStore
) -> None:
    ours, theirs = await two_communes(console)
    mine = await filed_dossier(console.db, tmp_blobs, ours)
    other = await filed_dossier(console.db, tmp_blobs, theirs, user_id=None)
    await console.sign_in("damai")
    file_id = mine.files[REGISTRATION]
    assert (await console.get(f"/console/files/{file_id}")).status == 200
    assert (await console.get(f"/console/dossiers/{mine.dossier_id}.zip")).status == 200
    # Outside the official's area: refused, and nothing is written.
    assert (await console.get(f"/console/files/{other.files[REGISTRATION]}")).status == 404
    assert (await console.get(f"/console/dossiers/{other.dossier_id}.zip")).status == 404

    async with console.db.sessions() as session:
        reader = await session.scalar(select(Official.id).where(Official.username == "damai"))
        entries = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action.in_(("file.viewed", "dossier.downloaded"))
                )
            )
        ).all()
    assert sorted(
        (e.action, e.entity, e.entity_id, e.producer_id, e.actor_id) for e in entries
    ) == [
        ("dossier.downloaded", "dossier", mine.dossier_id, ours, reader),
        ("file.viewed", "document_file", file_id, ours, reader),
    ]
    log = await signed_in_page(console, f"/console/audit?producer={ours}")
    assert "Uploaded file opened" in log or "Đã mở tệp" in log
