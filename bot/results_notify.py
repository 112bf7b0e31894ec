"""Results and certificates with the producer told in chat, and the words they are said in.

The console calls :func:`publish_and_notify`, :func:`issue_and_notify` and
:func:`revoke_and_notify`: each makes the change through ``storage.certificates`` (audited,
naming the official) and queues a notification to every person of the producer, in their
language, in the same transaction. The chat's ``/results`` and the public verify page use the
same words (:data:`GROUNDS`, :func:`stars_text`, :func:`score_text`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_, Translator
from bot.notify import notify_producer
from bot.reminders import cancel_rerating_reminders, schedule_rerating_reminders
from bot.rules import rules
from bot.vocabulary import Button, Reply
from storage.certificates import entry_certified, issue_certificate, publish_results, revoke
from storage.clock import LOCAL_TIMEZONE
from storage.models import Certificate, Product, Round, RoundEntry
from storage.states import RevocationGround

__all__ = [
    "GROUNDS",
    "RESULTS_COMMAND",
    "entry_outcome",
    "issue_and_notify",
    "publish_and_notify",
    "revoke_and_notify",
    "score_text",
    "stars_text",
]

RESULTS_COMMAND = "/results"

GROUNDS: dict[str, str] = {
    RevocationGround.FORGED_DOSSIER: N_("the dossier was forged or falsified"),
    RevocationGround.CRITERIA_NOT_MET: N_("the product no longer meets the criteria of its rank"),
    RevocationGround.LAW_VIOLATION: N_(
        "a violation of the law on quality, food safety, environment, intellectual property "
        "or labelling"
    ),
    RevocationGround.MARK_MISUSE: N_("misuse of the OCOP mark"),
    RevocationGround.PRODUCTION_STOPPED: N_("production has stopped"),
    RevocationGround.OTHER: N_("other findings of the certifying authority"),
}


def score_text(t: Translator, score: Decimal | None) -> str:
    """A score with two decimals in the reader's language ("72,50")."""
    if score is None:
        return "—"
    return format_decimal(score, format="#,##0.00", locale=t.babel_locale)


def stars_text(stars: int | None) -> str:
    """Stars as marks: "4★"."""
    return f"{stars}★" if stars else "—"


def entry_outcome(t: Translator, entry: RoundEntry) -> str:
    """What the council's outcome means: certified, not certified, or knocked out."""
    if entry.knocked_out:
        return t.gettext("The dossier was rejected (a knock-out condition).")
    if entry_certified(entry, rules(entry.rules_version or None)):
        return t.gettext("Certified as an OCOP product: the certificate will follow.")
    return t.gettext("Not certified: an OCOP certificate needs 3★ or more.")


def _results_button(t: Translator) -> list[list[Button]]:
    return [[Button(t.gettext("🏅 My results"), RESULTS_COMMAND)]]


async def publish_and_notify(
    session: AsyncSession, round_id: int, *, official_id: int, now: datetime
) -> list[RoundEntry]:
    """Publish a round's results and tell each producer with an entry, product by product."""
    entries = await publish_results(session, round_id, official_id=official_id, now=now)
    round_ = await session.get_one(Round, round_id)
    for entry in entries:
        product = await session.get_one(Product, entry.product_id)

        def message(t: Translator, entry: RoundEntry = entry, product: Product = product) -> Reply:
            text = t.gettext(
                "🏅 The results of {round} are published.\n{product}: score {score}, {stars}.\n"
                "{outcome}"
            ).format(
                round=round_.name,
                product=product.name,
                score=score_text(t, entry.score),
                stars=stars_text(entry.stars),
                outcome=entry_outcome(t, entry),
            )
            return Reply(text=text, buttons=_results_button(t))

        await notify_producer(session, entry.producer_id, message, official_id=official_id)
    return entries


async def issue_and_notify(
    session: AsyncSession,
    entry_id: int,
    *,
    issued_on: date,
    authority: str,
    official_id: int,
    now: datetime,
) -> Certificate:
    """Issue an entry's certificate and tell the producer its number and dates."""
    certificate = await issue_certificate(
        session, entry_id, issued_on=issued_on, authority=authority,
        official_id=official_id, now=now, rules=rules,
    )  # fmt: skip
    product = await session.get_one(Product, certificate.product_id)
    await schedule_rerating_reminders(
        session,
        producer_id=certificate.producer_id,
        product_id=certificate.product_id,
        certificate_number=certificate.number,
        issued=certificate.issued_on,
        rule_set=rules(certificate.rules_version),
        today=now.astimezone(LOCAL_TIMEZONE).date(),
    )

    def message(t: Translator) -> Reply:
        text = t.gettext(
            "🎉 {product} is certified as a {stars} OCOP product.\nCertificate number: {number}\n"
            "Issued on {issued} by {authority}; valid until {expires}."
        ).format(
            product=product.name,
            stars=stars_text(certificate.stars),
            number=certificate.number,
            issued=t.date(certificate.issued_on),
            authority=certificate.authority,
            expires=t.date(certificate.expires_on),
        )
        return Reply(text=text, buttons=_results_button(t))

    await notify_producer(session, certificate.producer_id, message, official_id=official_id)
    return certificate


async def revoke_and_notify(
    session: AsyncSession,
    certificate_id: int,
    *,
    ground: RevocationGround,
    reason: str,
    official_id: int,
    today: date,
    now: datetime,
) -> Certificate:
    """Revoke a certificate and tell the producer on which ground and why."""
    certificate = await revoke(
        session, certificate_id, ground=ground, reason=reason, official_id=official_id,
        today=today, now=now,
    )  # fmt: skip
    product = await session.get_one(Product, certificate.product_id)
    await cancel_rerating_reminders(
        session, product_id=certificate.product_id, certificate_number=certificate.number
    )

    def message(t: Translator) -> Reply:
        text = t.gettext(
            "⛔ The OCOP certificate {number} of {product} was revoked on {day}.\n"
            "Ground: {ground}.\nReason: {reason}"
        ).format(
            number=certificate.number,
            product=product.name,
            day=t.date(today),
            ground=t.gettext(GROUNDS[ground]),
            reason=certificate.revoked_reason,
        )
        return Reply(text=text, buttons=_results_button(t))

    await notify_producer(session, certificate.producer_id, message, official_id=official_id)
    return certificate
