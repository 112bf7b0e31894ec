"""Producers' questions to the office, and the office that answers a producer.

A question is left in chat (``handlers/questions.py``) and waits ``open`` in the console's
queue, oldest first, until an official answers it (``answered``) or closes it without an
answer (``closed``: a duplicate, or settled by phone). The office
named to the producer is the People's Committee (UBND) of the producer's commune for a commune
official, of the province for a province official.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.area_cache import AreaSnapshot
from storage.areas import AreaFields
from storage.audit import audit
from storage.clock import Clock
from storage.models import Area, Producer, Question, User
from storage.officials import Scope
from storage.states import ActorKind, OfficialRole, QuestionStatus

__all__ = [
    "MAX_QUESTION",
    "QueuedQuestion",
    "add_question",
    "close_question",
    "count_open_questions",
    "mark_answered",
    "office_name",
    "open_questions",
    "question_in_scope",
]

MAX_QUESTION = 1000  # characters of a question typed in chat


def _committee(area: AreaFields) -> str:
    """ "UBND phường Đa Mai" for the area "Phường Đa Mai" (the office's own name)."""
    return f"UBND {area.name[:1].lower()}{area.name[1:]}"


async def office_name(
    session: AsyncSession,
    producer: Producer,
    role: OfficialRole | None = None,
    *,
    areas: AreaSnapshot | None = None,
) -> str | None:
    """The office that answers ``producer``: its commune's (or, for a province official or a
    producer without a commune, its province's) People's Committee; None for an
    administrator (the caller names the programme's office). The area is read from ``areas``
    when given (the chat's, in memory), else from the database."""
    if role is OfficialRole.ADMIN:
        return None
    area_id = producer.province_id
    if role is not OfficialRole.PROVINCE and producer.commune_id is not None:
        area_id = producer.commune_id
    area = areas.get(area_id) if areas is not None else await session.get(Area, area_id)
    return _committee(area) if area is not None else None


async def add_question(
    session: AsyncSession, producer_id: int, user_id: int, text: str, clock: Clock
) -> Question:
    """A new open question (audited as the user's)."""
    question = Question(
        producer_id=producer_id,
        user_id=user_id,
        text=text[:MAX_QUESTION],
        status=QuestionStatus.OPEN,
        created_at=clock.now(),
    )
    session.add(question)
    await session.flush()
    audit(
        session,
        actor_kind=ActorKind.USER,
        actor_id=user_id,
        action="question.ask",
        entity="producer",
        entity_id=producer_id,
        question_id=question.id,
    )
    return question


async def _settle(
    session: AsyncSession, question_id: int, official_id: int, clock: Clock, status: QuestionStatus
) -> bool:
    done = await session.execute(
        update(Question)
        .where(Question.id == question_id, Question.status == QuestionStatus.OPEN)
        .values(status=status, answered_by=official_id, answered_at=clock.now())
    )
    return bool(getattr(done, "rowcount", 0))


async def mark_answered(
    session: AsyncSession, question_id: int, official_id: int, clock: Clock
) -> bool:
    """Marks an open question answered by the official; False when it was no longer open
    (another official answered or closed it first). The caller sends and audits the answer."""
    return await _settle(session, question_id, official_id, clock, QuestionStatus.ANSWERED)


async def close_question(
    session: AsyncSession, question_id: int, official_id: int, clock: Clock
) -> bool:
    """Takes an open question off the queue without an answer (audited); False when it was no
    longer open."""
    if not await _settle(session, question_id, official_id, clock, QuestionStatus.CLOSED):
        return False
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=official_id,
        action="question.close",
        entity="question",
        entity_id=question_id,
    )
    return True


@dataclass(frozen=True)
class QueuedQuestion:
    """An open question as the queue shows it."""

    id: int
    text: str
    created_at: datetime
    producer_id: int
    producer_name: str
    asked_by: str


async def open_questions(
    session: AsyncSession, scope: Scope, *, limit: int = 100
) -> list[QueuedQuestion]:
    """The open questions of the producers in ``scope``, oldest first."""
    rows = await session.execute(
        select(Question, Producer.name, User.display_name)
        .join(Producer, Producer.id == Question.producer_id)
        .join(User, User.id == Question.user_id)
        .where(Question.status == QuestionStatus.OPEN, scope.producers())
        .order_by(Question.created_at, Question.id)
        .limit(limit)
    )
    return [
        QueuedQuestion(q.id, q.text, q.created_at, q.producer_id, name, asker)
        for q, name, asker in rows
    ]


async def count_open_questions(session: AsyncSession, scope: Scope) -> int:
    """How many questions of the producers in ``scope`` wait for an answer."""
    total = await session.scalar(
        select(func.count())
        .select_from(Question)
        .join(Producer, Producer.id == Question.producer_id)
        .where(Question.status == QuestionStatus.OPEN, scope.producers())
    )
    return int(total or 0)


async def question_in_scope(
    session: AsyncSession, scope: Scope, question_id: int
) -> Question | None:
    """The question when its producer is in ``scope``, else None."""
    return await session.scalar(
        select(Question)
        .join(Producer, Producer.id == Question.producer_id)
        .where(Question.id == question_id, scope.producers())
    )
