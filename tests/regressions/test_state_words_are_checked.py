"""Regression: state words were plain strings, written out again wherever they were used.

Inbox, outbox, transcript, audit, producer, member, dossier and document states were string
literals scattered over storage/, bot/ and handlers/ (``"has_issues", "rejected"`` defined in
three places as "sent back", ``PARKED`` in the engine), and the database took any word: a typo
("aproved") was stored and the dossier silently left every group the code asks about. Now each
family is a ``StrEnum`` in ``storage/states.py``, the database refuses any other word (CHECK
constraints, migration 0006_state_checks), and no module outside ``storage/states.py`` (and the
migrations, which must keep their words) writes the words again.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import utcnow
from storage.db import Database
from storage.models import (
    Announcement,
    Area,
    AuditEntry,
    Base,
    Certificate,
    Delivery,
    Dossier,
    DossierDocument,
    InboxEvent,
    Official,
    OfficialChat,
    OfficialDigestItem,
    OutboxMessage,
    Producer,
    ProducerMember,
    Product,
    Question,
    Round,
    RoundEntry,
    Timer,
    TranscriptEntry,
    User,
)
from storage.states import (
    ActorKind,
    AnnouncementStatus,
    CertificateStatus,
    DeliveryReason,
    DeliveryStatus,
    DocumentStatus,
    DossierStatus,
    EntryStatus,
    InboxStatus,
    MemberRole,
    NotifyMode,
    OfficialEvent,
    OfficialRole,
    OutboxKind,
    OutboxStatus,
    ProducerStatus,
    QuestionStatus,
    RevocationGround,
    RoundLevel,
    TimerKind,
    TimerStatus,
    TranscriptDirection,
)
from tests.engine.conftest import database

__all__ = ["database"]

ROOT = Path(__file__).resolve().parents[2]
_ids = itertools.count(1)

Row = Callable[[AsyncSession, str], Any]


async def _user(session: AsyncSession) -> User:
    user = User(display_name="u")
    session.add(user)
    await session.flush()
    return user


async def _producer(session: AsyncSession, status: str = ProducerStatus.REGISTERED) -> Producer:
    province = await session.scalar(select(Area.id).where(Area.level == "province").limit(1))
    assert province is not None
    producer = Producer(
        org_type="htx",
        name="HTX",
        tax_code="0101234567",
        rep_name="A",
        rep_position="B",
        rep_gender="female",
        rep_ethnicity="Kinh",
        phone="0912345678",
        province_id=province,
        status=status,
    )
    session.add(producer)
    await session.flush()
    return producer


async def _dossier(session: AsyncSession, status: str = DossierStatus.DRAFT) -> Dossier:
    user = await _user(session)
    producer = await _producer(session)
    product = Product(producer_id=producer.id, product_set=1, name="P", created_by=user.id)
    session.add(product)
    await session.flush()
    dossier = Dossier(product_id=product.id, kind="new", rules_version="1", status=status)
    session.add(dossier)
    await session.flush()
    return dossier


async def inbox(session: AsyncSession, status: str) -> None:
    session.add(
        InboxEvent(channel="t", event_id=str(next(_ids)), chat_id="1", payload={}, status=status)
    )


async def outbox_status(session: AsyncSession, status: str) -> None:
    session.add(OutboxMessage(channel="t", chat_id="1", payload={}, status=status))


async def outbox_kind(session: AsyncSession, kind: str) -> None:
    session.add(OutboxMessage(channel="t", chat_id="1", payload={}, kind=kind))


async def transcript(session: AsyncSession, direction: str) -> None:
    session.add(TranscriptEntry(channel="t", chat_id="1", direction=direction, kind="text"))


async def audit(session: AsyncSession, actor_kind: str) -> None:
    session.add(AuditEntry(actor_kind=actor_kind, action="a", entity="e"))


async def producer(session: AsyncSession, status: str) -> None:
    await _producer(session, status)


async def member(session: AsyncSession, role: str) -> None:
    user = await _user(session)
    owner = await _producer(session)
    session.add(ProducerMember(producer_id=owner.id, user_id=user.id, role=role))


async def dossier(session: AsyncSession, status: str) -> None:
    await _dossier(session, status)


async def document(session: AsyncSession, status: str) -> None:
    parent = await _dossier(session)
    session.add(DossierDocument(dossier_id=parent.id, doc_type="d", status=status))


async def official(session: AsyncSession, role: str) -> None:
    now = utcnow()
    session.add(
        Official(
            username=f"official{next(_ids)}",
            display_name="O",
            role=role,
            password_hash="h",
            created_at=now,
            updated_at=now,
        )
    )


async def question(session: AsyncSession, status: str) -> None:
    user = await _user(session)
    owner = await _producer(session)
    session.add(Question(producer_id=owner.id, user_id=user.id, text="?", status=status))


async def _official(session: AsyncSession) -> Official:
    await official(session, OfficialRole.ADMIN)
    await session.flush()
    row = await session.scalar(select(Official).order_by(Official.id.desc()).limit(1))
    assert row is not None
    return row


async def official_chat(session: AsyncSession, mode: str) -> None:
    owner = await _official(session)
    session.add(OfficialChat(official_id=owner.id, mode=mode, digest_hour=8))


async def digest_item(session: AsyncSession, event: str) -> None:
    owner = await _official(session)
    about = await _producer(session)
    session.add(
        OfficialDigestItem(
            official_id=owner.id, event=event, producer_id=about.id, path="/", created_at=utcnow()
        )
    )


async def _round(session: AsyncSession, level: str = RoundLevel.PROVINCE) -> Round:
    owner = await _official(session)
    now = utcnow()
    day = now.date()
    row = Round(
        level=level,
        name="R",
        year=day.year,
        opens_on=day,
        submission_deadline=day,
        evaluation_deadline=day,
        results_on=day,
        rules_version="1",
        created_by=owner.id,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def round_level(session: AsyncSession, level: str) -> None:
    await _round(session, level)


async def _entry(session: AsyncSession, status: str = EntryStatus.SUBMITTED) -> RoundEntry:
    held = await _round(session)
    filed = await _dossier(session)
    product = await session.get(Product, filed.product_id)
    assert product is not None
    row = RoundEntry(
        round_id=held.id,
        dossier_id=filed.id,
        product_id=product.id,
        producer_id=product.producer_id,
        status=status,
        submitted_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return row


async def entry(session: AsyncSession, status: str) -> None:
    await _entry(session, status)


async def _certificate(session: AsyncSession, **words: str) -> None:
    filed = await _entry(session)
    owner = await _official(session)
    day = utcnow().date()
    session.add(
        Certificate(
            number=f"N{next(_ids)}",
            entry_id=filed.id,
            product_id=filed.product_id,
            producer_id=filed.producer_id,
            stars=3,
            issued_on=day,
            expires_on=day,
            authority="A",
            rules_version="1",
            issued_by=owner.id,
            created_at=utcnow(),
            **words,
        )
    )


async def certificate(session: AsyncSession, status: str) -> None:
    await _certificate(session, status=status)


async def revocation(session: AsyncSession, ground: str) -> None:
    await _certificate(session, status=CertificateStatus.REVOKED, revoked_ground=ground)


async def timer_kind(session: AsyncSession, kind: str) -> None:
    session.add(Timer(kind=kind, key=f"k{next(_ids)}", due_at=utcnow(), payload={}))


async def timer_status(session: AsyncSession, status: str) -> None:
    session.add(
        Timer(
            kind=TimerKind.RERATING_OPENS,
            key=f"k{next(_ids)}",
            due_at=utcnow(),
            payload={},
            status=status,
        )
    )


async def _announcement(
    session: AsyncSession, status: str = AnnouncementStatus.DRAFT
) -> Announcement:
    owner = await _official(session)
    now = utcnow()
    row = Announcement(
        created_by=owner.id, text_vi="T", status=status, created_at=now, updated_at=now
    )
    session.add(row)
    await session.flush()
    return row


async def announcement(session: AsyncSession, status: str) -> None:
    await _announcement(session, status)


async def _delivery(session: AsyncSession, **words: str | None) -> None:
    about = await _announcement(session)
    person = await _user(session)
    owner = await _producer(session)
    session.add(
        Delivery(
            announcement_id=about.id,
            user_id=person.id,
            producer_id=owner.id,
            channel="t",
            chat_id="1",
            created_at=utcnow(),
            **words,
        )
    )


async def delivery_status(session: AsyncSession, status: str) -> None:
    await _delivery(session, status=status)


async def delivery_reason(session: AsyncSession, reason: str) -> None:
    await _delivery(session, status=DeliveryStatus.FAILED, reason=reason)


FAMILIES: list[tuple[Row, type[StrEnum]]] = [
    (inbox, InboxStatus),
    (outbox_status, OutboxStatus),
    (outbox_kind, OutboxKind),
    (transcript, TranscriptDirection),
    (audit, ActorKind),
    (producer, ProducerStatus),
    (member, MemberRole),
    (dossier, DossierStatus),
    (document, DocumentStatus),
    (official, OfficialRole),
    (question, QuestionStatus),
    (official_chat, NotifyMode),
    (digest_item, OfficialEvent),
    (round_level, RoundLevel),
    (entry, EntryStatus),
    (certificate, CertificateStatus),
    (revocation, RevocationGround),
    (timer_kind, TimerKind),
    (timer_status, TimerStatus),
    (announcement, AnnouncementStatus),
    (delivery_status, DeliveryStatus),
    (delivery_reason, DeliveryReason),
]
# CHECK constraints that are not about state words.
OTHER_CHECKS = {("rounds", "ck_rounds_calendar")}


@pytest.mark.parametrize(("row", "states"), FAMILIES, ids=[f.__name__ for f, _ in FAMILIES])
async def test_only_the_families_words_are_stored(
    database: Database, row: Row, states: type[StrEnum]
) -> None:
    for state in states:
        async with database.transaction() as session:
            await row(session, state)
    first = str(next(iter(states)))
    for wrong in ("x", "", first.upper(), f"{first} "):  # each fits its column
        with pytest.raises(IntegrityError):
            async with database.transaction() as session:
                await row(session, wrong)


def test_every_checked_column_is_tested() -> None:
    checked = {
        (table.name, str(constraint.name))
        for table in Base.metadata.tables.values()
        for constraint in table.constraints
        if constraint.name and str(constraint.name).startswith("ck_")
    }
    assert len(checked - OTHER_CHECKS) == len(FAMILIES)


# Columns holding state words, and the words each may hold.
FIELDS: dict[str, set[str]] = {
    "status": {
        str(s)
        for s in itertools.chain(
            InboxStatus,
            OutboxStatus,
            ProducerStatus,
            DossierStatus,
            DocumentStatus,
            QuestionStatus,
            EntryStatus,
            CertificateStatus,
            TimerStatus,
            AnnouncementStatus,
            DeliveryStatus,
        )
    },
    "reason": {str(s) for s in DeliveryReason},
    "level": {str(s) for s in RoundLevel},
    "revoked_ground": {str(s) for s in RevocationGround},
    "kind": {str(s) for s in itertools.chain(OutboxKind, TimerKind)},
    "mode": {str(s) for s in NotifyMode},
    "event": {str(s) for s in OfficialEvent},
    "direction": {str(s) for s in TranscriptDirection},
    "actor_kind": {str(s) for s in ActorKind},
    "role": {str(s) for s in itertools.chain(MemberRole, OfficialRole)},
}
ALL_WORDS = set().union(*FIELDS.values())


def _field(node: ast.expr) -> str | None:
    """The state column an expression names (``row.status``, ``Outbox.kind``, ``status``)."""
    if isinstance(node, ast.Attribute):
        return node.attr if node.attr in FIELDS else None
    if isinstance(node, ast.Name):
        return node.id if node.id in FIELDS else None
    return None


def _words(node: ast.expr | None) -> list[str]:
    """The string literals of ``node``: itself, or the items of a tuple, list or set."""
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]


def _written_again(tree: ast.AST) -> list[tuple[int, str]]:
    """Where a state word is written as a literal against a state column, or a group of them
    is defined (a tuple or set of two or more state words)."""
    found: list[tuple[int, str]] = []

    def flag(node: ast.AST, field: str | None, value: ast.expr | None) -> None:
        if field is not None:
            found.extend(
                (getattr(node, "lineno", 0), w) for w in _words(value) if w in FIELDS[field]
            )

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for a, b in itertools.permutations(sides, 2):
                flag(node, _field(a), b)
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                flag(node, keyword.arg if keyword.arg in FIELDS else None, keyword.value)
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("in_", "not_in"):
                flag(node, _field(node.func.value), node.args[0] if node.args else None)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in FIELDS:
                    flag(node, str(key.value), value)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                flag(node, _field(target), node.value)
        elif isinstance(node, ast.Tuple | ast.Set):
            words = _words(node)
            if len(words) >= 2 and len(words) == len(node.elts) and set(words) <= ALL_WORDS:
                found.append((node.lineno, ", ".join(words)))
    return found


def _modules() -> list[Path]:
    skip = {ROOT / "storage" / "states.py"}
    return [
        path
        for package in ("storage", "bot", "console", "handlers")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path not in skip and "migrations" not in path.parts
    ]


def test_state_words_are_written_only_in_storage_states() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {word!r}"
        for path in _modules()
        for line, word in _written_again(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not found, "state words outside storage/states.py:\n" + "\n".join(found)


def test_the_scan_finds_words_written_again() -> None:
    source = """
SENT_BACK = ("has_issues", "rejected")
if dossier.status == "draft": pass
if "approved" != doc.status: pass
query.where(InboxEvent.status.in_(("pending", "sending")))
row.status = "done"
Outcome(status="sent")
values = {"direction": "in"}
"""
    assert sorted({line for line, _ in _written_again(ast.parse(source))}) == [2, 3, 4, 5, 6, 7, 8]
