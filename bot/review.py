"""Officials' decisions on dossiers, with the producer told in chat.

The console calls these; each changes the state through ``storage.dossiers`` (audited, naming
the official) and queues a notification to every person of the producer, in their language, in
the same transaction. A document sent back comes with a button that opens its upload in the
chat (``/product <product id> <document id>``). ``expected_version`` is the version the
official was shown: a document or dossier changed since is refused (StaleDecision).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.notify import notify_producer
from bot.rules import rules
from bot.vocabulary import Button, Reply
from storage.dossiers import set_document_status, set_dossier_status
from storage.models import Dossier, DossierDocument, Product
from storage.states import DocumentStatus, DossierStatus

__all__ = ["OPEN_PRODUCT", "decide_document", "decide_dossier", "reupload_payload"]

OPEN_PRODUCT = "/product"  # a global button: opens the product's dossier from anywhere


def _open_button(t: Translator, product: Product) -> list[list[Button]]:
    return [[Button(t.gettext("📦 Open the dossier"), f"{OPEN_PRODUCT} {product.id}")]]


def reupload_payload(product_id: int, document_id: int) -> str:
    """The global command that opens one document's upload in the producer's chat."""
    return f"{OPEN_PRODUCT} {product_id} {document_id}"


def _reupload_buttons(
    t: Translator, product: Product, document: DossierDocument
) -> list[list[Button]]:
    upload = Button(t.gettext("📎 Send it again"), reupload_payload(product.id, document.id))
    return [[upload], *_open_button(t, product)]


async def decide_document(
    session: AsyncSession,
    document_id: int,
    status: str,
    *,
    official_id: int,
    reason: str | None = None,
    expected_version: int | None = None,
) -> DossierDocument:
    """Approve a document, send it back (``has_issues``) or reject it; tell the producer."""
    document = await set_document_status(
        session,
        document_id,
        status,
        official_id=official_id,
        reason=reason,
        expected_version=expected_version,
    )
    dossier = await session.get_one(Dossier, document.dossier_id)
    product = await session.get_one(Product, dossier.product_id)
    doc_type = rules(dossier.rules_version).document_type(document.doc_type)

    def message(t: Translator) -> Reply:
        name = doc_type.name(t.locale)
        if status == DocumentStatus.APPROVED:
            text = t.gettext("✅ An official found “{doc}” of {product} valid.")
        elif status == DocumentStatus.HAS_ISSUES:
            text = t.gettext(
                "⚠️ An official sent back “{doc}” of {product}: {reason}\nPlease upload it again."
            )
        else:
            text = t.gettext("❌ An official rejected “{doc}” of {product}: {reason}")
        return Reply(
            text=text.format(doc=name, product=product.name, reason=document.review_reason),
            buttons=(
                _reupload_buttons(t, product, document)
                if status == DocumentStatus.HAS_ISSUES
                else _open_button(t, product)
            ),
        )

    await notify_producer(session, product.producer_id, message)
    return document


async def decide_dossier(
    session: AsyncSession,
    dossier_id: int,
    status: str,
    *,
    official_id: int,
    reason: str | None = None,
    expected_version: int | None = None,
) -> Dossier:
    """Approve, send back or reject a whole dossier; tell the producer."""
    dossier = await set_dossier_status(
        session,
        dossier_id,
        status,
        official_id=official_id,
        reason=reason,
        expected_version=expected_version,
    )
    product = await session.get_one(Product, dossier.product_id)

    def message(t: Translator) -> Reply:
        if status == DossierStatus.APPROVED:
            text = t.gettext(
                "✅ The dossier of {product} is valid and goes to the council for evaluation "
                "and rating."
            )
        elif status == DossierStatus.HAS_ISSUES:
            text = t.gettext("⚠️ An official sent the dossier of {product} back: {reason}")
        else:
            text = t.gettext("❌ An official rejected the dossier of {product}: {reason}")
        return Reply(
            text=text.format(product=product.name, reason=dossier.review_reason),
            buttons=_open_button(t, product),
        )

    await notify_producer(session, product.producer_id, message)
    return dossier
