"""A product's dossier: a short status with the documents as buttons, uploads one document at a
time, the full list on request, and submission.

See documents.mmd. The status says how many documents of each tier are in (needed to file,
needed for 3★, extra points), how many were sent back and what to do next; its buttons keep
the checklist's order, one page per tier (at most :data:`PAGE_SIZE` documents a page), each
with its status icon. "📋 Full list" shows every document with a line on what it is, the
knock-outs named as such, and what an official sent back and why. Tapping a document asks for
its file(s): PDF, Word, Excel or photos; a paper document may be several photos (an album
works). Each upload is acknowledged briefly, with the short status. The dossier can be
submitted when every document needed to file is in and nothing is sent back; documents needed
for 3★ still missing are named in a warning first. A re-rating dossier is filed only within its
certificate's window (Art. 7.6). The producer is told where and how to file (Art. 7.1).
A dossier is filed to the evaluation round open for the producer's area (its entry made in the
submission's transaction; the confirmation names the round and its deadline); with no round open
after one was set up, submission is refused and the next round offered (the documents stay);
where no round was ever set up, it is filed without one (:func:`storage.rounds.submission_round`).
"""

from __future__ import annotations

from datetime import date

from bot.dossier_progress import DocumentLine, Progress, progress
from bot.files import ReceivedFile
from bot.flow import StepContext
from bot.i18n import N_
from bot.official_notify import notify_officials
from bot.rerating import RERATING, RerateWindow, WindowState, rerating_window
from bot.rules import RuleSet, Tier, rules
from bot.vocabulary import Button, EventKind
from storage.dossiers import (
    ReviewError,
    add_file,
    current_dossier,
    current_files,
    documents_of,
    product_of,
    submit_dossier,
)
from storage.models import Dossier, Producer, Product
from storage.producers import producer_of_user
from storage.rounds import SubmissionRound, enter_round, submission_round
from storage.states import (
    EDITABLE_DOSSIER,
    SENT_BACK,
    ActorKind,
    DocumentStatus,
    DossierStatus,
    OfficialEvent,
)

__all__ = ["DocumentsFlow", "filing_text", "window_text"]

CHECKLIST, UPLOAD, SUBMIT = "checklist", "upload", "submit"
DOC, PAGE, FULL = "d:", "pg:", "full"
DONE, BACK, SEND, NOT_YET, PRODUCTS = "done", "back", "send", "not_yet", "products"
ESTIMATE = "estimate"  # the star-estimate flow, opened at this product
PAGE_SIZE = 8  # document buttons on one page

ICONS: dict[str | None, str] = {
    None: "⬜",
    DocumentStatus.RECEIVED: "✅",
    DocumentStatus.EDITED: "✏️",
    DocumentStatus.APPROVED: "☑️",
    DocumentStatus.HAS_ISSUES: "⚠️",
    DocumentStatus.REJECTED: "❌",
}

TIER_NAMES = {
    Tier.TO_FILE: N_("Needed to file"),
    Tier.FOR_3_STARS: N_("Needed for 3★"),
    Tier.HELPS_SCORE: N_("Extra points"),
}

TIER_HEADINGS = {
    Tier.TO_FILE: N_("Needed to file: the dossier cannot be filed without these."),
    Tier.FOR_3_STARS: N_(
        "Needed for 3★: the dossier can be filed without these, but the product cannot "
        "reach 3 stars."
    ),
    Tier.HELPS_SCORE: N_("Extra points: not required; each one can raise the score."),
}

KNOCKOUT = N_("Without this the dossier is rejected.")
# Said at an upload where the user's channel takes photos but no documents (the Zalo bot).
PHOTOS_ONLY = N_(
    "This app can only send photos: send a photo of each page, or send the PDF on Telegram "
    "or the province's Zalo OA."
)

PROBLEMS = {
    "too_large": N_(
        "That file is too large ({size}); the limit is {limit}. Please send a "
        "smaller file, or photos of the pages."
    ),
    "download_failed": N_(
        "I could not receive that file: the connection broke. Please send it again."
    ),
    "empty": N_("That file is empty (0 bytes). Please send the real document."),
    "executable": N_(
        "That file is a program, not a document; I cannot accept it. Please send a "
        "PDF, a Word or Excel file, or photos."
    ),
    "archive": N_(
        "That is a compressed archive (ZIP, RAR…). Please send the documents "
        "themselves: PDF, Word, Excel or photos."
    ),
    "macros": N_(
        "That office file contains macros, which I cannot accept. Please save it "
        "without macros, or as PDF."
    ),
    "unreadable": N_(
        "I could not check that file, so I cannot accept it. Please send it again, or send "
        "it as PDF or photos."
    ),
    "unknown": N_(
        "I cannot open that kind of file. Please send a PDF, a Word (.doc, .docx) or "
        "Excel (.xlsx) file, or photos (JPEG, PNG, WebP, HEIC)."
    ),
}


def filing_text(ctx: StepContext, rule_set: RuleSet, product_set: int) -> str:
    """Where and how the dossier is filed (Art. 7.1), with the samples when the set needs them."""
    locale = ctx.user.locale
    text = ctx._("File the dossier at {where}: {how}.").format(
        where=rule_set.filing.where.get(locale), how=rule_set.filing.how.get(locale)
    )
    if rule_set.needs_samples(product_set):
        text += " " + ctx._("Bring {n} samples of the product with it.").format(
            n=rule_set.sample_count
        )
    return text


def window_text(ctx: StepContext, window: RerateWindow) -> str:
    """What a certificate's re-rating window means today (Art. 7.6)."""
    dates = {
        "opens": ctx.t.date(window.opens),
        "closes": ctx.t.date(window.closes),
        "expiry": ctx.t.date(window.expiry),
    }
    if window.state == WindowState.NOT_YET:
        text = ctx._(
            "The re-rating dossier can be filed from {opens} to {closes} (the certificate "
            "expires on {expiry}). You can prepare the documents now."
        )
    elif window.state == WindowState.OPEN:
        text = ctx._(
            "The re-rating dossier can be filed now, until {closes} (the certificate expires "
            "on {expiry})."
        )
    elif window.state == WindowState.CLOSED:
        text = ctx._(
            "The time to file a re-rating dossier ended on {closes} (it was from {opens}; the "
            "certificate expires on {expiry}). The product now needs a first evaluation again: "
            "register it as a new product with “First evaluation”."
        )
    else:
        text = ctx._(
            "The certificate expired on {expiry}, so it can no longer be re-rated. The product "
            "needs a first evaluation again: register it as a new product with “First "
            "evaluation”."
        )
    return text.format(**dates)


def _window(dossier: Dossier, today: date) -> RerateWindow | None:
    """The re-rating window of a re-rating dossier whose certificate's issue date is known."""
    if dossier.kind != RERATING or dossier.certificate_issued is None:
        return None
    return rerating_window(rules(dossier.rules_version), dossier.certificate_issued, today)


def _pages(state: Progress) -> list[tuple[Tier, list[DocumentLine]]]:
    """The checklist cut into pages: one tier a page, at most PAGE_SIZE documents each."""
    pages = []
    for tier in Tier:
        lines = state.in_tier(tier)
        for start in range(0, len(lines), PAGE_SIZE):
            pages.append((tier, lines[start : start + PAGE_SIZE]))
    return pages


def _icon(line: DocumentLine) -> str:
    """The document's status; a missing one that only adds points is ▫️, not ⬜."""
    status = line.document.status if line.document else None
    if status is None and line.requirement.tier is Tier.HELPS_SCORE:
        return "▫️"
    return ICONS.get(status, "⬜")


class DocumentsFlow:
    """The dossier of one product (``data["product_id"]``)."""

    name = "documents"

    def accepts_files(self, step: str) -> bool:
        """Files are downloaded only while a document is being uploaded."""
        return step == UPLOAD

    # -- loading, with the producer's ownership checked every time ----------------------------
    async def _load(self, ctx: StepContext) -> tuple[Product, Dossier] | None:
        producer = await producer_of_user(ctx.session, ctx.user.id)
        product_id = ctx.data.get("product_id")
        product = (
            await product_of(ctx.session, producer.id, int(product_id))
            if producer and isinstance(product_id, int)
            else None
        )
        dossier = await current_dossier(ctx.session, product.id) if product else None
        if product is None or dossier is None:
            ctx.say(ctx._("I cannot find that product among yours."))
            await ctx.goto("products")
            return None
        return product, dossier

    async def _progress(self, ctx: StepContext, product: Product, dossier: Dossier) -> Progress:
        return progress(dossier, product.product_set, await documents_of(ctx.session, dossier.id))

    # -- the short status -------------------------------------------------------------------
    async def start(self, ctx: StepContext) -> None:
        """The short status; or, with ``data["upload"]`` (a document's id, from the button of
        an official's notice) or ``data["document"]`` (a document type's code, from the star
        estimate), that document's upload when it belongs to this dossier and the dossier can
        still change."""
        upload = ctx.data.pop("upload", None)
        code = ctx.data.pop("document", None)
        if isinstance(upload, int) or isinstance(code, str):
            loaded = await self._load(ctx)
            if loaded is None:
                return
            product, dossier = loaded
            codes = {
                req.document.code
                for req in rules(dossier.rules_version).checklist(product.product_set)
            }
            if isinstance(upload, int):
                documents = (await documents_of(ctx.session, dossier.id)).values()
                code = next((d.doc_type for d in documents if d.id == upload), None)
            if code in codes and dossier.status in EDITABLE_DOSSIER:
                await self.ask_upload(ctx, str(code))
                return
        await self.show_checklist(ctx)

    async def show_checklist(self, ctx: StepContext, *, first: str = "") -> None:
        """The short status (``first`` above it) with the current page of document buttons."""
        loaded = await self._load(ctx)
        if loaded is None:
            return
        product, dossier = loaded
        ctx.set_step(CHECKLIST, flow=self.name)
        ctx.data.pop("doc", None)
        state = await self._progress(ctx, product, dossier)
        lines = [first] if first else []
        lines += self._status_lines(ctx, product, dossier, state)
        buttons = self._keyboard(ctx, dossier, state, lines)
        ctx.say("\n".join(lines), title=f"📦 {product.name}", buttons=buttons)

    def _status_lines(
        self, ctx: StepContext, product: Product, dossier: Dossier, state: Progress
    ) -> list[str]:
        rule_set = rules(dossier.rules_version)
        counts = {tier: f"{state.done_in(tier)}/{len(state.in_tier(tier))}" for tier in Tier}
        lines = [
            ctx._("Product set: {set}").format(
                set=rule_set.product_set(product.product_set).name(ctx.user.locale)
            ),
            ctx._("Needed to file {to_file} · for 3★ {for_3} · extra points {extra}").format(
                to_file=counts[Tier.TO_FILE],
                for_3=counts[Tier.FOR_3_STARS],
                extra=counts[Tier.HELPS_SCORE],
            ),
        ]
        if state.sent_back:
            lines.append(
                ctx.t.ngettext(
                    "⚠️ {n} document sent back by an official.",
                    "⚠️ {n} documents sent back by an official.",
                    state.sent_back,
                ).format(n=state.sent_back)
            )
        window = _window(dossier, ctx.today)
        if window is not None:
            lines.append(window_text(ctx, window))
        if dossier.status not in EDITABLE_DOSSIER:
            lines.append(self._status_text(ctx, dossier))
            return lines
        next_line = state.next_line
        if next_line is not None:
            lines.append(self._next(ctx, next_line))
        if state.complete:
            lines.append(ctx._("The dossier can be submitted now."))
            lines.append(filing_text(ctx, rule_set, product.product_set))
        return lines

    def _next(self, ctx: StepContext, line: DocumentLine) -> str:
        name = line.requirement.name(ctx.user.locale)
        if line.sent_back:
            reason = line.document.review_reason if line.document else None
            return ctx._("Next: send {doc} again ({reason}).").format(
                doc=name, reason=reason or "—"
            )
        text = ctx._("Next: {doc}.").format(doc=name)
        if line.requirement.knockout:
            text += " " + ctx._(KNOCKOUT)
        return text

    def _keyboard(
        self, ctx: StepContext, dossier: Dossier, state: Progress, lines: list[str]
    ) -> list[list[Button]]:
        """Submit, the current page's documents in checklist order, paging, the full list."""
        rows: list[list[Button]] = []
        if dossier.status in EDITABLE_DOSSIER:
            if state.complete:
                rows.append([Button(ctx._("📨 Submit the dossier"), SEND)])
            pages = _pages(state)
            page = self._page(ctx, state, pages)
            tier, shown = pages[page]
            lines.append("")
            lines.append(
                ctx._("{tier} (page {page} of {pages}):").format(
                    tier=ctx._(TIER_NAMES[tier]), page=page + 1, pages=len(pages)
                )
            )
            locale = ctx.user.locale
            rows += [
                [Button(f"{_icon(line)} {line.requirement.name(locale)}", f"{DOC}{line.code}")]
                for line in shown
            ]
            paging = []
            if page > 0:
                paging.append(Button(ctx._("◀️ Previous"), f"{PAGE}{page - 1}"))
            if page + 1 < len(pages):
                paging.append(Button(ctx._("▶️ Next page"), f"{PAGE}{page + 1}"))
            if paging:
                rows.append(paging)
        full = [Button(ctx._("📋 Full list"), FULL)]
        if dossier.status in EDITABLE_DOSSIER and ESTIMATE in ctx.flows:  # before filing
            full.append(Button(ctx._("⭐ Estimate my stars"), ESTIMATE))
        rows.append(full)
        rows.append([Button(ctx._("⬅️ My products"), PRODUCTS), Button(ctx._("🏠 Menu"), "/menu")])
        return rows

    @staticmethod
    def _page(
        ctx: StepContext, state: Progress, pages: list[tuple[Tier, list[DocumentLine]]]
    ) -> int:
        """The page chosen before; at first, the one holding the next thing to do."""
        page = ctx.data.get("page")
        if not isinstance(page, int) or not 0 <= page < len(pages):
            wanted = state.next_line
            page = next((n for n, (_tier, shown) in enumerate(pages) if wanted in shown), 0)
        ctx.data["page"] = page
        return page

    @staticmethod
    def _status_text(ctx: StepContext, dossier: Dossier) -> str:
        if dossier.status == DossierStatus.APPROVED:
            return ctx._(
                "The dossier is valid and goes to the council that evaluates and rates products."
            )
        if dossier.status == DossierStatus.REJECTED:
            reason = dossier.review_reason or "—"
            return ctx._("The officials rejected this dossier: {reason}").format(reason=reason)
        return ctx._(
            "The dossier was submitted on {date}; the officials are reviewing it."
        ).format(date=ctx.t.date(dossier.submitted_at.date()) if dossier.submitted_at else "—")

    # -- the full list ----------------------------------------------------------------------
    async def show_full_list(self, ctx: StepContext) -> None:
        """Every document by tier, a line each on what it is; then the short status again."""
        loaded = await self._load(ctx)
        if loaded is None:
            return
        product, dossier = loaded
        state = await self._progress(ctx, product, dossier)
        for tier in Tier:
            shown = state.in_tier(tier)
            if shown:
                full = [self._full_line(ctx, line) for line in shown]
                ctx.say("\n".join([ctx._(TIER_HEADINGS[tier]), *full]))
        rule_set = rules(dossier.rules_version)
        ctx.say(filing_text(ctx, rule_set, product.product_set))
        await self.show_checklist(ctx)

    @staticmethod
    def _full_line(ctx: StepContext, line: DocumentLine) -> str:
        locale = ctx.user.locale
        text = f"{_icon(line)} {line.requirement.name(locale)}"
        if not line.done:  # what it is, for what is still to send
            text += "\n    " + line.requirement.document.description(locale)
        if line.requirement.knockout:
            text += "\n    ❗ " + ctx._(KNOCKOUT)
        if line.sent_back and line.document and line.document.review_reason:
            text += "\n    " + ctx._("Sent back: {reason}").format(
                reason=line.document.review_reason
            )
        return text

    # -- answers at the status --------------------------------------------------------------
    async def on_checklist(self, ctx: StepContext, answer: str) -> None:
        loaded = await self._load(ctx)
        if loaded is None:
            return
        product, dossier = loaded
        codes = {
            req.document.code
            for req in rules(dossier.rules_version).checklist(product.product_set)
        }
        editable = dossier.status in EDITABLE_DOSSIER
        if answer.startswith(DOC) and answer[len(DOC) :] in codes:
            if editable:
                await self.ask_upload(ctx, answer[len(DOC) :])
            else:
                await self.show_checklist(ctx, first=ctx._("This dossier cannot be changed now."))
        elif (
            answer.startswith(PAGE) and (page := answer[len(PAGE) :]).isascii() and page.isdigit()
        ):
            ctx.data["page"] = int(page)
            await self.show_checklist(ctx)
        elif answer == FULL:
            await self.show_full_list(ctx)
        elif answer == SEND:
            await self.ask_submit(ctx)
        elif answer == PRODUCTS:
            await ctx.goto("products")
        elif answer == ESTIMATE:
            await ctx.goto(ESTIMATE, product_id=product.id, origin=self.name)
        else:
            hint = (
                ctx._("Tap a document below to send it, or 📋 Full list to see them all.")
                if editable
                else ctx._("Tap 📋 Full list to see the documents, or ⬅️ My products.")
            )
            ctx.say(
                hint,
                buttons=self._keyboard(
                    ctx, dossier, await self._progress(ctx, product, dossier), []
                ),
            )

    # -- uploading one document -------------------------------------------------------------
    async def ask_upload(self, ctx: StepContext, code: str) -> None:
        """Asks for the file(s) of one document."""
        loaded = await self._load(ctx)
        if loaded is None:
            return
        product, dossier = loaded
        rule_set = rules(dossier.rules_version)
        doc_type = rule_set.document_type(code)
        document = (await documents_of(ctx.session, dossier.id)).get(code)
        locale = ctx.user.locale
        if document and document.status == DocumentStatus.APPROVED:
            await self.show_checklist(
                ctx,
                first=ctx._("An official approved {doc}; it cannot be changed.").format(
                    doc=doc_type.name(locale)
                ),
            )
            return
        ctx.set_step(UPLOAD)
        ctx.data.update(doc=code, received=0)
        lines = [doc_type.description(locale)]
        requirement = next(
            r for r in rule_set.checklist(product.product_set) if r.document.code == code
        )
        if requirement.knockout:
            lines.append("❗ " + ctx._(KNOCKOUT))
        lines.append("")
        if document and document.review_reason and document.status in SENT_BACK:
            lines.append(
                ctx._("An official sent it back: {reason}").format(reason=document.review_reason)
            )
        if document:
            files = await current_files(ctx.session, document.id)
            lines.append(
                ctx.t.ngettext(
                    "You sent {n} file for it already; what you send now replaces it.",
                    "You sent {n} files for it already; what you send now replaces them.",
                    len(files),
                ).format(n=len(files))
            )
        if doc_type.multi_file:
            lines.append(
                ctx._(
                    "Send it as a PDF or Word file, or as photos of each page (several "
                    "photos at once are fine). Tap ✅ Done when all pages are sent."
                )
            )
        else:
            lines.append(ctx._("Send it as a PDF, Word or Excel file, or as a photo."))
        lines += self._channel_note(ctx)
        buttons = [[Button(ctx._("⬅️ Back"), BACK)]]
        ctx.say("\n".join(lines), title=f"📎 {doc_type.name(locale)}", buttons=buttons)

    @staticmethod
    def _channel_note(ctx: StepContext) -> list[str]:
        """What the user's channel cannot send, said where a document is asked for."""
        if ctx.receives("document") or not ctx.receives("photo"):
            return []
        return [ctx._(PHOTOS_ONLY)]

    def _upload_row(self, ctx: StepContext) -> list[list[Button]]:
        """✅ Done once a file of this visit is in, else ⬅️ Back."""
        if ctx.data.get("received", 0) > 0:
            return [[Button(ctx._("✅ Done"), DONE)]]
        return [[Button(ctx._("⬅️ Back"), BACK)]]

    async def on_upload(self, ctx: StepContext, answer: str) -> None:
        event = ctx.event
        if event.kind == EventKind.FILE:
            await self.take_file(ctx)
        elif answer in (DONE, BACK):
            await self.show_checklist(ctx)
        else:
            ctx.say(
                ctx._(
                    "I am waiting for a file: attach the document, or a photo of it, to a "
                    "message. Or tap ⬅️ Back."
                ),
                buttons=self._upload_row(ctx),
            )

    async def take_file(self, ctx: StepContext) -> None:
        """Stores the received file in the document and acknowledges it briefly."""
        loaded = await self._load(ctx)
        if loaded is None:
            return
        product, dossier = loaded
        received: ReceivedFile | None = ctx.file_blob
        code = str(ctx.data.get("doc"))
        if received is None or received.problem or not received.sha256:
            self._refuse(ctx, received)
            return
        doc_type = rules(dossier.rules_version).document_type(code)
        first_of_visit = ctx.data.get("received", 0) == 0
        file = ctx.event.file
        try:
            added = await add_file(
                ctx.session,
                dossier,
                code,
                user_id=ctx.user.id,
                sha256=received.sha256,
                size=received.size,
                kind=received.kind or "",
                mime_type=received.mime_type or "",
                original_name=(file.name or "") if file else "",
                platform_unique_id=(file.unique_id or "") if file else "",
                new_round=first_of_visit,
            )
        except ReviewError:
            await self.show_checklist(ctx, first=ctx._("This dossier cannot be changed now."))
            return
        ctx.data["received"] = added.files
        if added.reopened:
            await self._tell_officials(ctx, product, dossier, OfficialEvent.REUPLOADED)
        locale = ctx.user.locale
        if added.duplicate:
            ctx.say(
                ctx._("I already have this exact file for {doc}.").format(
                    doc=doc_type.name(locale)
                )
            )
        if doc_type.multi_file:
            if ctx.more_waiting and file and file.album_id:
                return  # more photos of the same album follow: acknowledge the last one
            ctx.say(
                ctx.t.ngettext(
                    "📄 {doc}: {n} file received. Send the next page, or tap ✅ Done.",
                    "📄 {doc}: {n} files received. Send the next page, or tap ✅ Done.",
                    added.files,
                ).format(doc=doc_type.name(locale), n=added.files),
                buttons=self._upload_row(ctx),
            )
            return
        await self.show_checklist(
            ctx, first=ctx._("📄 {doc} received.").format(doc=doc_type.name(locale))
        )

    def _refuse(self, ctx: StepContext, received: ReceivedFile | None) -> None:
        """Says why the file was refused and what to send instead; the document stays open."""
        problem = received.problem if received and received.problem else "download_failed"
        size = ctx.t.number(round((received.size if received else 0) / 1_048_576, 1))
        limit = ctx.t.number(round((received.limit if received else 0) / 1_048_576))
        ctx.say(
            ctx._(PROBLEMS.get(problem, PROBLEMS["unknown"])).format(
                size=f"{size} MB", limit=f"{limit} MB"
            ),
            buttons=self._upload_row(ctx),
        )

    # -- submitting -----------------------------------------------------------------------
    def _cannot_submit(self, ctx: StepContext, dossier: Dossier, state: Progress) -> str | None:
        """Why the dossier cannot be submitted now, or None when it can."""
        if dossier.status not in EDITABLE_DOSSIER:
            return ctx._("This dossier cannot be changed now.")
        locale = ctx.user.locale
        if state.sent_back:
            sent_back = [line.requirement.name(locale) for line in state.lines if line.sent_back]
            return ctx._("Send these again first: {docs}.").format(docs="; ".join(sent_back))
        missing = state.missing_required
        if missing:
            text = ctx._("The dossier cannot be filed without: {docs}.").format(
                docs="; ".join(line.requirement.name(locale) for line in missing)
            )
            knockouts = [
                line.requirement.name(locale) for line in missing if line.requirement.knockout
            ]
            if knockouts:
                text += "\n❗ " + ctx._("Without {docs} the dossier is rejected.").format(
                    docs="; ".join(knockouts)
                )
            return text
        window = _window(dossier, ctx.today)
        if window is not None and window.state != WindowState.OPEN:
            return window_text(ctx, window)
        return None

    async def ask_submit(self, ctx: StepContext) -> None:
        """Asks to confirm, warning of what is missing for 3★ and saying where to file."""
        loaded = await self._load(ctx)
        if loaded is None:
            return
        product, dossier = loaded
        state = await self._progress(ctx, product, dossier)
        refusal = self._cannot_submit(ctx, dossier, state)
        filing = await self._round(ctx, product, dossier)
        if refusal is None and filing.refused:
            refusal = self._round_refusal(ctx, filing)
        if refusal is not None:
            await self.show_checklist(ctx, first=refusal)
            return
        ctx.set_step(SUBMIT)
        locale = ctx.user.locale
        lines = []
        missing = state.missing_for_3_stars
        if missing:
            lines.append(
                "⚠️ "
                + ctx._("Without these the product cannot reach 3 stars: {docs}.").format(
                    docs="; ".join(line.requirement.name(locale) for line in missing)
                )
            )
            lines.append(ctx._("You can still send them before submitting."))
        lines.append(
            ctx._(
                "Submit the dossier of {product} now? After that it cannot be changed unless "
                "an official sends something back."
            ).format(product=product.name)
        )
        if filing.round is not None:
            lines.append(self._round_text(ctx, filing))
        lines.append(filing_text(ctx, rules(dossier.rules_version), product.product_set))
        ctx.say(
            "\n".join(lines),
            buttons=[[Button(ctx._("📨 Submit"), SEND), Button(ctx._("Not yet"), NOT_YET)]],
        )

    @staticmethod
    async def _round(ctx: StepContext, product: Product, dossier: Dossier) -> SubmissionRound:
        """Where a submission now goes (the open round, none, or refused)."""
        producer = await ctx.session.get_one(Producer, product.producer_id)
        return await submission_round(ctx.session, dossier, producer, ctx.today)

    @staticmethod
    def _round_text(ctx: StepContext, filing: SubmissionRound) -> str:
        assert filing.round is not None
        return ctx._("It goes to {round} (dossiers until {deadline}).").format(
            round=filing.round.name, deadline=ctx.t.date(filing.round.submission_deadline)
        )

    @staticmethod
    def _round_refusal(ctx: StepContext, filing: SubmissionRound) -> str:
        """After the deadline: the next round, if set up; the documents are kept."""
        if filing.next_round is not None:
            return ctx._(
                "The submission deadline has passed: no evaluation round takes dossiers now. "
                "The next round, {round}, opens on {opens}; you can submit then. Your documents "
                "are kept."
            ).format(round=filing.next_round.name, opens=ctx.t.date(filing.next_round.opens_on))
        return ctx._(
            "The submission deadline has passed: no evaluation round takes dossiers now, and "
            "the next one is not announced yet. Your documents are kept; the office will "
            "announce the next round."
        )

    async def on_submit(self, ctx: StepContext, answer: str) -> None:
        if answer != SEND:
            await self.show_checklist(ctx)
            return
        loaded = await self._load(ctx)
        if loaded is None:
            return
        product, dossier = loaded
        state = await self._progress(ctx, product, dossier)
        refusal = self._cannot_submit(ctx, dossier, state)
        filing = await self._round(ctx, product, dossier)
        if refusal is None and filing.refused:
            refusal = self._round_refusal(ctx, filing)
        if refusal is not None:
            await self.show_checklist(ctx, first=refusal)
            return
        required = {line.code for line in state.required}
        try:
            await submit_dossier(ctx.session, dossier, ctx.user.id, required)
        except ReviewError:
            await self.show_checklist(ctx, first=ctx._("This dossier cannot be changed now."))
            return
        if filing.round is not None:
            await enter_round(
                ctx.session,
                dossier,
                filing.round,
                ctx.clock.now(),
                actor_kind=ActorKind.USER,
                actor_id=ctx.user.id,
            )
        await self._tell_officials(ctx, product, dossier, OfficialEvent.SUBMITTED)
        submitted = ctx._("📨 The dossier of {product} is submitted.").format(product=product.name)
        if filing.round is not None:
            submitted += " " + self._round_text(ctx, filing)
        ctx.say(
            "\n".join(
                [
                    submitted,
                    filing_text(ctx, rules(dossier.rules_version), product.product_set),
                    ctx._(
                        "When the officials find it valid, it goes to the council that "
                        "evaluates and rates products. I will tell you when an official has "
                        "reviewed it."
                    ),
                ]
            )
        )
        await ctx.goto("products")

    @staticmethod
    async def _tell_officials(
        ctx: StepContext, product: Product, dossier: Dossier, event: OfficialEvent
    ) -> None:
        """The officials of the producer's area hear of ``event`` (same transaction)."""
        producer = await ctx.session.get_one(Producer, product.producer_id)
        await notify_officials(
            ctx.session,
            producer=producer,
            event=event,
            clock=ctx.clock,
            product=product,
            dossier_id=dossier.id,
        )

    # -- Flow protocol --------------------------------------------------------------------
    async def handle(self, ctx: StepContext) -> None:
        event = ctx.event
        answer = event.payload if event.kind == EventKind.BUTTON else event.text.strip()
        if ctx.step == UPLOAD:
            await self.on_upload(ctx, answer)
        elif ctx.step == SUBMIT:
            await self.on_submit(ctx, answer)
        elif event.kind == EventKind.FILE:
            await self.show_checklist(
                ctx, first=ctx._("First tap the document this file is for, then send it.")
            )
        else:
            await self.on_checklist(ctx, answer)

    async def reprompt(self, ctx: StepContext) -> None:
        code = ctx.data.get("doc")
        if ctx.step == UPLOAD and isinstance(code, str):
            ctx.say(
                "\n".join(
                    [
                        ctx._("Send the document as a file or photos, or tap a button."),
                        *self._channel_note(ctx),
                    ]
                ),
                buttons=self._upload_row(ctx),
            )
        elif ctx.step == SUBMIT:
            await self.ask_submit(ctx)
        else:
            await self.show_checklist(ctx)

    def help(self, ctx: StepContext) -> str:
        if ctx.step == UPLOAD:
            text = ctx._(
                "Send the document as a file (PDF, Word, Excel) or as photos, attached to a "
                "message. Tap ⬅️ Back to choose another document."
            )
            return "\n".join([text, *self._channel_note(ctx)])
        return ctx._(
            "This is your product's dossier. ⬜ means missing, ✅ received, ⚠️ sent back by an "
            "official, ✏️ corrected. Documents needed to file come first, then those needed "
            "for 3★, then those that add points; ◀️ ▶️ turn the pages. Tap a document to send "
            "it; 📋 Full list says what each one is."
        )
