"""Rounds, entries and council members for the scoring tests, made directly with the models
(a province round of 2026 under rules 2026.1, entries in review with an accepted dossier), and
the points of full sheets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import cache

from bot.rules import rules
from storage.db import Database
from storage.models import (
    Area,
    CouncilMember,
    Dossier,
    Official,
    OfficialArea,
    Producer,
    Product,
    Round,
    RoundArea,
    RoundEntry,
    User,
)
from storage.passwords import hash_password
from storage.states import DossierStatus, EntryStatus, OfficialRole, RoundLevel

RULES = "2026.1"
WHEN = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


@cache
def _hash(password: str) -> str:
    return hash_password(password)


async def council_official(
    db: Database,
    username: str,
    role: OfficialRole = OfficialRole.ADMIN,
    areas: Sequence[Area] = (),
    *,
    password: str,
    council: bool = True,
    name: str | None = None,
    locale: str = "vi",
) -> Official:
    """An official made directly (the password hashed once per run: argon2 is slow on
    purpose), with the council role unless told otherwise."""
    async with db.transaction() as session:
        official = Official(
            username=username, display_name=name or f"Cán bộ {username}", role=role,
            locale=locale, password_hash=_hash(password), council=council,
            created_at=WHEN, updated_at=WHEN,
        )  # fmt: skip
        session.add(official)
        await session.flush()
        session.add_all(OfficialArea(official_id=official.id, area_id=a.id) for a in areas)
        return official


def full_points(set_number: int, share: str = "1") -> dict[str, str]:
    """Points for every section of the set's sheet: ``share`` of each maximum (cut to cents)."""
    from decimal import ROUND_DOWN, Decimal

    return {
        s.code: str((Decimal(s.max_points) * Decimal(share)).quantize(Decimal("0.01"), ROUND_DOWN))
        for s in rules(RULES).score_sheet(set_number)
    }


def every_minimum(set_number: int) -> list[str]:
    return [m.code for m in rules(RULES).minimums_for(set_number)]


async def make_round(
    db: Database, province: Area, created_by: int, *, name: str = "Đợt 2 năm 2026"
) -> int:
    async with db.transaction() as session:
        made = Round(
            level=RoundLevel.PROVINCE, name=name, year=2026, opens_on=date(2026, 7, 1),
            submission_deadline=date(2026, 10, 30), evaluation_deadline=date(2026, 12, 15),
            results_on=date(2026, 12, 30), rules_version=RULES, created_by=created_by,
            created_at=WHEN, updated_at=WHEN,
        )  # fmt: skip
        session.add(made)
        await session.flush()
        session.add(RoundArea(round_id=made.id, area_id=province.id))
        return made.id


async def make_entry(
    db: Database,
    round_id: int,
    province: Area,
    *,
    product: str = "Mật ong bạc hà",
    product_set: int = 1,
    producer: str = "HTX Đa Mai",
    status: EntryStatus = EntryStatus.IN_REVIEW,
) -> int:
    """A producer of ``province`` with a product and an accepted dossier, entered into the
    round; the entry's id."""
    async with db.transaction() as session:
        user = User(display_name="Lan", locale="vi")
        maker = Producer(
            org_type="coop", name=producer, tax_code="0101234567", rep_name="Trần Văn B",
            rep_position="Giám đốc", rep_gender="male", rep_ethnicity="Kinh",
            phone="0912345678", province_id=province.id,
        )  # fmt: skip
        session.add_all([user, maker])
        await session.flush()
        made = Product(
            producer_id=maker.id, product_set=product_set, name=product, created_by=user.id
        )
        session.add(made)
        await session.flush()
        dossier = Dossier(
            product_id=made.id, kind="first", rules_version=RULES,
            status=DossierStatus.APPROVED, submitted_at=WHEN,
        )  # fmt: skip
        session.add(dossier)
        await session.flush()
        entry = RoundEntry(
            round_id=round_id, dossier_id=dossier.id, product_id=made.id,
            producer_id=maker.id, status=status, submitted_at=WHEN,
        )  # fmt: skip
        session.add(entry)
        await session.flush()
        return entry.id


async def seat(db: Database, round_id: int, official_id: int, *, chair: bool = False) -> None:
    async with db.transaction() as session:
        session.add(
            CouncilMember(round_id=round_id, official_id=official_id, chair=chair, added_at=WHEN)
        )
