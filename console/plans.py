"""Plans: a province's yearly OCOP targets, entered by administrators at ``/console/plans``
(province and commune officials read their province's plans), and the progress against each
target drawn as charts (here and on the dashboard).

Progress counts, within the official's areas, the dossiers filed in the plan's year, those
accepted as valid, and the products certified that year (a certificate issued in the year and
not revoked, of the target's stars or more — 3★ when it names none — set or group, tourism
and area), with the certified products by stars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_, Translator, translator
from bot.rules import RuleSet, rules
from console.charts import BarChart, bar_chart
from console.config import CONFIG
from console.layout import signed_in_page
from console.render import see_other
from console.security import signed_in
from storage.areas import communes_of, get_area, list_provinces
from storage.certificates import certified_counts
from storage.clock import LOCAL_TIMEZONE
from storage.dashboard import TargetFilter, count_for_targets
from storage.models import Area, Plan, PlanTarget
from storage.officials import Scope, scope_of
from storage.plans import (
    PlanError,
    TargetValues,
    add_target,
    create_plan,
    delete_plan,
    delete_target,
    get_plan,
    list_plans,
    province_ids,
    targets_of,
    update_plan,
)
from storage.states import OfficialRole

__all__ = ["TOURISM_GROUP", "TargetProgress", "add_routes", "plan_progress"]

Form = MultiDictProxy[Any]  # a posted form
TOURISM_GROUP = "VI"  # the rules' group of tourism services (community, eco-tourism, sites)
MAX_COUNT = 1_000_000
CERTIFIED_STARS = 3  # a target without stars counts certified products (3★ or more)

PLAN_ERRORS = {
    "year": N_("Enter a year between 2000 and 2100."),
    "area": N_("Choose a province."),
    "name": N_("Enter the plan's name (up to 200 characters)."),
    "taken": N_("This province already has a plan for that year."),
}
TARGET_ERRORS = {
    "count": N_("Enter how many products: a whole number from 1."),
    "min_stars": N_("Choose stars from 1 to 5, or none."),
    "product_set": N_("Choose a product set from the list."),
    "product_group": N_("Choose a group from the list."),
    "set_and_group": N_("Choose a product set or a group, not both."),
    "area": N_("Choose a commune of the plan's province."),
}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/plans", plans_page, name="plans")
    router.add_post("/plans", plan_create, name="plan_create")
    router.add_get("/plans/{plan_id:[0-9]{1,18}}", plan_page, name="plan")
    router.add_post("/plans/{plan_id:[0-9]{1,18}}", plan_update, name="plan_update")
    router.add_post("/plans/{plan_id:[0-9]{1,18}}/delete", plan_remove, name="plan_delete")
    router.add_post("/plans/{plan_id:[0-9]{1,18}}/targets", target_create, name="target_create")
    router.add_post(
        "/plans/{plan_id:[0-9]{1,18}}/targets/{target_id:[0-9]{1,18}}/delete",
        target_remove,
        name="target_delete",
    )


# -- progress ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetProgress:
    """One target, said in words, with the dossiers counting towards it and their chart."""

    target: PlanTarget
    description: str
    submitted: int
    accepted: int
    chart: BarChart
    numbers: str = ""  # the dossiers, in words
    certified_text: str = ""  # the certified products, in words, by stars


def _sets(target: PlanTarget, rule_set: RuleSet) -> set[int] | None:
    """The product sets a target counts (None: any)."""
    sets: set[int] | None = None
    if target.product_set is not None:
        sets = {target.product_set}
    elif target.product_group is not None:
        sets = {s.number for s in rule_set.sets_in_group(target.product_group)}
    if target.tourism:
        tourism = {s.number for s in rule_set.sets_in_group(TOURISM_GROUP)}
        sets = tourism if sets is None else sets & tourism
    return sets


def describe_target(
    target: PlanTarget, t: Translator, rule_set: RuleSet, area: Area | None
) -> str:
    """ "At least 25 products, 3★ or more, tourism, in Xã Lục Ngạn"."""
    parts = [
        t.ngettext("At least {n} product", "At least {n} products", target.count).format(
            n=t.number(target.count)
        )
    ]
    if target.min_stars:
        parts.append(t.gettext("{stars}★ or more").format(stars=target.min_stars))
    if target.product_set is not None:
        name = rule_set.product_set(target.product_set).name(t.locale)
        text = t.gettext("set {number}: {name}")
        parts.append(text.format(number=target.product_set, name=name))
    if target.product_group is not None:
        name = rule_set.group(target.product_group).name(t.locale)
        text = t.gettext("group {code}: {name}")
        parts.append(text.format(code=target.product_group, name=name))
    if target.tourism:
        parts.append(t.gettext("tourism services"))
    if area is not None:
        parts.append(t.gettext("in {area}").format(area=area.name))
    return ", ".join(parts)


async def plan_progress(
    session: AsyncSession, scope: Scope, plan: Plan, t: Translator, rule_set: RuleSet
) -> list[TargetProgress]:
    """Each target of ``plan`` the official may follow (a target set for an area outside their
    own is left out), with the dossiers of their areas counting towards it."""
    province = await get_area(session, plan.area_id)
    assert province is not None
    followed: list[tuple[PlanTarget, Area | None]] = []
    for target in await targets_of(session, plan.id):
        area = await get_area(session, target.area_id) if target.area_id else None
        if area is None or await scope.may_see_area(session, area.id):
            followed.append((target, area))
    counts = await count_for_targets(
        session,
        scope,
        year=plan.year,
        province_code=province.code,
        targets=[
            TargetFilter(area.code if area is not None else None, _sets(target, rule_set))
            for target, area in followed
        ],
    )
    shown: list[TargetProgress] = []
    for (target, area), counted in zip(followed, counts, strict=True):
        min_stars = target.min_stars or CERTIFIED_STARS
        certified = await certified_counts(
            session, scope, year=plan.year, province_code=province.code,
            area_code=area.code if area is not None else None,
            product_sets=_sets(target, rule_set), min_stars=min_stars,
        )  # fmt: skip
        by_stars = " · ".join(
            f"{stars}★ {t.number(certified.by_stars[stars])}" for stars in range(min_stars, 6)
        )
        description = describe_target(target, t, rule_set, area)
        numbers = t.gettext(
            "Target {target}; dossiers submitted {submitted}; accepted as valid {accepted}."
        ).format(
            target=t.number(target.count),
            submitted=t.number(counted.submitted),
            accepted=t.number(counted.accepted),
        )
        certified_text = t.gettext("Certified products {certified} ({stars}).").format(
            certified=t.number(certified.total), stars=by_stars
        )
        chart = bar_chart(
            f"target-{target.id}",
            description,
            f"{numbers} {certified_text}",
            target.count,
            [
                (t.gettext("Submitted"), "submitted", counted.submitted),
                (t.gettext("Accepted as valid"), "accepted", counted.accepted),
                (t.gettext("Certified"), "certified", certified.total),
            ],
        )
        shown.append(
            TargetProgress(
                target,
                description,
                counted.submitted,
                counted.accepted,
                chart,
                numbers=numbers,
                certified_text=certified_text,
            )
        )
    return shown


def rules_today(request: web.Request) -> RuleSet:
    """The rules in force on the Clock's day in Vietnam."""
    return rules(on=request.app[CONFIG].clock.now().astimezone(LOCAL_TIMEZONE).date())


# -- forms --------------------------------------------------------------------------------------


@dataclass
class PlanForm:
    """A plan's fields as typed, and what is wrong with them (field → message)."""

    year: str = ""
    area: str = ""
    name: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class TargetForm:
    """A target's fields as typed, and what is wrong with them."""

    count: str = ""
    min_stars: str = ""
    product_set: str = ""
    product_group: str = ""
    tourism: bool = False
    area: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _text(form: Form, name: str, limit: int = 300) -> str:
    value = form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def _whole(text: str, low: int, high: int) -> int | None:
    """A whole number typed (ASCII digits, dots or commas as thousands) within bounds."""
    digits = text.replace(".", "").replace(",", "").replace(" ", "")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 9:
        return None
    number = int(digits)
    return number if low <= number <= high else None


def _plan_form(form: Form, t: Translator) -> PlanForm:
    typed = PlanForm(_text(form, "year", 10), _text(form, "area", 20), _text(form, "name"))
    if _whole(typed.year, 2000, 2100) is None:
        typed.errors["year"] = t.gettext(PLAN_ERRORS["year"])
    if not typed.area.isdigit():
        typed.errors["area"] = t.gettext(PLAN_ERRORS["area"])
    if not " ".join(typed.name.split()) or len(typed.name) > 200:
        typed.errors["name"] = t.gettext(PLAN_ERRORS["name"])
    return typed


def _target_form(
    form: Form, t: Translator, rule_set: RuleSet
) -> tuple[TargetForm, TargetValues | None]:
    typed = TargetForm(
        count=_text(form, "count", 20),
        min_stars=_text(form, "min_stars", 2),
        product_set=_text(form, "product_set", 4),
        product_group=_text(form, "product_group", 4),
        tourism=form.get("tourism") == "1",
        area=_text(form, "area", 20),
    )
    errors = typed.errors
    count = _whole(typed.count, 1, MAX_COUNT)
    if count is None:
        errors["count"] = t.gettext(TARGET_ERRORS["count"])
    stars = _whole(typed.min_stars, 1, 5) if typed.min_stars else None
    if typed.min_stars and stars is None:
        errors["min_stars"] = t.gettext(TARGET_ERRORS["min_stars"])
    numbers = {s.number for s in rule_set.product_sets}
    product_set = _whole(typed.product_set, 1, 999) if typed.product_set else None
    if typed.product_set and product_set not in numbers:
        errors["product_set"] = t.gettext(TARGET_ERRORS["product_set"])
    group = typed.product_group or None
    if group is not None and group not in {g.code for g in rule_set.groups}:
        errors["product_group"] = t.gettext(TARGET_ERRORS["product_group"])
    if typed.product_set and group is not None:
        errors["product_set"] = t.gettext(TARGET_ERRORS["set_and_group"])
    area_id = _whole(typed.area, 1, 2**62) if typed.area else None
    if typed.area and area_id is None:
        errors["area"] = t.gettext(TARGET_ERRORS["area"])
    if errors or count is None:
        return typed, None
    values = TargetValues(count, stars, product_set, group, typed.tourism, area_id)
    return typed, values


# -- pages --------------------------------------------------------------------------------------


def _plan_id(request: web.Request, name: str = "plan_id") -> int:
    return int(request.match_info[name])


async def _readable_plan(session: AsyncSession, scope: Scope, plan_id: int) -> Plan:
    """The plan if the official may read it; 404 otherwise (as if it did not exist)."""
    plan = await get_plan(session, plan_id)
    if plan is None:
        raise web.HTTPNotFound()
    ids = await province_ids(session, scope)
    if ids is not None and plan.area_id not in ids:
        raise web.HTTPNotFound()
    return plan


def _admin_only(request: web.Request) -> None:
    """403 with a page for anyone but an administrator (plans are theirs to change)."""
    current = signed_in(request)
    if current.official.role != OfficialRole.ADMIN:
        raise web.HTTPForbidden(
            text=signed_in_page(request, "plans_forbidden.html", status=403).text,
            content_type="text/html",
        )


async def _names(session: AsyncSession, plans: list[Plan]) -> dict[int, str]:
    names: dict[int, str] = {}
    for plan in plans:
        area = await get_area(session, plan.area_id)
        names[plan.id] = area.name if area is not None else ""
    return names


async def _list_page(
    request: web.Request, form: PlanForm | None = None, status: int = 200
) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    async with config.db.sessions() as session:
        scope = await scope_of(session, official)
        plans = await list_plans(session, await province_ids(session, scope))
        names = await _names(session, plans)
        provinces = await list_provinces(session) if scope.everything else []
    return signed_in_page(
        request,
        "plans_list.html",
        status=status,
        plans=plans,
        province_names=names,
        provinces=provinces,
        admin=scope.everything,
        form=form or PlanForm(year=str(config.clock.now().astimezone(LOCAL_TIMEZONE).year)),
    )


async def plans_page(request: web.Request) -> web.Response:
    return await _list_page(request)


async def _province(session: AsyncSession, typed: PlanForm, t: Translator) -> Area | None:
    """The province chosen in the form (its errors noted when it is not one)."""
    area = await get_area(session, int(typed.area)) if "area" not in typed.errors else None
    if area is None or area.parent_id is not None:
        typed.errors["area"] = t.gettext(PLAN_ERRORS["area"])
        return None
    return area


def _plan_error(typed: PlanForm, error: PlanError, t: Translator) -> None:
    typed.errors[error.field] = t.gettext(PLAN_ERRORS.get(error.problem, PLAN_ERRORS["name"]))


async def plan_create(request: web.Request) -> web.StreamResponse:
    _admin_only(request)
    config = request.app[CONFIG]
    official = signed_in(request).official
    t = translator(official.locale)
    typed = _plan_form(await request.post(), t)
    async with config.db.transaction() as session:
        province = await _province(session, typed, t)
        if province is not None and not typed.errors:
            try:
                plan = await create_plan(
                    session,
                    year=int(typed.year),
                    province=province,
                    name=typed.name,
                    official_id=official.id,
                    clock=config.clock,
                )
            except PlanError as error:
                _plan_error(typed, error, t)
            else:
                return see_other(f"/console/plans/{plan.id}")
    return await _list_page(request, typed, status=400)


async def _plan_page(
    request: web.Request,
    plan_id: int,
    *,
    plan_form: PlanForm | None = None,
    target_form: TargetForm | None = None,
    status: int = 200,
) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    t = translator(official.locale)
    rule_set = rules_today(request)
    async with config.db.sessions() as session:
        scope = await scope_of(session, official)
        plan = await _readable_plan(session, scope, plan_id)
        province = await get_area(session, plan.area_id)
        progress = await plan_progress(session, scope, plan, t, rule_set)
        admin = scope.everything
        provinces = await list_provinces(session) if admin else []
        communes = await communes_of(session, plan.area_id) if admin else []
    return signed_in_page(
        request,
        "plans_show.html",
        status=status,
        plan=plan,
        province=province,
        progress=progress,
        admin=admin,
        provinces=provinces,
        communes=communes,
        rule_set=rule_set,
        plan_form=plan_form or PlanForm(str(plan.year), str(plan.area_id), plan.name),
        target_form=target_form or TargetForm(),
    )


async def plan_page(request: web.Request) -> web.Response:
    return await _plan_page(request, _plan_id(request))


async def plan_update(request: web.Request) -> web.StreamResponse:
    _admin_only(request)
    config = request.app[CONFIG]
    official = signed_in(request).official
    t = translator(official.locale)
    plan_id = _plan_id(request)
    typed = _plan_form(await request.post(), t)
    async with config.db.transaction() as session:
        plan = await _readable_plan(session, await scope_of(session, official), plan_id)
        province = await _province(session, typed, t)
        if province is not None and not typed.errors:
            try:
                await update_plan(
                    session,
                    plan,
                    year=int(typed.year),
                    province=province,
                    name=typed.name,
                    official_id=official.id,
                    clock=config.clock,
                )
            except PlanError as error:
                _plan_error(typed, error, t)
            else:
                return see_other(f"/console/plans/{plan_id}")
    return await _plan_page(request, plan_id, plan_form=typed, status=400)


async def plan_remove(request: web.Request) -> web.StreamResponse:
    _admin_only(request)
    config = request.app[CONFIG]
    official = signed_in(request).official
    async with config.db.transaction() as session:
        plan = await _readable_plan(session, await scope_of(session, official), _plan_id(request))
        await delete_plan(session, plan, official_id=official.id)
    return see_other("/console/plans")


async def target_create(request: web.Request) -> web.StreamResponse:
    _admin_only(request)
    config = request.app[CONFIG]
    official = signed_in(request).official
    t = translator(official.locale)
    plan_id = _plan_id(request)
    typed, values = _target_form(await request.post(), t, rules_today(request))
    async with config.db.transaction() as session:
        plan = await _readable_plan(session, await scope_of(session, official), plan_id)
        if values is not None:
            try:
                await add_target(
                    session, plan, values, official_id=official.id, clock=config.clock
                )
            except PlanError as error:
                message = TARGET_ERRORS.get(error.problem, TARGET_ERRORS["area"])
                typed.errors[error.field] = t.gettext(message)
            else:
                return see_other(f"/console/plans/{plan_id}#targets")
    return await _plan_page(request, plan_id, target_form=typed, status=400)


async def target_remove(request: web.Request) -> web.StreamResponse:
    _admin_only(request)
    config = request.app[CONFIG]
    official = signed_in(request).official
    plan_id = _plan_id(request)
    async with config.db.transaction() as session:
        plan = await _readable_plan(session, await scope_of(session, official), plan_id)
        found = await delete_target(
            session,
            plan,
            _plan_id(request, "target_id"),
            official_id=official.id,
            clock=config.clock,
        )
    if not found:
        raise web.HTTPNotFound()
    return see_other(f"/console/plans/{plan_id}#targets")
