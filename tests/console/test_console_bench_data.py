"""The console benchmark at a tiny size, on both backends: its data set (``bench/console_data.py``)
has the counts asked for, every producer in a real commune of the database, one busy producer,
and leaves the database usable (new rows get new ids); its harness (``bench/console.py``) signs
in, measures a page and reports a page that is not built."""

from __future__ import annotations

from sqlalchemy import func, select

from bench.console import PASSWORD, USERNAME, BackendResult, measure, sign_in, table
from bench.console_data import generate
from storage.clock import ManualClock
from storage.models import (
    Area,
    AuditEntry,
    DocumentFile,
    Dossier,
    DossierDocument,
    Producer,
    ProducerMember,
    Product,
    TranscriptEntry,
)
from storage.officials import add_official
from storage.states import OfficialRole
from tests.console.conftest import Console


async def count(console: Console, model: type, *where: object) -> int:
    async with console.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))  # type: ignore[arg-type]


async def test_the_data_set_has_the_counts_asked_for(console: Console) -> None:
    counts = await generate(
        console.db, producers=50, documents_per_producer=3, transcript_rows_per_producer=20
    )
    assert {k: counts[k] for k in ("producers", "products", "dossiers", "documents")} == {
        "producers": 50,
        "products": 50,
        "dossiers": 50,
        "documents": 150,
    }
    assert counts["transcript"] == 1000 and counts["audit"] == 50 * (2 + 3)
    for model, expected in (
        (Producer, 50),
        (ProducerMember, 50),
        (Product, 50),
        (Dossier, 50),
        (DossierDocument, 150),
        (DocumentFile, 150),
        (TranscriptEntry, 1000),
        (AuditEntry, 250),
    ):
        assert await count(console, model) == expected, model
    # Every producer is in a commune of the database, its province that commune's parent.
    commune = Area.__table__.alias("commune")
    in_place = await count(
        console,
        Producer,
        Producer.commune_id == commune.c.id,
        Producer.province_id == commune.c.parent_id,
    )
    assert in_place == 50
    assert await count(console, AuditEntry, AuditEntry.producer_id.is_(None)) == 0
    busy = counts["busy_producer"]
    async with console.db.sessions() as session:
        per_user = (
            await session.execute(
                select(TranscriptEntry.user_id, func.count()).group_by(TranscriptEntry.user_id)
            )
        ).all()
        owner = await session.scalar(
            select(ProducerMember.user_id).where(ProducerMember.producer_id == busy)
        )
    lines = dict(per_user)
    assert lines[owner] == max(lines.values()) > 20 and sum(lines.values()) == 1000
    area = await console.area("bac ninh", "Đa Mai")
    province = await console.area("bac ninh")
    assert await console.producer("HTX mới", province, area) > busy + 49  # ids moved on


async def test_the_same_seed_gives_the_same_names(console: Console) -> None:
    await generate(console.db, producers=5, seed=7)
    async with console.db.sessions() as session:
        first = list(await session.scalars(select(Producer.name).order_by(Producer.id)))
    assert len(first) == 5 and len(set(first)) == 5


async def test_the_bench_signs_in_measures_and_tells_pages_not_built(console: Console) -> None:
    counts = await generate(console.db, producers=20)
    async with console.db.transaction() as session:
        await add_official(
            session,
            username=USERNAME,
            display_name="Bench",
            role=OfficialRole.ADMIN,
            areas=(),
            locale="vi",
            password=PASSWORD,
            clock=ManualClock(),
        )
    base = console.url("/").rstrip("/")
    client = console.client.session
    await sign_in(client, base)
    audit = await measure(client, base, "audit log", "/console/audit", requests=5)
    missing = await measure(client, base, "nowhere", "/console/nowhere/1", requests=5)
    assert audit.built and len(audit.latencies) == 5 and audit.ms(0.95) > 0
    assert not missing.built and missing.latencies == []
    shown = table([BackendResult("sqlite", counts, 1.5, [audit, missing])])
    assert "audit log" in shown and "nowhere" in shown and "not built" in shown
    assert "20 producers, 60 documents, 400 transcript lines" in shown
