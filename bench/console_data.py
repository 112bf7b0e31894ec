"""A large, realistic data set for the console's benchmarks and tests, written with bulk inserts.

:func:`generate` adds producers spread over the communes already loaded (each with an owner user
and a Telegram identity), 0–2 products each in real product sets, each product's dossier in a
mix of states, documents with one file each, and transcript lines for every producer's chat.
Names are Vietnamese with diacritics ("Hợp tác xã Chè Lục Ngạn 17"); phones are E.164
(``+849…``); everything follows ``seed``, so two runs make the same data.

    .venv/bin/python -m bench.console_data URL [--producers N]   # prints the time it took

On PostgreSQL the rows go in with ``COPY`` (asyncpg's ``copy_records_to_table``) and the id
sequences are moved past them; on SQLite with ``executemany`` in large batches.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.rules import rules
from storage.areas import import_areas
from storage.db import Database
from storage.models import (
    Area,
    Base,
    ChannelIdentity,
    DocumentFile,
    Dossier,
    DossierDocument,
    Producer,
    ProducerMember,
    Product,
    TranscriptEntry,
    User,
)
from storage.states import DocumentStatus, DossierStatus, MemberRole, ProducerStatus
from storage.text import fold

__all__ = ["generate"]

ROOT = Path(__file__).resolve().parents[1]
AREA_FILES = (
    ROOT.parent / "shared" / "data" / "vn-admin-units-2025.json",
    ROOT / "tests" / "data" / "communes-sample.csv",
)
BATCH = 5000
START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)

_KINDS = ("Hợp tác xã", "Tổ hợp tác", "Công ty TNHH", "Hộ kinh doanh", "Cơ sở sản xuất")
_GOODS = ("Chè", "Mật ong", "Nước mắm", "Gạo", "Vải thiều", "Cà phê", "Miến dong", "Bưởi",
          "Nấm", "Mắm tôm", "Rượu", "Dầu lạc", "Bánh đa", "Tương", "Thổ cẩm")  # fmt: skip
_PLACES = ("Lục Ngạn", "Tân Cương", "Đa Mai", "Cửa Lò", "Mộc Châu", "Phúc Trạch", "Cao Phong",
           "Bắc Hà", "Sìn Hồ", "Đồng Tháp", "Cát Hải", "Kiến Xương")  # fmt: skip
_PERSONS = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em")
_DOSSIER_MIX = (
    (DossierStatus.DRAFT, 50),
    (DossierStatus.SUBMITTED, 20),
    (DossierStatus.HAS_ISSUES, 10),
    (DossierStatus.EDITED, 5),
    (DossierStatus.APPROVED, 12),
    (DossierStatus.REJECTED, 3),
)
_LINES = ("Xin chào", "Đăng ký chủ thể", "Hợp tác xã", "0912 345 678", "Bắc Ninh", "Có", "Tiếp")


async def _ensure_areas(session: AsyncSession) -> list[tuple[int, int, str]]:
    """The communes (id, province id, name) to spread producers over; imports them if none."""
    for _attempt in range(2):
        province = _table(Area).alias("province")
        rows = (
            await session.execute(
                select(Area.id, province.c.id, Area.name)
                .join(province, province.c.id == Area.parent_id)
                .where(Area.valid_to.is_(None), province.c.parent_id.is_(None))
                .order_by(Area.id)
            )
        ).all()
        if rows:
            return [(int(a), int(p), str(n)) for a, p, n in rows]
        path = next((p for p in AREA_FILES if p.is_file()), None)
        if path is None:
            break
        await import_areas(session, path)
    raise RuntimeError("no communes: import areas first (ocop-bot areas import FILE)")


async def _next_id(session: AsyncSession, table: Table) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1


async def _bulk(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (every row the same keys): COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        columns = list(rows[0])
        json_columns = {c.name for c in table.columns if c.type.__class__.__name__ == "JSON"}
        records = [
            tuple(json.dumps(r[c]) if c in json_columns else r[c] for c in columns) for r in rows
        ]
        raw = await connection.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            table.name, records=records, columns=columns
        )
        return
    for start in range(0, len(rows), BATCH):
        await session.execute(insert(table), list(rows[start : start + BATCH]))


async def _move_sequences(session: AsyncSession, tables: Sequence[Table]) -> None:
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        await session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"
            )
        )


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _weighted(rng: random.Random, mix: Sequence[tuple[DossierStatus, int]]) -> DossierStatus:
    return rng.choices([s for s, _ in mix], weights=[w for _, w in mix])[0]


def _chunks(first: int, count: int, size: int) -> Iterator[range]:
    for start in range(first, first + count, size):
        yield range(start, min(start + size, first + count))


async def generate(
    db: Database,
    producers: int = 100_000,
    documents_per_producer: int = 3,
    transcript_rows_per_producer: int = 20,
    seed: int = 1,
) -> dict[str, int]:
    """Add ``producers`` producers (with users, products, dossiers, ``documents_per_producer``
    documents and ``transcript_rows_per_producer`` transcript lines each) to a migrated
    database; import the communes first if it has none. Returns how many rows of each kind
    were added. Rows are written a chunk of producers at a time, each chunk one transaction.

    About 1 producer in 10 has no product, 1 in 10 has two; each product has one dossier
    (states: half drafts, the rest submitted, sent back, edited, approved or rejected) with
    ``documents_per_producer`` documents, so documents number about that many times the
    producers (300,000 for the defaults).
    """
    rng = random.Random(seed)
    rule_set = rules()
    sets = [s.number for s in rule_set.product_sets]
    org_types = [o.code for o in rule_set.org_types if o.only_sets is None]
    doc_types = [d.code for d in rule_set.document_types]
    counts = dict.fromkeys(("producers", "products", "dossiers", "documents", "transcript"), 0)
    async with db.transaction() as session:
        communes = await _ensure_areas(session)
        ids = {
            t.name: await _next_id(session, t)
            for t in (
                _table(User),
                _table(ChannelIdentity),
                _table(Producer),
                _table(ProducerMember),
                _table(Product),
                _table(Dossier),
                _table(DossierDocument),
                _table(DocumentFile),
                _table(TranscriptEntry),
            )
        }
    first_user = ids["users"]
    for chunk in _chunks(0, producers, 10_000):
        users, identities, rows, members = [], [], [], []
        products, dossiers, documents, files, lines = [], [], [], [], []
        for n in chunk:
            user_id, producer_id = first_user + n, ids["producers"] + n
            at = START + timedelta(minutes=5 * n)
            chat_id = str(5_000_000_000 + user_id)
            commune_id, province_id, commune_name = communes[rng.randrange(len(communes))]
            name = f"{rng.choice(_KINDS)} {rng.choice(_GOODS)} {rng.choice(_PLACES)} {n}"
            users.append({"id": user_id, "display_name": f"user{n}", "locale": "vi",
                          "created_at": at})  # fmt: skip
            identities.append({
                "id": ids["channel_identities"] + n, "user_id": user_id, "channel": "telegram",
                "chat_id": chat_id, "platform_user_id": chat_id, "created_at": at,
            })  # fmt: skip
            rows.append({
                "id": producer_id, "org_type": rng.choice(org_types), "name": name,
                "search_name": fold(name), "tax_code": f"{rng.randrange(10**9, 10**10):010d}",
                "rep_name": rng.choice(_PERSONS), "rep_position": "Giám đốc",
                "rep_gender": "male", "rep_ethnicity": "Kinh",
                "phone": f"+849{rng.randrange(10**8):08d}", "phone_verified": True,
                "province_id": province_id, "commune_id": commune_id,
                "commune_name": commune_name, "status": ProducerStatus.REGISTERED.value,
                "created_at": at, "updated_at": at,
            })  # fmt: skip
            members.append({"id": ids["producer_members"] + n, "producer_id": producer_id,
                            "user_id": user_id, "role": MemberRole.OWNER.value,
                            "joined_at": at})  # fmt: skip
            roll = rng.random()
            how_many = 0 if roll < 0.1 else 2 if roll > 0.9 else 1
            for _ in range(how_many):
                product_id = ids["products"] + counts["products"]
                dossier_id = ids["dossiers"] + counts["dossiers"]
                counts["products"] += 1
                counts["dossiers"] += 1
                good = rng.choice(_GOODS)
                product_name = f"{good} {rng.choice(_PLACES)}"
                products.append({
                    "id": product_id, "producer_id": producer_id,
                    "product_set": rng.choice(sets), "name": product_name,
                    "search_name": fold(product_name), "description": "", "packaging": "",
                    "yearly_output": "", "raw_material_area": "", "created_by": user_id,
                    "created_at": at, "updated_at": at,
                })  # fmt: skip
                status = _weighted(rng, _DOSSIER_MIX)
                dossiers.append({
                    "id": dossier_id, "product_id": product_id, "kind": "new",
                    "rules_version": rule_set.version, "status": status.value,
                    "submitted_at": None if status is DossierStatus.DRAFT else at,
                    "created_at": at, "updated_at": at,
                })  # fmt: skip
                for doc_type in rng.sample(doc_types, min(documents_per_producer, len(doc_types))):
                    document_id = ids["dossier_documents"] + counts["documents"]
                    counts["documents"] += 1
                    documents.append({
                        "id": document_id, "dossier_id": dossier_id, "doc_type": doc_type,
                        "status": DocumentStatus.RECEIVED.value, "created_at": at,
                        "updated_at": at,
                    })  # fmt: skip
                    files.append({
                        "id": ids["document_files"] + document_id - ids["dossier_documents"],
                        "document_id": document_id, "sha256": f"{document_id:064x}",
                        "size": 120_000, "kind": "document", "mime_type": "application/pdf",
                        "original_name": f"{doc_type}.pdf", "platform_unique_id": "",
                        "uploaded_by": user_id, "current": True, "created_at": at,
                    })  # fmt: skip
            for k in range(transcript_rows_per_producer):
                lines.append({
                    "id": ids["transcript"] + counts["transcript"], "channel": "telegram",
                    "chat_id": chat_id, "user_id": user_id, "direction": "in" if k % 2 else "out",
                    "kind": "text", "text": _LINES[k % len(_LINES)], "payload": {},
                    "created_at": at + timedelta(seconds=30 * k),
                })  # fmt: skip
                counts["transcript"] += 1
        async with db.transaction() as session:
            for table, batch in (
                (_table(User), users), (_table(ChannelIdentity), identities),
                (_table(Producer), rows), (_table(ProducerMember), members),
                (_table(Product), products), (_table(Dossier), dossiers),
                (_table(DossierDocument), documents), (_table(DocumentFile), files),
                (_table(TranscriptEntry), lines),
            ):  # fmt: skip
                await _bulk(session, table, batch)
        counts["producers"] += len(chunk)
    async with db.transaction() as session:
        await _move_sequences(
            session,
            [_table(User), _table(ChannelIdentity), _table(Producer),
             _table(ProducerMember), _table(Product), _table(Dossier),
             _table(DossierDocument), _table(DocumentFile),
             _table(TranscriptEntry)],
        )  # fmt: skip
        if (await session.connection()).dialect.name == "postgresql":
            await session.execute(text("ANALYZE"))
    return counts


async def _main(url: str, producers: int) -> None:
    from storage.migrate import upgrade

    await upgrade(url)
    db = Database(url)
    try:
        began = time.perf_counter()
        counts = await generate(db, producers)
        print(f"{counts} in {time.perf_counter() - began:.1f} s")
    finally:
        await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="database URL (migrated first)")
    parser.add_argument("--producers", type=int, default=100_000)
    arguments = parser.parse_args()
    asyncio.run(_main(arguments.url, arguments.producers))
