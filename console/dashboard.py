"""The dashboard, the console's first page (``/console/``): who the official is, and within
their areas the producers registered, products and dossiers by state, the documents waiting for
review (oldest first, with how long each has waited by the Clock) and the progress against the
province's plan for this year as charts. Province officials and administrators also see a
banner while Zalo refuses the OA's refresh token (nothing reaches Zalo users meanwhile)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.i18n import translator
from bot.rules import RuleSet
from console import plans
from console.config import CONFIG
from console.labels import DOSSIER_STATES, waited
from console.layout import signed_in_page
from console.pages import ROLE_LABELS
from console.plans import TargetProgress, plan_progress, rules_today
from console.security import signed_in
from storage.areas import get_area
from storage.clock import LOCAL_TIMEZONE
from storage.dashboard import WaitingDocument, overview, waiting_documents
from storage.models import Area, Plan
from storage.officials import areas_of, scope_of
from storage.plans import list_plans, province_ids
from storage.questions import count_open_questions, open_questions
from storage.states import OfficialRole
from storage.zalo_tokens import statuses

__all__ = ["add_routes", "waited"]

WAITING_SHOWN = 20
QUESTIONS_SHOWN = 5


def add_routes(router: web.UrlDispatcher) -> None:
    """The dashboard and the plans it follows (``console/plans.py``)."""
    router.add_get("/", dashboard, name="home")
    plans.add_routes(router)


@dataclass(frozen=True)
class WaitingRow:
    """A waiting document as the page shows it."""

    document: WaitingDocument
    name: str
    waited: str


@dataclass(frozen=True)
class PlanView:
    """A plan of this year with its province's name and the progress against each target."""

    plan: Plan
    province: str
    progress: list[TargetProgress]


def _document_name(rule_set: RuleSet, code: str, locale: str) -> str:
    try:
        return rule_set.document_type(code).name(locale)
    except KeyError:
        return code


def _area_label(area: Area, parent: Area | None) -> str:
    return f"{area.name}, {parent.name}" if parent is not None else area.name


async def dashboard(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    current = signed_in(request)
    official = current.official
    t = translator(official.locale)
    rule_set = rules_today(request)
    now = config.clock.now()
    year = now.astimezone(LOCAL_TIMEZONE).year
    async with config.db.sessions() as session:
        areas = await areas_of(session, official.id)
        labels = [
            _area_label(a, await get_area(session, a.parent_id) if a.parent_id else None)
            for a in areas
        ]
        scope = await scope_of(session, official)
        counts = await overview(session, scope)
        waiting, waiting_total = await waiting_documents(session, scope, WAITING_SHOWN)
        questions = await open_questions(session, scope, limit=QUESTIONS_SHOWN)
        questions_total = await count_open_questions(session, scope)
        zalo_failed = (
            [s.failed_at for s in await statuses(session) if s.failed_at is not None]
            if official.role in (OfficialRole.PROVINCE, OfficialRole.ADMIN)
            else []
        )
        plans = [
            p
            for p in await list_plans(session, await province_ids(session, scope))
            if p.year == year
        ]
        views = []
        for plan in plans:
            province = await get_area(session, plan.area_id)
            progress = await plan_progress(session, scope, plan, t, rule_set)
            views.append(PlanView(plan, province.name if province else "", progress))
    rows = [
        WaitingRow(d, _document_name(rule_set, d.doc_type, t.locale), waited(d.since, now, t))
        for d in waiting
    ]
    return signed_in_page(
        request,
        "dashboard_home.html",
        role=t.gettext(ROLE_LABELS[OfficialRole(official.role)]),
        areas=labels,
        counts=counts,
        states=[(str(s), t.gettext(label)) for s, label in DOSSIER_STATES.items()],
        waiting=rows,
        waiting_total=waiting_total,
        questions=[(q, waited(q.created_at, now, t)) for q in questions],
        questions_total=questions_total,
        plans=views,
        year=year,
        admin=scope.everything,
        signed_in_at=current.session.created_at,
        zalo_failed_since=min(zalo_failed, default=None),
    )
