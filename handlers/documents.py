"""A product's dossier: its own checklist, uploads one document at a time, and submission.

See documents.mmd. The checklist shows every document the product set needs (required and
optional, a line each on what it is), what is in, and what an official sent back and why.
Tapping a document asks for its file(s): PDF, Word, Excel or photos; a paper document may be
several photos (an album works). Each upload is acknowledged with what is still missing. When
every required document is in, the producer confirms and the dossier goes to the officials.
"""

from __future__ import annotations

from bot.dossier_progress import DocumentLine, Progress, progress
from bot.files import ReceivedFile
from bot.flow import StepContext
from bot.i18n import N_
from bot.rules import rules
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
from storage.models import Dossier, Product
from storage.producers import producer_of_user
from storage.states import EDITABLE_DOSSIER, SENT_BACK, DocumentStatus, DossierStatus

__all__ = ["DocumentsFlow"]

CHECKLIST, UPLOAD, SUBMIT = "checklist", "upload", "submit"
DOC, DONE, BACK, SEND, NOT_YET, PRODUCTS = "d:", "done", "back", "send", "not_yet", "products"

ICONS: dict[str | None, str] = {
    None: "⬜",
    DocumentStatus.RECEIVED: "✅",
    DocumentStatus.EDITED: "✏️",
    DocumentStatus.APPROVED: "☑️",
    DocumentStatus.HAS_ISSUES: "⚠️",
    DocumentStatus.REJECTED: "❌",
}

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

    # -- the checklist ----------------------------------------------------------------------
    async def start(self, ctx: StepContext) -> None:
        await self.show_checklist(ctx)

    async def show_checklist(self, ctx: StepContext) -> None:
        """Shows the product's checklist and a button per document still to upload."""
        loaded = await self._load(ctx)
        if loaded is None:
            return
        product, dossier = loaded
        ctx.set_step(CHECKLIST, flow=self.name)
        ctx.data.pop("doc", None)
        state = await self._progress(ctx, product, dossier)
        locale = ctx.user.locale
        lines = [
            ctx._("Product set: {set}").format(
                set=rules(dossier.rules_version).product_set(product.product_set).name(locale)
            ),
            ctx._("{done} of {total} required documents are in.").format(
                done=state.required_done, total=len(state.required)
            ),
            "",
        ]
        for line in state.lines:
            lines.append(self._line(ctx, line))
        editable = dossier.status in EDITABLE_DOSSIER
        buttons = []
        if editable:
            # What needs the producer first: sent back, then missing required, then the rest.
            open_lines = sorted(
                (
                    line
                    for line in state.lines
                    if not line.document or line.document.status != DocumentStatus.APPROVED
                ),
                key=lambda line: (not line.sent_back, line.done, not line.requirement.required),
            )
            buttons = [
                [
                    Button(
                        f"{self._icon(line)} {line.requirement.name(locale)}", f"{DOC}{line.code}"
                    )
                ]
                for line in open_lines
            ]
        else:
            lines.extend(["", self._status_text(ctx, dossier)])
        if editable and state.complete:
            buttons.insert(0, [Button(ctx._("📨 Submit the dossier"), SEND)])
        buttons.append(
            [Button(ctx._("⬅️ My products"), PRODUCTS), Button(ctx._("🏠 Menu"), "/menu")]
        )
        ctx.say("\n".join(lines), title=f"📦 {product.name}", buttons=buttons)

    @staticmethod
    def _icon(line: DocumentLine) -> str:
        status = line.document.status if line.document else None
        return ICONS.get(status, "⬜") if status or line.requirement.required else "▫️"

    def _line(self, ctx: StepContext, line: DocumentLine) -> str:
        locale = ctx.user.locale
        icon = self._icon(line)
        need = ctx._("required") if line.requirement.required else ctx._("optional")
        text = f"{icon} {line.requirement.name(locale)} ({need})"
        if not line.done:  # what it is, for what is still to send
            text += "\n    " + line.requirement.document.description(locale)
        if line.sent_back and line.document and line.document.review_reason:
            text += "\n    " + ctx._("Sent back: {reason}").format(
                reason=line.document.review_reason
            )
        return text

    @staticmethod
    def _status_text(ctx: StepContext, dossier: Dossier) -> str:
        if dossier.status == DossierStatus.APPROVED:
            return ctx._("The officials approved this dossier.")
        if dossier.status == DossierStatus.REJECTED:
            reason = dossier.review_reason or "—"
            return ctx._("The officials rejected this dossier: {reason}").format(reason=reason)
        return ctx._(
            "The dossier was submitted on {date}; the officials are reviewing it."
        ).format(date=ctx.t.date(dossier.submitted_at.date()) if dossier.submitted_at else "—")

    async def on_checklist(self, ctx: StepContext, answer: str) -> None:
        loaded = await self._load(ctx)
        if loaded is None:
            return
        product, dossier = loaded
        codes = {
            req.document.code
            for req in rules(dossier.rules_version).checklist(product.product_set)
        }
        if (
            answer.startswith(DOC)
            and answer[len(DOC) :] in codes
            and dossier.status in EDITABLE_DOSSIER
        ):
            await self.ask_upload(ctx, answer[len(DOC) :])
        elif answer == SEND:
            await self.ask_submit(ctx)
        elif answer == PRODUCTS:
            await ctx.goto("products")
        else:
            ctx.say(ctx._("Please tap a document to upload it, or one of the buttons below."))
            await self.show_checklist(ctx)

    # -- uploading one document -------------------------------------------------------------
    async def ask_upload(self, ctx: StepContext, code: str) -> None:
        """Asks for the file(s) of one document."""
        loaded = await self._load(ctx)
        if loaded is None:
            return
        _product, dossier = loaded
        doc_type = rules(dossier.rules_version).document_type(code)
        ctx.set_step(UPLOAD)
        ctx.data.update(doc=code, received=0)
        locale = ctx.user.locale
        lines = [doc_type.description(locale), ""]
        document = (await documents_of(ctx.session, dossier.id)).get(code)
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
        buttons = [[Button(ctx._("⬅️ Back"), BACK)]]
        ctx.say("\n".join(lines), title=f"📎 {doc_type.name(locale)}", buttons=buttons)

    async def on_upload(self, ctx: StepContext, answer: str) -> None:
        event = ctx.event
        if event.kind == EventKind.FILE:
            await self.take_file(ctx)
        elif answer == DONE and ctx.data.get("received"):
            loaded = await self._load(ctx)
            if loaded is not None:
                await self._say_missing(ctx, await self._progress(ctx, *loaded))
                await self.show_checklist(ctx)
        elif answer in (DONE, BACK):
            await self.show_checklist(ctx)
        else:
            ctx.say(
                ctx._(
                    "I am waiting for a file: attach the document, or a photo of it, to a "
                    "message. Or tap ⬅️ Back."
                )
            )
            await self._upload_buttons(ctx)

    async def _upload_buttons(self, ctx: StepContext) -> None:
        done = ctx.data.get("received", 0) > 0
        row = [Button(ctx._("✅ Done"), DONE)] if done else [Button(ctx._("⬅️ Back"), BACK)]
        ctx.say(ctx._("Send the next page, or tap a button."), buttons=[row])

    async def take_file(self, ctx: StepContext) -> None:
        """Stores the received file in the document and says what is still missing."""
        loaded = await self._load(ctx)
        if loaded is None:
            return
        product, dossier = loaded
        received: ReceivedFile | None = ctx.file_blob
        code = str(ctx.data.get("doc"))
        if received is None or received.problem or not received.sha256:
            self._refuse(ctx, received)
            await self._upload_buttons(ctx)
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
            ctx.say(ctx._("This dossier cannot be changed now."))
            await self.show_checklist(ctx)
            return
        ctx.data["received"] = added.files
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
                    "📄 {doc}: {n} file received.",
                    "📄 {doc}: {n} files received.",
                    added.files,
                ).format(doc=doc_type.name(locale), n=added.files),
                buttons=[[Button(ctx._("✅ Done"), DONE)]],
            )
            return
        ctx.say(ctx._("📄 {doc} received.").format(doc=doc_type.name(locale)))
        await self._say_missing(ctx, await self._progress(ctx, product, dossier))
        await self.show_checklist(ctx)

    async def _say_missing(self, ctx: StepContext, state: Progress) -> None:
        missing = [line.requirement.name(ctx.user.locale) for line in state.missing_required]
        if missing:
            ctx.say(ctx._("Still missing: {docs}.").format(docs="; ".join(missing)))
        else:
            ctx.say(ctx._("All required documents are in. You can submit the dossier."))

    def _refuse(self, ctx: StepContext, received: ReceivedFile | None) -> None:
        problem = received.problem if received and received.problem else "download_failed"
        size = ctx.t.number(round((received.size if received else 0) / 1_048_576, 1))
        limit = ctx.t.number(round((received.limit if received else 0) / 1_048_576))
        ctx.say(
            ctx._(PROBLEMS.get(problem, PROBLEMS["unknown"])).format(
                size=f"{size} MB", limit=f"{limit} MB"
            )
        )

    # -- submitting -----------------------------------------------------------------------
    async def ask_submit(self, ctx: StepContext) -> None:
        """Asks to confirm that the dossier is complete."""
        loaded = await self._load(ctx)
        if loaded is None:
            return
        product, dossier = loaded
        state = await self._progress(ctx, product, dossier)
        if not state.complete or dossier.status not in EDITABLE_DOSSIER:
            await self._say_missing(ctx, state)
            await self.show_checklist(ctx)
            return
        ctx.set_step(SUBMIT)
        ctx.say(
            ctx._(
                "All {n} required documents of {product} are in. Send the dossier to the OCOP "
                "office now? After that it cannot be changed unless an official sends "
                "something back."
            ).format(n=len(state.required), product=product.name),
            buttons=[[Button(ctx._("📨 Submit"), SEND), Button(ctx._("Not yet"), NOT_YET)]],
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
        required = {line.code for line in state.required}
        try:
            await submit_dossier(ctx.session, dossier, ctx.user.id, required)
        except ReviewError:
            await self._say_missing(ctx, state)
            await self.show_checklist(ctx)
            return
        rule_set = rules(dossier.rules_version)
        ctx.say(
            ctx._(
                "📨 The dossier of {product} is submitted. I will tell you when an "
                "official has reviewed it."
            ).format(product=product.name)
        )
        if rule_set.needs_samples(product.product_set):
            ctx.say(
                ctx._(
                    "Remember: {n} samples of the product go to the OCOP office with the dossier."
                ).format(n=rule_set.sample_count)
            )
        await ctx.goto("products")

    # -- Flow protocol --------------------------------------------------------------------
    async def handle(self, ctx: StepContext) -> None:
        event = ctx.event
        answer = event.payload if event.kind == EventKind.BUTTON else event.text.strip()
        if ctx.step == UPLOAD:
            await self.on_upload(ctx, answer)
        elif ctx.step == SUBMIT:
            await self.on_submit(ctx, answer)
        elif event.kind == EventKind.FILE:
            ctx.say(ctx._("First tap the document this file is for, then send it."))
            await self.show_checklist(ctx)
        else:
            await self.on_checklist(ctx, answer)

    async def reprompt(self, ctx: StepContext) -> None:
        code = ctx.data.get("doc")
        if ctx.step == UPLOAD and isinstance(code, str):
            await self._upload_buttons(ctx)
        elif ctx.step == SUBMIT:
            await self.ask_submit(ctx)
        else:
            await self.show_checklist(ctx)

    def help(self, ctx: StepContext) -> str:
        if ctx.step == UPLOAD:
            return ctx._(
                "Send the document as a file (PDF, Word, Excel) or as photos, attached to a "
                "message. Tap ⬅️ Back to choose another document."
            )
        return ctx._(
            "This is your product's dossier. ⬜ means missing, ✅ received, ⚠️ sent back by an "
            "official (the reason is shown), ✏️ corrected. Tap a document to upload it."
        )
