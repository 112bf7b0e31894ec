"""Rounds with scored entries for the results and certificate tests, made directly with the
models (a product, its approved dossier, a round covering the province, the entry with the
council's outcome), as the scoring helpers would leave them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from storage.db import Database
from storage.models import Dossier, Official, Product, Round, RoundArea, RoundEntry, User
from storage.states import DossierStatus, EntryStatus, RoundLevel


@dataclass(frozen=True)
class Outcome:
    """What the council found for one entry."""

    score: str
    stars: int
    knocked_out: tuple[str, ...] = ()
    potential_five_star: bool = False


async def make_round(
    db: Database,
    *,
    area_id: int,
    now: datetime,
    name: str = "Kỳ đánh giá 1 năm 2026",
    closed: bool = True,
    level: RoundLevel = RoundLevel.PROVINCE,
) -> int:
    """A round of 2026 covering ``area_id``, its scores closed unless told otherwise."""
    async with db.transaction() as session:
        creator = Official(
            username=f"creator{now.timestamp():.0f}{name[-3:]}".lower().replace(" ", ""),
            display_name="Người tạo", role="admin", password_hash="x", created_at=now,
            updated_at=now,
        )  # fmt: skip
        session.add(creator)
        await session.flush()
        found = Round(
            level=level, name=name, year=2026, opens_on=date(2026, 1, 1),
            submission_deadline=date(2026, 4, 30), evaluation_deadline=date(2026, 6, 15),
            results_on=date(2026, 6, 30), rules_version="2026.1",
            scores_closed_at=now if closed else None, created_by=creator.id, created_at=now,
            updated_at=now,
        )  # fmt: skip
        session.add(found)
        await session.flush()
        session.add(RoundArea(round_id=found.id, area_id=area_id))
        return found.id


async def make_entry(
    db: Database,
    round_id: int,
    producer_id: int,
    outcome: Outcome | None,
    *,
    now: datetime,
    product: str = "Mật ong bạc hà",
    product_set: int = 1,
    user_id: int | None = None,
) -> tuple[int, int]:
    """A product with an approved dossier entered in the round, scored with ``outcome``
    (None: not scored yet); returns (entry id, product id)."""
    async with db.transaction() as session:
        if user_id is None:
            user = User(display_name="Chủ thể", created_at=now)
            session.add(user)
            await session.flush()
            user_id = user.id
        made = Product(
            producer_id=producer_id, product_set=product_set, name=product, created_by=user_id,
            created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(made)
        await session.flush()
        dossier = Dossier(
            product_id=made.id, kind="new", rules_version="2026.1",
            status=DossierStatus.APPROVED, submitted_at=now, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(dossier)
        await session.flush()
        entry = RoundEntry(
            round_id=round_id, dossier_id=dossier.id, product_id=made.id,
            producer_id=producer_id, submitted_at=now,
            status=EntryStatus.SCORED if outcome else EntryStatus.IN_REVIEW,
        )  # fmt: skip
        if outcome is not None:
            entry.score = Decimal(outcome.score)
            entry.stars_by_points = outcome.stars
            entry.stars = 0 if outcome.knocked_out else outcome.stars
            entry.capped_by = []
            entry.knocked_out = list(outcome.knocked_out)
            entry.potential_five_star = outcome.potential_five_star
            entry.rules_version = "2026.1"
        session.add(entry)
        await session.flush()
        return entry.id, made.id
