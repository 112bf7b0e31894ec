"""Evaluation results and OCOP certificates: publishing a round's results, issuing a
certificate for a certified entry, revoking one on a legal ground, finding them, and counting
certified products for the plans.

Every change is audited in its own transaction. Telling producers is the caller's part
(``bot/results_notify.py``): these functions return what changed. The rules (which stars are
certified, how long a certificate is valid) come from the caller as ``rules`` (``bot.rules.
rules``, given a rule-set version), so the entry's own rule set decides and this layer imports
nothing above it.

Certificate numbers are public (``/verify/<number>``, the QR code) and must not be guessable or
enumerable: ``PP-YYYY-XXXXXXXXC``, the province code (``00`` for the ministry), the year of
issue, eight random characters of a 31-letter alphabet without look-alikes (no 0/O, 1/I/L) and
a check character. The check makes the weighted sum of every character's value (digits of the
prefix by their value, the rest by their place in the alphabet; weights 1, 2, 3… by position)
divisible by 31, a prime larger than any difference of two values: every single changed
character and every swap of two neighbours breaks it, so a mistyped number is told apart
without asking the database.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import audit
from storage.models import Area, Certificate, Producer, Product, Round, RoundEntry
from storage.officials import Scope
from storage.states import (
    ActorKind,
    CertificateStatus,
    EntryStatus,
    RevocationGround,
    RoundLevel,
)

__all__ = [
    "ALPHABET",
    "CENTRAL_AUTHORITY",
    "CertificateRow",
    "CertificateRules",
    "CertificateState",
    "CertifiedCount",
    "EntryRow",
    "ProductResult",
    "ResultsError",
    "certificate_by_number",
    "certificate_row",
    "certificate_row_by_number",
    "certificate_state",
    "certificates_of_producer",
    "certified_counts",
    "check_character",
    "default_authority",
    "entries_of_round",
    "entry_certified",
    "issue_certificate",
    "list_certificates",
    "make_number",
    "normalise_number",
    "publish_results",
    "results_of_producer",
    "revoke",
]

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 characters, none mistaken for another
_MODULUS = len(ALPHABET)  # 31, a prime
RANDOM_LENGTH = 8
CENTRAL_CODE = "00"
CENTRAL_AUTHORITY = "Bộ trưởng Bộ Nông nghiệp và Môi trường"
_NUMBER = re.compile(rf"(\d{{2}})(\d{{4}})([{ALPHABET}]{{{RANDOM_LENGTH + 1}}})")
MAX_REASON = 2000
MAX_AUTHORITY = 200


class CertificateRules(Protocol):
    """What this module asks of a rule set (``bot.rules.RuleSet`` is one)."""

    def is_certified(self, stars: int) -> bool: ...

    def certificate_expiry(self, issued: date) -> date: ...


class ResultsError(ValueError):
    """A results or certificate change that cannot be made; ``problem`` says which rule:
    ``not_closed``, ``published``, ``not_published``, ``not_certified``, ``issued``,
    ``authority``, ``reason``, ``revoked``, ``before_issue``, ``unknown``."""

    def __init__(self, problem: str, message: str) -> None:
        super().__init__(message)
        self.problem = problem


class CertificateState:
    """What a certificate is on a given day (shown, not stored: expiry is read from the date)."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"


# -- numbers ----------------------------------------------------------------------------------


def _values(significant: str) -> list[int]:
    """The checksum values of a number's 15 significant characters (prefix digits by value)."""
    prefix, body = significant[:6], significant[6:]
    return [int(c) for c in prefix] + [ALPHABET.index(c) for c in body]


def _weighted(values: list[int]) -> int:
    return sum((i + 1) * v for i, v in enumerate(values)) % _MODULUS


def check_character(without_check: str) -> str:
    """The check character for the 14 significant characters before it."""
    total = _weighted(_values(without_check))
    weight = len(without_check) + 1
    return ALPHABET[(-total * pow(weight, -1, _MODULUS)) % _MODULUS]


def _format(significant: str) -> str:
    return f"{significant[:2]}-{significant[2:6]}-{significant[6:]}"


def normalise_number(typed: str) -> str | None:
    """The number in its printed form (``24-2026-K7M2X9QHR``) when ``typed`` is a well-formed
    number whose check character matches (case, spaces and hyphens ignored); else None.
    Answers without the database."""
    compact = re.sub(r"[\s-]", "", typed.strip()).upper()
    if len(compact) > 40 or not compact.isascii() or not _NUMBER.fullmatch(compact):
        return None
    if _weighted(_values(compact)) != 0:
        return None
    return _format(compact)


def make_number(area_code: str, year: int, draw: Callable[[str], str] = secrets.choice) -> str:
    """A fresh number for a certificate of ``year`` in the province with ``area_code``
    (a code that is not two digits, and the ministry's certificates, get ``00``)."""
    code = area_code if re.fullmatch(r"\d{2}", area_code) else CENTRAL_CODE
    body = "".join(draw(ALPHABET) for _ in range(RANDOM_LENGTH))
    significant = f"{code}{year:04d}{body}"
    return _format(significant + check_character(significant))


async def _unused_number(session: AsyncSession, area_code: str, year: int) -> str:
    for _ in range(20):
        number = make_number(area_code, year)
        if (
            await session.scalar(select(Certificate.id).where(Certificate.number == number))
            is None
        ):
            return number
    raise RuntimeError("no unused certificate number after 20 draws")  # 31⁸ numbers a year


# -- results ----------------------------------------------------------------------------------


def _audit(
    session: AsyncSession, official_id: int, action: str, entity: str, entity_id: int,
    producer_id: int | None, at: datetime, **details: Any,
) -> None:  # fmt: skip
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=official_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        producer_id=producer_id,
        at=at,
        **details,
    )


async def publish_results(
    session: AsyncSession, round_id: int, *, official_id: int, now: datetime
) -> list[RoundEntry]:
    """Publish a round's results once its scores are closed: every scored entry becomes
    ``published`` and the round gets ``published_at`` (audited). Returns the entries, for the
    producers to be told."""
    found = await session.get(Round, round_id, with_for_update=True)
    if found is None:
        raise ResultsError("unknown", f"no round {round_id}")
    if found.scores_closed_at is None:
        raise ResultsError("not_closed", "the round's scores are not closed yet")
    if found.published_at is not None:
        raise ResultsError("published", "the round's results are already published")
    entries = list(
        await session.scalars(
            select(RoundEntry)
            .where(RoundEntry.round_id == round_id, RoundEntry.status == EntryStatus.SCORED)
            .order_by(RoundEntry.id)
        )
    )
    for entry in entries:
        entry.status = EntryStatus.PUBLISHED
        entry.published_at = now
        entry.version += 1
    found.published_at = now
    found.updated_at = now
    found.version += 1
    _audit(
        session, official_id, "round.publish_results", "round", round_id, None, now,
        entries=[e.id for e in entries],
    )  # fmt: skip
    return entries


def default_authority(level: str, province_name: str | None) -> str:
    """Who signs a round's certificates: the province's chair (``Chủ tịch UBND tỉnh …``) or,
    for central rounds, the minister."""
    if level == RoundLevel.CENTRAL or not province_name:
        return CENTRAL_AUTHORITY
    return f"Chủ tịch UBND {province_name[:1].lower()}{province_name[1:]}"


def entry_certified(entry: RoundEntry, rule_set: CertificateRules) -> bool:
    """Whether an entry's outcome earns a certificate: its stars certified, not knocked out."""
    return entry.stars is not None and not entry.knocked_out and rule_set.is_certified(entry.stars)


async def issue_certificate(
    session: AsyncSession,
    entry_id: int,
    *,
    issued_on: date,
    authority: str,
    official_id: int,
    now: datetime,
    rules: Callable[[str], CertificateRules],
) -> Certificate:
    """The certificate of a published, certified entry (3★ or more, not knocked out), valid
    as the entry's rule set says from ``issued_on``; one per entry (audited)."""
    entry = await session.get(RoundEntry, entry_id, with_for_update=True)
    if entry is None:
        raise ResultsError("unknown", f"no round entry {entry_id}")
    if entry.status != EntryStatus.PUBLISHED:
        raise ResultsError("not_published", "the entry's results are not published")
    round_ = await session.get_one(Round, entry.round_id)
    rule_set = rules(entry.rules_version or round_.rules_version)
    if entry.stars is None or not entry_certified(entry, rule_set):
        raise ResultsError("not_certified", "the entry did not earn a certificate")
    cleaned = " ".join(authority.split())
    if not cleaned or len(cleaned) > MAX_AUTHORITY:
        raise ResultsError("authority", "the authority has 1 to 200 characters")
    if await session.scalar(select(Certificate.id).where(Certificate.entry_id == entry_id)):
        raise ResultsError("issued", "the entry already has a certificate")
    producer = await session.get_one(Producer, entry.producer_id)
    province = await session.get(Area, producer.province_id)
    code = (
        CENTRAL_CODE if round_.level == RoundLevel.CENTRAL or province is None else province.code
    )
    certificate = Certificate(
        number=await _unused_number(session, code, issued_on.year),
        entry_id=entry.id,
        product_id=entry.product_id,
        producer_id=entry.producer_id,
        stars=entry.stars,
        issued_on=issued_on,
        expires_on=rule_set.certificate_expiry(issued_on),
        authority=cleaned,
        rules_version=entry.rules_version or round_.rules_version,
        status=CertificateStatus.VALID,
        issued_by=official_id,
        created_at=now,
    )
    session.add(certificate)
    await session.flush()
    _audit(
        session, official_id, "certificate.issue", "certificate", certificate.id,
        entry.producer_id, now, number=certificate.number, entry=entry.id, stars=entry.stars,
        issued_on=issued_on.isoformat(), expires_on=certificate.expires_on.isoformat(),
        authority=cleaned,
    )  # fmt: skip
    return certificate


async def revoke(
    session: AsyncSession,
    certificate_id: int,
    *,
    ground: RevocationGround,
    reason: str,
    official_id: int,
    today: date,
    now: datetime,
) -> Certificate:
    """Revoke a valid certificate on one of the legal grounds, with a reason (audited)."""
    certificate = await session.get(Certificate, certificate_id, with_for_update=True)
    if certificate is None:
        raise ResultsError("unknown", f"no certificate {certificate_id}")
    if certificate.status == CertificateStatus.REVOKED:
        raise ResultsError("revoked", "the certificate is already revoked")
    cleaned = reason.strip()
    if not cleaned or len(cleaned) > MAX_REASON:
        raise ResultsError("reason", "a revocation needs a reason (up to 2,000 characters)")
    if today < certificate.issued_on:
        raise ResultsError("before_issue", "a certificate cannot be revoked before its issue")
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_on = today
    certificate.revoked_ground = RevocationGround(ground)
    certificate.revoked_reason = cleaned
    certificate.revoked_by = official_id
    _audit(
        session, official_id, "certificate.revoke", "certificate", certificate.id,
        certificate.producer_id, now, number=certificate.number, ground=str(ground),
        reason=cleaned, revoked_on=today.isoformat(),
    )  # fmt: skip
    return certificate


# -- reading ----------------------------------------------------------------------------------


def certificate_state(certificate: Certificate, today: date) -> str:
    """``valid``, ``expired`` (after its expiry date) or ``revoked``."""
    if certificate.status == CertificateStatus.REVOKED:
        return CertificateState.REVOKED
    return CertificateState.VALID if today <= certificate.expires_on else CertificateState.EXPIRED


async def certificate_by_number(session: AsyncSession, number: str) -> Certificate | None:
    """The certificate with this number (typed in any case, with or without hyphens), or
    None; a number whose check character is wrong is not looked up."""
    normal = normalise_number(number)
    if normal is None:
        return None
    return await session.scalar(select(Certificate).where(Certificate.number == normal))


async def certificates_of_producer(session: AsyncSession, producer_id: int) -> list[Certificate]:
    """A producer's certificates, newest first."""
    rows = await session.scalars(
        select(Certificate)
        .where(Certificate.producer_id == producer_id)
        .order_by(Certificate.issued_on.desc(), Certificate.id.desc())
    )
    return list(rows)


@dataclass(frozen=True)
class CertificateRow:
    """A certificate with what a page shows beside it."""

    certificate: Certificate
    product_name: str
    product_set: int
    producer_name: str
    commune_name: str
    province_name: str
    round_name: str | None
    round_level: str | None


def _rows_query() -> Select[Any]:
    province = Area.__table__.alias("province")
    return (
        select(
            Certificate,
            Product.name,
            Product.product_set,
            Producer.name,
            Producer.commune_name,
            province.c.name,
            Round.name,
            Round.level,
        )
        .join(Product, Product.id == Certificate.product_id)
        .join(Producer, Producer.id == Certificate.producer_id)
        .join(province, province.c.id == Producer.province_id)
        .outerjoin(RoundEntry, RoundEntry.id == Certificate.entry_id)
        .outerjoin(Round, Round.id == RoundEntry.round_id)
    )


def _row(found: Any) -> CertificateRow:
    return CertificateRow(*found)


async def certificate_row(session: AsyncSession, certificate_id: int) -> CertificateRow | None:
    found = (await session.execute(_rows_query().where(Certificate.id == certificate_id))).first()
    return _row(found) if found is not None else None


async def certificate_row_by_number(session: AsyncSession, number: str) -> CertificateRow | None:
    """The certificate with this printed number and what the verify page shows."""
    found = (await session.execute(_rows_query().where(Certificate.number == number))).first()
    return _row(found) if found is not None else None


def _state_condition(state: str, today: date) -> ColumnElement[bool]:
    if state == CertificateState.REVOKED:
        return Certificate.status == CertificateStatus.REVOKED
    valid = Certificate.status == CertificateStatus.VALID
    if state == CertificateState.EXPIRED:
        return and_(valid, Certificate.expires_on < today)
    return and_(valid, Certificate.expires_on >= today)


def _in_area(code: str) -> ColumnElement[bool]:
    ids = select(Area.id).where(Area.code == code)
    return or_(Producer.province_id.in_(ids), Producer.commune_id.in_(ids))


async def list_certificates(
    session: AsyncSession,
    scope: Scope,
    *,
    today: date,
    state: str | None = None,
    stars: int | None = None,
    area_code: str | None = None,
    number: str | None = None,
    limit: int = 200,
) -> list[CertificateRow]:
    """The certificates of producers the official may see, newest first, filtered."""
    query = _rows_query().where(scope.producers())
    if state:
        query = query.where(_state_condition(state, today))
    if stars:
        query = query.where(Certificate.stars == stars)
    if area_code:
        query = query.where(_in_area(area_code))
    if number:
        normal = normalise_number(number)
        compact = re.sub(r"[\s-]", "", number).upper()
        query = query.where(
            Certificate.number == normal
            if normal
            else func.replace(Certificate.number, "-", "").contains(compact, autoescape=True)
        )
    query = query.order_by(Certificate.issued_on.desc(), Certificate.id.desc()).limit(limit)
    return [_row(found) for found in await session.execute(query)]


@dataclass(frozen=True)
class EntryRow:
    """A round entry on the results page: its outcome and certificate, if any."""

    entry: RoundEntry
    product_name: str
    product_set: int
    producer_name: str
    certificate: Certificate | None


async def entries_of_round(session: AsyncSession, round_id: int, scope: Scope) -> list[EntryRow]:
    """The entries of a round whose producers the official may see, best score first."""
    rows = await session.execute(
        select(RoundEntry, Product.name, Product.product_set, Producer.name, Certificate)
        .join(Product, Product.id == RoundEntry.product_id)
        .join(Producer, Producer.id == RoundEntry.producer_id)
        .outerjoin(Certificate, Certificate.entry_id == RoundEntry.id)
        .where(RoundEntry.round_id == round_id, scope.producers())
        .order_by(RoundEntry.score.desc().nulls_last(), RoundEntry.id)
    )
    return [EntryRow(*found) for found in rows]


# -- producers' results (chat) ----------------------------------------------------------------


@dataclass(frozen=True)
class ProductResult:
    """One product of a producer: its latest round entry (if any), the round, and its
    certificates, newest first."""

    product: Product
    entry: RoundEntry | None
    round: Round | None
    certificates: tuple[Certificate, ...]


async def results_of_producer(session: AsyncSession, producer_id: int) -> list[ProductResult]:
    """Every product of the producer with its latest entry and its certificates."""
    products = list(
        await session.scalars(
            select(Product).where(Product.producer_id == producer_id).order_by(Product.id)
        )
    )
    entries = await session.execute(
        select(RoundEntry, Round)
        .join(Round, Round.id == RoundEntry.round_id)
        .where(RoundEntry.producer_id == producer_id)
        .order_by(RoundEntry.submitted_at, RoundEntry.id)
    )
    latest: dict[int, tuple[RoundEntry, Round]] = {}
    for entry, round_ in entries:
        latest[entry.product_id] = (entry, round_)
    certificates: dict[int, list[Certificate]] = {}
    for certificate in await certificates_of_producer(session, producer_id):
        certificates.setdefault(certificate.product_id, []).append(certificate)
    results = []
    for product in products:
        found = latest.get(product.id)
        results.append(
            ProductResult(
                product,
                found[0] if found else None,
                found[1] if found else None,
                tuple(certificates.get(product.id, ())),
            )
        )
    return results


# -- counting for plans -----------------------------------------------------------------------


@dataclass(frozen=True)
class CertifiedCount:
    """Products with a certificate that counts (issued in the year, not revoked), and how
    many of them at each star level (a product counts once, at its best)."""

    total: int
    by_stars: dict[int, int]


async def certified_counts(
    session: AsyncSession,
    scope: Scope,
    *,
    year: int | None = None,
    province_code: str | None = None,
    area_code: str | None = None,
    product_sets: Collection[int] | None = None,
    min_stars: int | None = None,
    valid_on: date | None = None,
) -> CertifiedCount:
    """Certified products of producers the official may see: not revoked, issued in ``year``
    (any year for None) and, with ``valid_on``, not expired that day; of the province and
    area (by code, any version), of the product sets, of ``min_stars`` or more."""
    conditions: list[ColumnElement[bool]] = [
        scope.producers(),
        Certificate.status == CertificateStatus.VALID,
    ]
    if year is not None:
        conditions += [Certificate.issued_on >= date(year, 1, 1)]
        conditions += [Certificate.issued_on <= date(year, 12, 31)]
    if valid_on is not None:
        conditions.append(Certificate.expires_on >= valid_on)
    if province_code is not None:
        conditions.append(
            Producer.province_id.in_(select(Area.id).where(Area.code == province_code))
        )
    if area_code is not None:
        conditions.append(_in_area(area_code))
    if product_sets is not None:
        conditions.append(Product.product_set.in_(sorted(product_sets)))
    if min_stars is not None:
        conditions.append(Certificate.stars >= min_stars)
    best = (
        select(Certificate.product_id, func.max(Certificate.stars).label("stars"))
        .join(Product, Product.id == Certificate.product_id)
        .join(Producer, Producer.id == Certificate.producer_id)
        .where(*conditions)
        .group_by(Certificate.product_id)
        .subquery()
    )
    rows = await session.execute(select(best.c.stars, func.count()).group_by(best.c.stars))
    by_stars = {stars: 0 for stars in range(1, 6)}
    for stars, count in rows:
        by_stars[int(stars)] = int(count)
    return CertifiedCount(total=sum(by_stars.values()), by_stars=by_stars)
