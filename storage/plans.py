"""Provinces' yearly OCOP plans and their targets: stored, listed, changed and removed (each
change audited, naming the official).

A plan belongs to one province (a top-level area) and one year; a province has at most one plan
a year. A target asks for at least ``count`` products, optionally of ``min_stars`` or more, of
one product set or one group (not both), in the tourism group, in one area inside the province.
Who may change plans (administrators) is the console's check; this module keeps the data whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.audit import audit
from storage.clock import Clock
from storage.models import Area, Plan, PlanTarget
from storage.officials import Scope
from storage.states import ActorKind, OfficialRole

__all__ = [
    "PlanError",
    "TargetValues",
    "add_target",
    "create_plan",
    "delete_plan",
    "delete_target",
    "get_plan",
    "list_plans",
    "plan_for",
    "province_ids",
    "targets_of",
    "update_plan",
]

YEARS = range(2000, 2101)
STARS = range(1, 6)


class PlanError(ValueError):
    """A plan or target that cannot be stored: ``field`` names the field that is wrong and
    ``problem`` the kind of problem (the field's name, or e.g. ``taken``)."""

    def __init__(self, field: str, message: str, problem: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.problem = problem or field


@dataclass(frozen=True)
class TargetValues:
    """What a target asks for (checked by :func:`add_target`)."""

    count: int
    min_stars: int | None = None
    product_set: int | None = None
    product_group: str | None = None
    tourism: bool = False
    area_id: int | None = None


def _check_plan(year: int, name: str, province: Area) -> str:
    if year not in YEARS:
        raise PlanError("year", f"year {year} is outside {YEARS.start}-{YEARS.stop - 1}")
    if province.parent_id is not None:
        raise PlanError("area", f"{province.name} is not a province")
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > 200:
        raise PlanError("name", "a plan's name has 1 to 200 characters")
    return cleaned


async def _taken(session: AsyncSession, province: Area, year: int, but: int | None) -> bool:
    found = await session.scalar(
        select(Plan.id).where(Plan.area_id == province.id, Plan.year == year)
    )
    return found is not None and found != but


async def _store(session: AsyncSession, plan: Plan, province: Area, year: int) -> None:
    """Write the plan now, in a savepoint: another official's plan for the same province and
    year committed meanwhile (the unique constraint) is refused like one found before."""
    try:
        async with session.begin_nested():
            session.add(plan)
            await session.flush()
    except IntegrityError:
        raise PlanError(
            "year", f"{province.name} already has a plan for {year}", "taken"
        ) from None


async def create_plan(
    session: AsyncSession,
    *,
    year: int,
    province: Area,
    name: str,
    official_id: int,
    clock: Clock,
) -> Plan:
    """A new plan without targets (audited); one per province and year."""
    cleaned = _check_plan(year, name, province)
    if await _taken(session, province, year, None):
        raise PlanError("year", f"{province.name} already has a plan for {year}", "taken")
    now = clock.now()
    plan = Plan(
        year=year,
        area_id=province.id,
        name=cleaned,
        created_by=official_id,
        created_at=now,
        updated_at=now,
    )
    await _store(session, plan, province, year)
    _audit(session, official_id, "plan.create", plan, year=year, area=province.code, name=cleaned)
    return plan


async def update_plan(
    session: AsyncSession,
    plan: Plan,
    *,
    year: int,
    province: Area,
    name: str,
    official_id: int,
    clock: Clock,
) -> None:
    """A plan's year, province or name changed (audited)."""
    cleaned = _check_plan(year, name, province)
    if await _taken(session, province, year, plan.id):
        raise PlanError("year", f"{province.name} already has a plan for {year}", "taken")
    plan.year, plan.area_id, plan.name = year, province.id, cleaned
    plan.updated_at = clock.now()
    await _store(session, plan, province, year)
    _audit(session, official_id, "plan.update", plan, year=year, area=province.code, name=cleaned)


async def delete_plan(session: AsyncSession, plan: Plan, *, official_id: int) -> None:
    """A plan and its targets removed (audited)."""
    await session.execute(delete(PlanTarget).where(PlanTarget.plan_id == plan.id))
    _audit(session, official_id, "plan.delete", plan, year=plan.year, name=plan.name)
    await session.delete(plan)


async def add_target(
    session: AsyncSession,
    plan: Plan,
    values: TargetValues,
    *,
    official_id: int,
    clock: Clock,
) -> PlanTarget:
    """A new target of ``plan`` (audited). Its area, if any, must lie in the plan's province."""
    if values.count < 1 or values.count > 1_000_000:
        raise PlanError("count", "a target's count is 1 to 1,000,000")
    if values.min_stars is not None and values.min_stars not in STARS:
        raise PlanError("min_stars", "stars are 1 to 5")
    if values.product_set is not None and values.product_group is not None:
        raise PlanError(
            "product_set", "a target names a product set or a group, not both", "set_and_group"
        )
    if values.area_id is not None and not await _inside(session, values.area_id, plan.area_id):
        raise PlanError("area", "the target's area is not in the plan's province")
    asked = asdict(values)  # the target's columns, and what the audit row records
    target = PlanTarget(plan_id=plan.id, **asked, created_at=clock.now())
    session.add(target)
    await session.flush()
    plan.updated_at = clock.now()
    _audit(session, official_id, "plan.target_add", plan, target_id=target.id, **asked)
    return target


async def delete_target(
    session: AsyncSession, plan: Plan, target_id: int, *, official_id: int, clock: Clock
) -> bool:
    """Remove one target of ``plan`` (audited); False when the plan has no such target."""
    target = await session.scalar(
        select(PlanTarget).where(PlanTarget.id == target_id, PlanTarget.plan_id == plan.id)
    )
    if target is None:
        return False
    await session.delete(target)
    plan.updated_at = clock.now()
    _audit(session, official_id, "plan.target_delete", plan, target_id=target_id)
    return True


async def _inside(session: AsyncSession, area_id: int, province_id: int) -> bool:
    """Whether the area lies below the province (any depth, matched by the parents' codes)."""
    province = await session.get(Area, province_id)
    area = await session.get(Area, area_id)
    seen: set[int] = set()
    while area is not None and area.parent_id is not None and area.id not in seen:
        seen.add(area.id)
        area = await session.get(Area, area.parent_id)
        if area is not None and province is not None and area.code == province.code:
            return True
    return False


def _audit(
    session: AsyncSession, official_id: int, action: str, plan: Plan, **details: Any
) -> None:
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=official_id,
        action=action,
        entity="plan",
        entity_id=plan.id,
        **details,
    )


async def get_plan(session: AsyncSession, plan_id: int) -> Plan | None:
    return await session.get(Plan, plan_id)


async def list_plans(session: AsyncSession, province_ids: Sequence[int] | None) -> list[Plan]:
    """Plans of the given provinces (every plan for None), newest year first."""
    query = select(Plan).order_by(Plan.year.desc(), Plan.name, Plan.id)
    if province_ids is not None:
        query = query.where(Plan.area_id.in_(province_ids))
    return list(await session.scalars(query))


async def plan_for(session: AsyncSession, province_ids: Sequence[int], year: int) -> Plan | None:
    """The plan of one of the provinces for ``year`` (the first by province name), or None."""
    return await session.scalar(
        select(Plan)
        .join(Area, Area.id == Plan.area_id)
        .where(Plan.area_id.in_(province_ids), Plan.year == year)
        .order_by(Area.name, Plan.id)
        .limit(1)
    )


async def targets_of(session: AsyncSession, plan_id: int) -> list[PlanTarget]:
    """A plan's targets in the order they were entered."""
    rows = await session.scalars(
        select(PlanTarget).where(PlanTarget.plan_id == plan_id).order_by(PlanTarget.id)
    )
    return list(rows)


async def province_ids(session: AsyncSession, scope: Scope) -> list[int] | None:
    """The ids (every version) of the provinces whose plans the official reads: an
    administrator every one (None), a province official theirs, a commune official the
    provinces of their communes."""
    if scope.everything:
        return None
    codes: set[str] = set(scope.codes)
    if scope.role is OfficialRole.COMMUNE:
        parent = aliased(Area)
        found = await session.scalars(
            select(parent.code)
            .join(Area, Area.parent_id == parent.id)
            .where(Area.code.in_(scope.codes))
        )
        codes = set(found)
    ids = await session.scalars(
        select(Area.id).where(Area.code.in_(codes), Area.parent_id.is_(None))
    )
    return list(ids)
