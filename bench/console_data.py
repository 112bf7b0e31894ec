"""A console-sized data set for the console benchmark (``bench/console.py``): producers spread
over the real communes, their owner (a chat user with a Telegram identity), one product with one
dossier each, documents with a file each, transcript lines and the audit entries the chat would
have written; one producer (the first) is busy, with a large share of the transcript.

Rows go in bulk: COPY on PostgreSQL, ``executemany`` on SQLite, in batches, ids given here (the
tables may hold rows already; PostgreSQL's sequences are moved past them after). Deterministic
for a ``seed``. The communes are those in the database; when it has none, the real list is
imported first (``$OCOP_AREAS``, default ``vn-admin-units-2025.json`` of the shared data).

    counts = await generate(db, producers=100_000)   # 300,000 documents, 2,000,000 lines
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.rules import rules
from storage.areas import import_areas
from storage.db import Database
from storage.dossiers import waiting_since
from storage.models import (
    Area,
    AuditEntry,
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
from storage.states import (
    ActorKind,
    DocumentStatus,
    DossierStatus,
    MemberRole,
    ProducerStatus,
    TranscriptDirection,
)
from storage.text import fold

__all__ = ["AREAS", "BUSY_SHARE", "generate"]

ROOT = Path(__file__).resolve().parents[1]
AREAS = Path(
    os.environ.get("OCOP_AREAS")
    or next(
        (
            str(p)
            for p in (
                ROOT.parent / "shared" / "data" / "vn-admin-units-2025.json",
                Path("/work/shared/data/vn-admin-units-2025.json"),
            )
            if p.is_file()
        ),
        "vn-admin-units-2025.json",
    )
)
BATCH = 50_000
BUSY_SHARE = 0.0025  # of all transcript lines, for the busy producer (5,000 of 2,000,000)
START = datetime(2024, 1, 1, tzinfo=UTC)
ORGS = ("Hợp tác xã", "Tổ hợp tác", "Công ty TNHH", "Hộ kinh doanh")
GOODS = (
    "Mật ong",
    "Chè Shan tuyết",
    "Gạo ST25",
    "Bưởi Diễn",
    "Nước mắm",
    "Miến dong",
    "Cà phê",
    "Vải thiều",
    "Nhãn lồng",
    "Tương bần",
    "Rượu ngô",
    "Mây tre đan",
    "Gốm",
    "Nấm linh chi",
    "Hạt điều",
    "Tinh dầu sả",
    "Bánh đa",
    "Cam sành",
    "Chả mực",
    "Lụa tơ tằm",
)
SAYS = (
    "Xin chào",
    "Đăng ký chủ thể",
    "Tải lên tài liệu",
    "Nộp hồ sơ",
    "Cảm ơn",
    "Anh/chị vui lòng gửi giấy chứng nhận đăng ký kinh doanh.",
    "Đã nhận tài liệu.",
)
DOSSIER_STATES = (
    (DossierStatus.DRAFT, 40),
    (DossierStatus.SUBMITTED, 25),
    (DossierStatus.HAS_ISSUES, 10),
    (DossierStatus.EDITED, 5),
    (DossierStatus.APPROVED, 15),
    (DossierStatus.REJECTED, 5),
)


def _t(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _batches(
    rows: Iterable[tuple[Any, ...]], size: int = BATCH
) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Writer:
    """Bulk inserts of plain tuples into one table, as the backend takes them fastest."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return str(value)  # the state words' enums as plain text
        if isinstance(value, datetime):
            return value if self.postgres else value.replace(tzinfo=None).isoformat(" ")
        if isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False)
        return value

    async def insert(
        self, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
    ) -> int:
        _check_columns(table, columns)
        count = 0
        for batch in _batches(rows):
            values = [tuple(self.value(v) for v in row) for row in batch]
            if self.postgres:
                raw = await self.conn.get_raw_connection()
                driver: Any = raw.driver_connection
                await driver.copy_records_to_table(
                    table.name, records=values, columns=list(columns)
                )
            else:
                marks = ", ".join("?" for _ in columns)
                sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
                await self.conn.exec_driver_sql(sql, values)
            await self.conn.commit()
            count += len(values)
        return count

    async def next_id(self, table: Table) -> int:
        return int(await self.conn.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1

    async def move_sequence(self, table: Table) -> None:
        if self.postgres:
            await self.conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT max(id) FROM {table.name}))"
            )
            await self.conn.commit()


def _check_columns(table: Table, columns: Sequence[str]) -> None:
    """Every column that needs a value has one here (a new column fails loudly, not later)."""
    missing = [
        c.name
        for c in table.columns
        if c.name not in columns
        and not c.nullable
        and c.server_default is None
        and not (c.primary_key and c.autoincrement)
    ]
    if missing:
        raise RuntimeError(f"bench data for {table.name} lacks {', '.join(missing)}")


async def _communes(db: Database) -> list[tuple[int, int, str]]:
    """(commune id, province id, name) of every commune; imports the real list when none."""

    async def read() -> list[tuple[int, int, str]]:
        async with db.sessions() as session:
            rows = await session.execute(
                select(Area.id, Area.parent_id, Area.name)
                .where(Area.parent_id.is_not(None), Area.valid_to.is_(None))
                .order_by(Area.id)
            )
            return [(a, p, n) for a, p, n in rows if p is not None]

    found = await read()
    if not found:
        async with db.transaction() as session:
            await import_areas(session, AREAS)
        found = await read()
    return found


async def generate(
    db: Database,
    producers: int = 100_000,
    documents_per_producer: int = 3,
    transcript_rows_per_producer: int = 20,
    seed: int = 1,
) -> dict[str, int]:
    """Fill ``db`` (migrated) with the data set; returns how many rows of each kind were added,
    and ``busy_producer`` (the id of the producer with the most transcript lines)."""
    rng = random.Random(seed)
    communes = await _communes(db)
    rule_set = rules()
    doc_types = [d.code for d in rule_set.document_types][:documents_per_producer]
    if len(doc_types) < documents_per_producer:
        raise ValueError(f"at most {len(rule_set.document_types)} documents per producer")
    sets = [s.number for s in rule_set.product_sets]
    orgs = [o.code for o in rule_set.org_types if o.only_sets is None]
    states = [str(state) for state, _ in DOSSIER_STATES]
    weights = [weight for _, weight in DOSSIER_STATES]
    counts: dict[str, int] = {}
    async with db.engine.connect() as conn:
        w = _Writer(conn)
        tables = (
            User,
            ChannelIdentity,
            Producer,
            ProducerMember,
            Product,
            Dossier,
            DossierDocument,
            DocumentFile,
            TranscriptEntry,
            AuditEntry,
        )
        u0, c0, p0, m0, r0, d0, x0, f0, t0, a0 = [await w.next_id(_t(t)) for t in tables]

        places = [rng.choice(communes) for _ in range(producers)]
        born = [
            START + timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
            for _ in range(producers)
        ]
        chat = [str(8_000_000_000 + u0 + i) for i in range(producers)]

        counts["users"] = await w.insert(
            _t(User),
            ("id", "display_name", "locale", "created_at"),
            ((u0 + i, f"Người dùng {i}", "vi", born[i]) for i in range(producers)),
        )
        await w.insert(
            _t(ChannelIdentity),
            ("id", "user_id", "channel", "chat_id", "platform_user_id", "created_at"),
            ((c0 + i, u0 + i, "telegram", chat[i], chat[i], born[i]) for i in range(producers)),
        )

        def producer_rows() -> Iterator[tuple[Any, ...]]:
            for i in range(producers):
                commune, province, place = places[i]
                good = rng.choice(GOODS)
                name = f"{rng.choice(ORGS)} {good} {place.split(' ', 1)[-1]} {i + 1}"
                yield (
                    p0 + i,
                    rng.choice(orgs),
                    name,
                    fold(name),
                    f"{1_000_000_000 + i:010d}",
                    None,
                    f"Nguyễn Văn {i}",
                    "Giám đốc",
                    "male",
                    "Kinh",
                    f"09{i:08d}",
                    False,
                    None,
                    province,
                    commune,
                    place,
                    ProducerStatus.REGISTERED,
                    born[i],
                    born[i],
                )

        counts["producers"] = await w.insert(
            _t(Producer),
            (
                "id",
                "org_type",
                "name",
                "search_name",
                "tax_code",
                "business_reg_no",
                "rep_name",
                "rep_position",
                "rep_gender",
                "rep_ethnicity",
                "phone",
                "phone_verified",
                "email",
                "province_id",
                "commune_id",
                "commune_name",
                "status",
                "created_at",
                "updated_at",
            ),
            producer_rows(),
        )
        await w.insert(
            _t(ProducerMember),
            ("id", "producer_id", "user_id", "role", "joined_at"),
            ((m0 + i, p0 + i, u0 + i, MemberRole.OWNER, born[i]) for i in range(producers)),
        )
        counts["products"] = await w.insert(
            _t(Product),
            (
                "id",
                "producer_id",
                "product_set",
                "name",
                "search_name",
                "description",
                "packaging",
                "yearly_output",
                "raw_material_area",
                "created_by",
                "created_at",
                "updated_at",
            ),
            (
                (
                    r0 + i,
                    p0 + i,
                    rng.choice(sets),
                    (product := f"{rng.choice(GOODS)} loại {i % 7 + 1}"),
                    fold(product),
                    "",
                    "",
                    "",
                    "",
                    u0 + i,
                    born[i],
                    born[i],
                )
                for i in range(producers)
            ),
        )
        status = rng.choices(states, weights, k=producers)
        filed = [
            None if status[i] == DossierStatus.DRAFT else born[i] + timedelta(days=3)
            for i in range(producers)
        ]
        counts["dossiers"] = await w.insert(
            _t(Dossier),
            (
                "id",
                "product_id",
                "kind",
                "rules_version",
                "status",
                "submitted_at",
                "latest",
                "created_at",
                "updated_at",
            ),
            (
                (
                    d0 + i,
                    r0 + i,
                    "first",
                    rule_set.version,
                    status[i],
                    filed[i],
                    True,  # the product's only dossier
                    born[i],
                    born[i],
                )
                for i in range(producers)
            ),
        )
        k = documents_per_producer

        def document_rows() -> Iterator[tuple[Any, ...]]:
            for i in range(producers):
                for j, doc_type in enumerate(doc_types):
                    at = born[i] + timedelta(days=1, minutes=j)
                    received = DocumentStatus.RECEIVED
                    since = waiting_since(received, at, status[i], filed[i])
                    yield (x0 + i * k + j, d0 + i, doc_type, received, since, at, at)

        counts["documents"] = await w.insert(
            _t(DossierDocument),
            (
                "id",
                "dossier_id",
                "doc_type",
                "status",
                "waiting_since",
                "created_at",
                "updated_at",
            ),
            document_rows(),
        )
        await w.insert(
            _t(DocumentFile),
            (
                "id",
                "document_id",
                "sha256",
                "size",
                "kind",
                "mime_type",
                "original_name",
                "platform_unique_id",
                "uploaded_by",
                "current",
                "created_at",
            ),
            (
                (
                    f0 + n,
                    x0 + n,
                    hashlib.sha256(str(n).encode()).hexdigest(),
                    150_000 + n % 997,
                    "pdf",
                    "application/pdf",
                    f"tai-lieu-{n}.pdf",
                    "",
                    u0 + n // k,
                    True,
                    born[n // k] + timedelta(days=1),
                )
                for n in range(producers * k)
            ),
        )

        total = producers * transcript_rows_per_producer
        busy = min(total, max(10 * transcript_rows_per_producer, int(total * BUSY_SHARE)))
        others, extra = divmod(total - busy, max(producers - 1, 1))
        lines = [busy] + [others + (1 if i <= extra else 0) for i in range(1, producers)]
        if producers == 1:
            lines = [total]

        def transcript_rows() -> Iterator[tuple[Any, ...]]:
            n = 0
            for i in range(producers):
                for j in range(lines[i]):
                    direction = TranscriptDirection.IN if j % 2 == 0 else TranscriptDirection.OUT
                    at = born[i] + timedelta(seconds=30 * j)
                    yield (
                        t0 + n,
                        "telegram",
                        chat[i],
                        u0 + i,
                        direction,
                        "text",
                        SAYS[(i + j) % len(SAYS)],
                        {},
                        at,
                    )
                    n += 1

        counts["transcript"] = await w.insert(
            _t(TranscriptEntry),
            (
                "id",
                "channel",
                "chat_id",
                "user_id",
                "direction",
                "kind",
                "text",
                "payload",
                "created_at",
            ),
            transcript_rows(),
        )

        def audit_rows() -> Iterator[tuple[Any, ...]]:
            n = a0
            for i in range(producers):
                yield (
                    n,
                    born[i],
                    ActorKind.USER,
                    u0 + i,
                    "producer.registered",
                    "producer",
                    p0 + i,
                    p0 + i,
                    {},
                )
                yield (
                    n + 1,
                    born[i],
                    ActorKind.USER,
                    u0 + i,
                    "product.registered",
                    "product",
                    r0 + i,
                    p0 + i,
                    {"dossier_id": d0 + i},
                )
                n += 2
                for j in range(k):
                    yield (
                        n,
                        born[i] + timedelta(days=1, minutes=j),
                        ActorKind.USER,
                        u0 + i,
                        "document.uploaded",
                        "dossier_document",
                        x0 + i * k + j,
                        p0 + i,
                        {"dossier_id": d0 + i, "doc_type": doc_types[j]},
                    )
                    n += 1

        counts["audit"] = await w.insert(
            _t(AuditEntry),
            (
                "id",
                "at",
                "actor_kind",
                "actor_id",
                "action",
                "entity",
                "entity_id",
                "producer_id",
                "details",
            ),
            audit_rows(),
        )
        for model in tables:
            await w.move_sequence(_t(model))
        await conn.commit()
        if w.postgres:  # what autovacuum does soon after; SQLite is left as the bot leaves it
            # VACUUM as well as ANALYZE: autovacuum vacuums a table after many inserts, which
            # sets the visibility map that index-only scans (the dashboard's counts) rely on.
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("VACUUM ANALYZE")
    counts["busy_producer"] = p0
    return counts
