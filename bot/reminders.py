"""Reminders as timers: when they are scheduled, and who they are for when they fire.

* A certificate's re-rating window (Art. 7.6): ``rerating_opens`` on the day it opens and
  ``rerating_closing`` :data:`CLOSING_NOTICE` before it closes, each at 08:00 Vietnam time, for
  every member of the producer (:func:`schedule_rerating_reminders`, keyed by product and
  certificate number, so a certificate entered twice is reminded once).
* A province round's submission deadline: ``deadline_reminder`` 14, 7 and 1 days before it
  (``storage.rounds.reminder_days``; :func:`schedule_round_reminders` when a round is created
  or its calendar changes, keyed by round, the deadline announced and days: a moved deadline
  is reminded anew), for the members of the producers the round covers who still have a
  product not submitted to it when it fires (``storage.rounds.producers_to_remind``).

What each chat is told is in ``handlers/reminders.py``; the payloads carry everything its text
needs, so a reminder reads the same whatever changed since it was scheduled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.rerating import rerating_window
from bot.rules import RuleSet
from bot.timers import register_recipients
from storage.members import member_user_ids
from storage.models import Round, Timer
from storage.rounds import producers_to_remind, reminder_days
from storage.states import RoundLevel, TimerKind
from storage.timers import cancel, reminder_time, schedule

__all__ = [
    "CLOSING_NOTICE",
    "cancel_rerating_reminders",
    "register_reminder_recipients",
    "schedule_deadline_reminders",
    "schedule_rerating_reminders",
    "schedule_round_reminders",
]

CLOSING_NOTICE = timedelta(days=14)  # "the re-rating window closes soon" this long before


def _ids(value: Any) -> list[int]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, int) and not isinstance(item, bool)]


async def producer_members(session: AsyncSession, timer: Timer) -> Iterable[int]:
    """The members of the payload's producer (``producer_id``)."""
    return await member_user_ids(session, _ids(timer.payload.get("producer_id")))


async def round_producers(session: AsyncSession, timer: Timer) -> Iterable[int]:
    """The members of the producers the payload's round (``round_id``) still waits for."""
    (round_id,) = _ids(timer.payload.get("round_id")) or [0]
    producers = await producers_to_remind(session, round_id) if round_id else []
    return await member_user_ids(session, [p.id for p in producers])


def register_reminder_recipients() -> None:
    """The default recipients of the reminder kinds."""
    register_recipients(TimerKind.RERATING_OPENS, producer_members)
    register_recipients(TimerKind.RERATING_CLOSING, producer_members)
    register_recipients(TimerKind.DEADLINE_REMINDER, round_producers)


async def schedule_rerating_reminders(
    session: AsyncSession,
    *,
    producer_id: int,
    product_id: int,
    certificate_number: str,
    issued: date,
    rule_set: RuleSet,
    today: date,
) -> int:
    """Schedule the re-rating reminders of a certificate that are still ahead (of ``today``);
    returns how many."""
    window = rerating_window(rule_set, issued, today)
    payload = {
        "producer_id": producer_id,
        "product_id": product_id,
        "certificate_number": certificate_number,
        "expires_on": window.expiry.isoformat(),
        "opens_on": window.opens.isoformat(),
        "closes_on": window.closes.isoformat(),
    }
    planned = {
        TimerKind.RERATING_OPENS: window.opens,
        TimerKind.RERATING_CLOSING: window.closes - CLOSING_NOTICE,
    }
    count = 0
    for kind, day in planned.items():
        if day < today:
            continue
        key = f"{_certificate_key(product_id, certificate_number)}{kind}"
        await schedule(session, kind, key[:200], reminder_time(day), payload)
        count += 1
    return count


def _certificate_key(product_id: int, certificate_number: str) -> str:
    return f"certificate:{product_id}:{certificate_number}:"


async def cancel_rerating_reminders(
    session: AsyncSession, *, product_id: int, certificate_number: str
) -> int:
    """Cancel a certificate's re-rating reminders that have not gone (it was revoked)."""
    return await cancel(session, prefix=_certificate_key(product_id, certificate_number))


async def schedule_round_reminders(session: AsyncSession, round_: Round, today: date) -> int:
    """(Re)schedule a round's deadline reminders after it is created or edited: a province
    round's, from ``today`` on; none for a central round (producers do not file to it)."""
    if round_.level != RoundLevel.PROVINCE:
        await cancel(session, prefix=f"round:{round_.id}:")
        return 0
    return await schedule_deadline_reminders(
        session,
        round_id=round_.id,
        round_name=round_.name,
        deadline=round_.submission_deadline,
        today=today,
    )


async def schedule_deadline_reminders(
    session: AsyncSession,
    *,
    round_id: int,
    round_name: str,
    deadline: date,
    today: date,
    days_before: Sequence[int] | None = None,
    payload: dict[str, Any] | None = None,
) -> int:
    """Schedule a round's deadline reminders still ahead of ``today``. Each is keyed by the
    deadline it announces: when the deadline moves, the waiting reminders of the old one are
    cancelled and the new one's are scheduled (a reminder already sent for the old date does
    not stop the new date's; moving back to a date revives its cancelled reminders, and one that
    went is never sent twice). ``payload`` adds to what the reminder carries. Returns how many
    are scheduled."""
    await cancel(session, prefix=f"round:{round_id}:deadline:")
    count = 0
    for days in days_before or reminder_days():
        day = deadline - timedelta(days=days)
        key = f"round:{round_id}:deadline:{deadline.isoformat()}:{days}"
        if day < today:
            continue
        data = {
            **(payload or {}),
            "round_id": round_id,
            "round_name": round_name,
            "deadline": deadline.isoformat(),
            "days_before": days,
        }
        await schedule(session, TimerKind.DEADLINE_REMINDER, key, reminder_time(day), data)
        count += 1
    return count
