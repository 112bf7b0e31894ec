"""An official's answer to a producer, written in the console: it reaches every person of the
producer in chat through the outbox (after the bot's replies already queued to them), framed in
their language with the office that answers, shown in the transcript with its author, and
audited. Answering an open question closes it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_, Translator
from bot.notify import notify_producer
from bot.vocabulary import Reply
from storage.audit import audit
from storage.clock import Clock
from storage.models import Official, Producer, Question
from storage.questions import mark_answered, office_name
from storage.states import ActorKind, OfficialRole

__all__ = ["MAX_ANSWER", "PROGRAMME_OFFICE", "AnswerError", "answer_producer", "office_of"]

MAX_ANSWER = 2000  # characters
PROGRAMME_OFFICE = N_("OCOP programme office")  # an administrator's answers come from it


class AnswerError(ValueError):
    """An answer that cannot be sent (empty, too long, a question already answered);
    ``msgid`` says why, in English (the console translates it)."""

    def __init__(self, msgid: str) -> None:
        super().__init__(msgid)
        self.msgid = msgid


async def office_of(session: AsyncSession, producer: Producer, official: Official) -> str:
    """The office an official answers ``producer`` for, as the producer reads it (``None``
    from :func:`office_name` is the programme's office, translated by the reader)."""
    return await office_name(session, producer, OfficialRole(official.role)) or PROGRAMME_OFFICE


async def answer_producer(
    session: AsyncSession,
    producer: Producer,
    official: Official,
    text: str,
    clock: Clock,
    *,
    question: Question | None = None,
) -> int:
    """Send ``text`` to the producer's chats as the official's office; returns how many chats.

    Raises :class:`AnswerError` for an empty or too long text, a question no longer open, or
    a producer no chat of whom can be reached (the caller's transaction must then roll back).
    """
    text = text.strip()
    if not text:
        raise AnswerError(N_("Write the answer first."))
    if len(text) > MAX_ANSWER:
        raise AnswerError(N_("The answer is too long."))
    if question is not None and not await mark_answered(session, question.id, official.id, clock):
        raise AnswerError(N_("Another official has already answered this question."))
    office = await office_of(session, producer, official)

    def message(t: Translator) -> Reply:
        frame = t.gettext("Answer from {office}:").format(office=t.gettext(office))
        return Reply(text=f"{frame}\n{text}")

    sent = await notify_producer(session, producer.id, message, official_id=official.id)
    if not sent:
        raise AnswerError(
            N_("No chat of this producer can be reached: nobody is linked, or the bot is blocked.")
        )
    audit(
        session,
        actor_kind=ActorKind.OFFICIAL,
        actor_id=official.id,
        action="producer.answer",
        entity="producer",
        entity_id=producer.id,
        question_id=question.id if question is not None else None,
        chats=sent,
        length=len(text),
    )
    return sent
