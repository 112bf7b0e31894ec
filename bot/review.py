"""Officials' decisions on dossiers, with the producer told in chat.

The console (next) calls these; each changes the state through ``storage.dossiers`` (audited)
and queues a notification to every person of the producer, in their language, in the same
transaction.
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

__all__ = ["decide_document", "decide_dossier"]

OPEN_PRODUCT = "/product"  # a global button: opens the product's dossier from anywhere


def _open_button(t: Translator, product: Product) -> list[list[Button]]:
    return [[Button(t.gettext("📦 Open the dossier"), f"{OPEN_PRODUCT} {product.id}")]]


async def decide_document(
    session: AsyncSession,
    document_id: int,
    status: str,
    *,
    official_id: int,
    reason: str | None = None,
) -> DossierDocument:
    """Approve a document, send it back (``has_issues``) or reject it; tell the producer."""
    document = await set_document_status(
        session, document_id, status, official_id=official_id, reason=reason
    )
    dossier = await session.get_one(Dossier, document.dossier_id)
    product = await session.get_one(Product, dossier.product_id)
    doc_type = rules(dossier.rules_version).document_type(document.doc_type)

    def message(t: Translator) -> Reply:
        name = doc_type.name(t.locale)
        if status == DocumentStatus.APPROVED:
            text = t.gettext("✅ An official approved “{doc}” of {product}.")
        elif status == DocumentStatus.HAS_ISSUES:
            text = t.gettext(
                "⚠️ An official sent back “{doc}” of {product}: {reason}\nPlease upload it again."
            )
        else:
            text = t.gettext("❌ An official rejected “{doc}” of {product}: {reason}")
        return Reply(
            text=text.format(doc=name, product=product.name, reason=document.review_reason),
            buttons=_open_button(t, product),
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
) -> Dossier:
    """Approve, send back or reject a whole dossier; tell the producer."""
    dossier = await set_dossier_status(
        session, dossier_id, status, official_id=official_id, reason=reason
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
