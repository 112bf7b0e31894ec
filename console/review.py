"""The producer page, the dossier page and the officials' review decisions.

``/console/producers/{id}``: the registration, areas, people, their chats (the app, whether the
bot can reach it, the last message: ``console/channels.py``) and the products with their
dossiers. ``/console/dossiers/{id}``: the checklist by tier (knock-outs marked), each document's
files (viewed through :mod:`console.review_files`) and history, and the forms to
approve a document, send it back with a reason, accept the dossier as valid or reject it.

Every page and form finds its producer through the official's scope (another area's id is a
404). Decisions are :mod:`bot.review`'s (audited, naming the official; the producer told in
chat). Each form carries the version of the document or dossier it was shown with: a decision
on a version changed since (another official decided, the producer uploaded again) is refused
with a 409 page that says what it is now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dossier_progress import DocumentLine, Progress, progress
from bot.i18n import N_, translator
from bot.profile_choices import GENDERS
from bot.review import decide_document, decide_dossier
from bot.rules import Tier, rules
from console import review_files
from console.channels import chat_lines
from console.config import CONFIG
from console.labels import DOSSIER_STATES
from console.layout import signed_in_page
from console.render import path_id, see_other
from console.review_files import INLINE_KINDS
from console.security import signed_in
from storage.dossiers import ReviewError, StaleDecision, documents_of
from storage.models import DocumentFile, Dossier, DossierDocument, Producer, Product
from storage.officials import Scope, scope_of
from storage.review import (
    HistoryLine,
    dossier_in_scope,
    files_of,
    history_of,
    official_names,
    producer_in_scope,
    producer_profile,
    products_with_dossiers,
)
from storage.states import UNDER_REVIEW, DocumentStatus, DossierStatus

__all__ = ["add_routes"]

REASON_LIMIT = 2000

TIER_NAMES = {
    Tier.TO_FILE: N_("Needed to file"),
    Tier.FOR_3_STARS: N_("Needed for 3★"),
    Tier.HELPS_SCORE: N_("Extra points"),
}
DOCUMENT_STATES = {
    None: N_("Not uploaded"),
    DocumentStatus.RECEIVED: N_("Received, to review"),
    DocumentStatus.EDITED: N_("Uploaded again, to review"),
    DocumentStatus.APPROVED: N_("Approved"),
    DocumentStatus.HAS_ISSUES: N_("Sent back"),
    DocumentStatus.REJECTED: N_("Rejected"),
}
ACTIONS = {
    "document.uploaded": N_("File uploaded"),
    "document.approved": N_("Approved"),
    "document.has_issues": N_("Sent back"),
    "document.rejected": N_("Rejected"),
    "dossier.submitted": N_("Dossier filed"),
    "dossier.approved": N_("Dossier accepted as valid"),
    "dossier.has_issues": N_("Dossier sent back"),
    "dossier.rejected": N_("Dossier rejected"),
}
# What the document and dossier forms may decide.
DOCUMENT_DECISIONS = (DocumentStatus.APPROVED, DocumentStatus.HAS_ISSUES)
DOSSIER_DECISIONS = (DossierStatus.APPROVED, DossierStatus.REJECTED)


def add_routes(router: web.UrlDispatcher) -> None:
    review_files.add_routes(router)
    router.add_get("/producers/{id:[0-9]+}", producer_page, name="review_producer")
    router.add_get("/dossiers/{id:[0-9]+}", dossier_page, name="review_dossier")
    router.add_post(
        "/documents/{id:[0-9]+}/decision", document_decision, name="review_document_decision"
    )
    router.add_post(
        "/dossiers/{id:[0-9]+}/decision", dossier_decision, name="review_dossier_decision"
    )


async def _scope(session: AsyncSession, request: web.Request) -> Scope:
    return await scope_of(session, signed_in(request).official)


# --- the producer ----------------------------------------------------------------------------


async def producer_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    async with config.db.sessions() as session:
        producer = await producer_in_scope(
            session, await _scope(session, request), path_id(request)
        )
        if producer is None:
            raise web.HTTPNotFound()
        profile = await producer_profile(session, producer)
        products = await products_with_dossiers(session, producer.id)
    locale = signed_in(request).official.locale
    rule_set = rules()
    try:
        org_type = rule_set.org_type(producer.org_type).name(locale)
    except (KeyError, ValueError):
        org_type = producer.org_type
    return signed_in_page(
        request,
        "review_producer.html",
        section="producers",
        profile=profile,
        chats=chat_lines(profile.members, config.clock.now(), config.reply_windows),
        org_type=org_type,
        gender=translator(locale).gettext(GENDERS[producer.rep_gender])
        if producer.rep_gender in GENDERS
        else producer.rep_gender,
        products=[
            (product, _product_set_name(product, dossier, locale), dossier)
            for product, dossier in products
        ],
        dossier_states=DOSSIER_STATES,
    )


def _product_set_name(product: Product, dossier: Dossier | None, locale: str) -> str:
    try:
        set_rules = rules(dossier.rules_version) if dossier else rules()
        return f"{product.product_set}. {set_rules.product_set(product.product_set).name(locale)}"
    except (KeyError, ValueError):
        return str(product.product_set)


# --- the dossier -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One checklist line on the page: the requirement, its document, files and history."""

    line: DocumentLine
    name: str
    description: str
    files: list[DocumentFile] = field(default_factory=list)
    history: list[HistoryLine] = field(default_factory=list)
    reviewer: str = ""

    @property
    def document(self) -> DossierDocument | None:
        return self.line.document

    @property
    def current_files(self) -> list[DocumentFile]:
        return [f for f in self.files if f.current]

    @property
    def earlier_files(self) -> list[DocumentFile]:
        return [f for f in self.files if not f.current]


@dataclass(frozen=True)
class DossierView:
    """Everything the dossier page shows."""

    dossier: Dossier
    product: Product
    producer: Producer
    product_set: str
    kind: str
    state: Progress
    tiers: list[tuple[Tier, list[Row]]]
    history: list[HistoryLine]

    @property
    def under_review(self) -> bool:
        return self.dossier.status in UNDER_REVIEW

    @property
    def may_accept(self) -> bool:
        """Valid only with every document needed to file in and none sent back."""
        return self.under_review and self.state.complete


async def _dossier_view(
    session: AsyncSession, scope: Scope, dossier_id: int, locale: str
) -> DossierView:
    found = await dossier_in_scope(session, scope, dossier_id)
    if found is None:
        raise web.HTTPNotFound()
    dossier, product, producer = found
    documents = await documents_of(session, dossier.id)
    state = progress(dossier, product.product_set, documents)
    ids = [d.id for d in documents.values()]
    files = await files_of(session, ids)
    history = await history_of(session, "dossier_document", ids)
    reviewers = await official_names(
        session, [d.reviewed_by for d in documents.values() if d.reviewed_by]
    )
    tiers = []
    for tier in Tier:
        rows = [
            Row(
                line=line,
                name=line.requirement.name(locale),
                description=line.requirement.document.description(locale),
                files=files.get(line.document.id, []) if line.document else [],
                history=history.get(line.document.id, []) if line.document else [],
                reviewer=reviewers.get(line.document.reviewed_by or 0, "")
                if line.document
                else "",
            )
            for line in state.in_tier(tier)
        ]
        if rows:
            tiers.append((tier, rows))
    rule_set = rules(dossier.rules_version)
    try:
        kind = rule_set.dossier_kind(dossier.kind).name(locale)
    except (KeyError, ValueError):
        kind = dossier.kind
    return DossierView(
        dossier=dossier,
        product=product,
        producer=producer,
        product_set=_product_set_name(product, dossier, locale),
        kind=kind,
        state=state,
        tiers=tiers,
        history=(await history_of(session, "dossier", [dossier.id]))[dossier.id],
    )


async def _render_dossier(
    request: web.Request, dossier_id: int, *, status: int = 200, notice: str = ""
) -> web.Response:
    config = request.app[CONFIG]
    locale = signed_in(request).official.locale
    async with config.db.sessions() as session:
        view = await _dossier_view(session, await _scope(session, request), dossier_id, locale)
    return signed_in_page(
        request,
        "review_dossier.html",
        status=status,
        section="products",
        view=view,
        notice=notice,
        tier_names=TIER_NAMES,
        document_states=DOCUMENT_STATES,
        dossier_states=DOSSIER_STATES,
        actions=ACTIONS,
        inline_kinds=INLINE_KINDS,
        reason_limit=REASON_LIMIT,
    )


async def dossier_page(request: web.Request) -> web.Response:
    return await _render_dossier(request, path_id(request))


# --- decisions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """A decision form as posted."""

    status: str
    reason: str | None
    version: int


def _decision(form: Any, allowed: tuple[str, ...]) -> Decision | None:
    status, reason, version = form.get("decision"), form.get("reason"), form.get("version")
    if status not in allowed or not isinstance(version, str) or not version.isdigit():
        return None
    text = reason.strip()[:REASON_LIMIT] if isinstance(reason, str) else ""
    return Decision(str(status), text or None, int(version[:18]))


async def document_decision(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    _ = translator(official.locale).gettext
    document_id = path_id(request)
    async with config.db.sessions() as session:
        document = await session.get(DossierDocument, document_id)
        found = (
            await dossier_in_scope(session, await _scope(session, request), document.dossier_id)
            if document is not None
            else None
        )
    if document is None or found is None:
        raise web.HTTPNotFound()
    dossier = found[0]
    decision = _decision(await request.post(), DOCUMENT_DECISIONS)
    if decision is None:
        raise web.HTTPBadRequest()
    if decision.status == DocumentStatus.HAS_ISSUES and not decision.reason:
        notice = _("Say what is wrong with the document: the producer reads it in the chat.")
        return await _render_dossier(request, dossier.id, status=400, notice=notice)
    if dossier.status not in UNDER_REVIEW:
        notice = _("This dossier is not waiting for review; nothing was changed.")
        return await _render_dossier(request, dossier.id, status=409, notice=notice)
    try:
        async with config.db.transaction() as session:
            await decide_document(
                session,
                document_id,
                decision.status,
                official_id=official.id,
                reason=decision.reason,
                expected_version=decision.version,
            )
    except StaleDecision:
        return await _stale_document(request, dossier.id, document_id)
    except ReviewError:
        notice = _("This decision is not possible now; nothing was changed.")
        return await _render_dossier(request, dossier.id, status=409, notice=notice)
    return see_other(f"/console/dossiers/{dossier.id}#document-{document_id}")


async def _stale_document(request: web.Request, dossier_id: int, document_id: int) -> web.Response:
    """The 409 page: the decision was not saved, and what the document is now."""
    config = request.app[CONFIG]
    t = translator(signed_in(request).official.locale)
    async with config.db.sessions() as session:
        document = await session.get_one(DossierDocument, document_id)
        names = await official_names(session, [document.reviewed_by or 0])
    now = t.gettext(DOCUMENT_STATES.get(DocumentStatus(document.status), document.status))
    if document.reviewed_by and document.reviewed_at:
        notice = t.gettext(
            "Not saved: this document changed after you opened the page. It is now “{state}” "
            "({name}, {when}). Look at it again before you decide."
        ).format(
            state=now,
            name=names.get(document.reviewed_by, ""),
            when=t.datetime(document.reviewed_at),
        )
    else:
        notice = t.gettext(
            "Not saved: this document changed after you opened the page. It is now “{state}”. "
            "Look at it again before you decide."
        ).format(state=now)
    return await _render_dossier(request, dossier_id, status=409, notice=notice)


async def dossier_decision(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    t = translator(official.locale)
    _ = t.gettext
    dossier_id = path_id(request)
    async with config.db.sessions() as session:
        view = await _dossier_view(
            session, await _scope(session, request), dossier_id, official.locale
        )
    decision = _decision(await request.post(), DOSSIER_DECISIONS)
    if decision is None:
        raise web.HTTPBadRequest()
    if decision.status == DossierStatus.REJECTED and not decision.reason:
        notice = _("Say why the dossier is rejected: the producer reads it in the chat.")
        return await _render_dossier(request, dossier_id, status=400, notice=notice)
    if decision.status == DossierStatus.APPROVED and not view.may_accept:
        notice = _(
            "The dossier cannot be accepted yet: a document needed to file is missing or "
            "sent back."
        )
        return await _render_dossier(request, dossier_id, status=409, notice=notice)
    if not view.under_review:
        notice = _("This dossier is not waiting for review; nothing was changed.")
        return await _render_dossier(request, dossier_id, status=409, notice=notice)
    try:
        async with config.db.transaction() as session:
            await decide_dossier(
                session,
                dossier_id,
                decision.status,
                official_id=official.id,
                reason=decision.reason,
                expected_version=decision.version,
            )
    except StaleDecision:
        async with config.db.sessions() as session:
            dossier = await session.get_one(Dossier, dossier_id)
        state = _(DOSSIER_STATES.get(DossierStatus(dossier.status), dossier.status))
        notice = _(
            "Not saved: this dossier changed after you opened the page. It is now “{state}”. "
            "Look at it again before you decide."
        ).format(state=state)
        return await _render_dossier(request, dossier_id, status=409, notice=notice)
    except ReviewError:
        notice = _("This decision is not possible now; nothing was changed.")
        return await _render_dossier(request, dossier_id, status=409, notice=notice)
    return see_other(f"/console/dossiers/{dossier_id}")
