"""Conversations in the console: a producer's transcript (what the bot asked, what the producer
answered, files sent, each reply's delivery), answering the producer from it, and the queue of
open questions producers left in chat (answering one closes it).

Every route checks the official's scope on the server: a producer or question outside it is a
404, whatever id is typed in the URL. Answers go through :func:`bot.answers.answer_producer`
(outbox, transcript with the author, audit).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.answers import MAX_ANSWER, PROGRAMME_OFFICE, AnswerError, answer_producer
from bot.i18n import N_, Translator, translator
from bot.validators import parse_id
from console.config import CONFIG
from console.labels import waited
from console.layout import signed_in_page
from console.render import path_id, see_other
from console.security import signed_in
from storage.models import Official, Producer
from storage.officials import Scope, scope_of
from storage.questions import (
    QueuedQuestion,
    close_question,
    office_name,
    open_questions,
    question_in_scope,
)
from storage.states import OfficialRole, OutboxStatus
from storage.transcripts import Line, TranscriptPage, transcript_page

__all__ = ["add_routes"]

DELIVERY = {
    OutboxStatus.SENT: N_("Delivered"),
    OutboxStatus.PENDING: N_("Waiting to be sent"),
    OutboxStatus.SENDING: N_("Waiting to be sent"),
    OutboxStatus.FAILED: N_("Not delivered"),
    OutboxStatus.EXPIRED: N_("Not delivered (too late)"),
    OutboxStatus.UNREACHABLE: N_("Not delivered (the bot is blocked)"),
    OutboxStatus.CANCELLED: N_("Not sent (the announcement was cancelled)"),
}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(r"/producers/{producer_id}/transcript", transcript, name="transcript")
    router.add_post(r"/producers/{producer_id}/answer", answer, name="answer")
    router.add_get("/questions", questions, name="questions")
    router.add_post(r"/questions/{question_id}/answer", answer_question, name="question_answer")
    router.add_post(r"/questions/{question_id}/close", close, name="question_close")


def _query_id(request: web.Request, key: str) -> int | None:
    value = request.query.get(key)
    return parse_id(value) if value else None


async def _producer_in_scope(request: web.Request, session: Any) -> tuple[Producer, Scope]:
    """The producer of the URL, when the signed-in official may see it (else 404)."""
    producer_id = path_id(request, "producer_id")
    scope = await scope_of(session, signed_in(request).official)
    if not await scope.may_see_producer(session, producer_id):
        raise web.HTTPNotFound()
    return await session.get_one(Producer, producer_id), scope


async def _authors(
    session: Any, producer: Producer, lines: list[Line], t: Translator
) -> dict[int, str]:
    """Per official writing on the page: "Lê Văn Minh (UBND phường Đa Mai)"."""
    labels: dict[int, str] = {}
    for line in lines:
        if line.official_id is None or line.official_id in labels:
            continue
        role = OfficialRole(line.official_role) if line.official_role else None
        office = await office_name(session, producer, role) or t.gettext(PROGRAMME_OFFICE)
        labels[line.official_id] = f"{line.official_name} ({office})"
    return labels


async def _transcript_response(
    request: web.Request, *, status: int = 200, error: str = "", draft: str = ""
) -> web.Response:
    config = request.app[CONFIG]
    t = translator(signed_in(request).official.locale)
    before, after = _query_id(request, "before"), _query_id(request, "after")
    async with config.db.sessions() as session:
        producer, _scope = await _producer_in_scope(request, session)
        page: TranscriptPage = await transcript_page(
            session, producer.id, before=before, after=after
        )
        authors = await _authors(session, producer, page.lines, t)
    return signed_in_page(
        request,
        "conversations_transcript.html",
        status=status,
        section="producers",
        producer=producer,
        page=page,
        authors=authors,
        delivery={str(k): t.gettext(v) for k, v in DELIVERY.items()},
        error=error,
        draft=draft,
        max_answer=MAX_ANSWER,
    )


async def transcript(request: web.Request) -> web.Response:
    return await _transcript_response(request)


async def answer(request: web.Request) -> web.StreamResponse:
    """Send the official's answer to the producer's chats; back to the transcript's end."""
    config = request.app[CONFIG]
    official = signed_in(request).official
    text = str((await request.post()).get("text", ""))
    try:
        async with config.db.transaction() as session:
            producer, _scope = await _producer_in_scope(request, session)
            author = await session.get_one(Official, official.id)
            await answer_producer(session, producer, author, text, config.clock)
    except AnswerError as exc:
        message = translator(official.locale).gettext(exc.msgid)
        return await _transcript_response(request, status=400, error=message, draft=text)
    return see_other(f"/console/producers/{producer.id}/transcript#latest")


async def _queue_response(
    request: web.Request, *, status: int = 200, error: str = "", failed: int | None = None
) -> web.Response:
    config = request.app[CONFIG]
    official = signed_in(request).official
    t = translator(official.locale)
    now = config.clock.now()
    async with config.db.sessions() as session:
        scope = await scope_of(session, official)
        queue: list[QueuedQuestion] = await open_questions(session, scope)
    return signed_in_page(
        request,
        "conversations_questions.html",
        status=status,
        section="questions",
        queue=queue,
        waiting={q.id: waited(q.created_at, now, t) for q in queue},
        error=error,
        # The error shows on its question's card, or above the queue when it left the queue.
        failed=failed if any(q.id == failed for q in queue) else None,
        max_answer=MAX_ANSWER,
    )


async def questions(request: web.Request) -> web.Response:
    return await _queue_response(request)


async def answer_question(request: web.Request) -> web.StreamResponse:
    """Answer an open question (to the producer's chats) and close it; back to the queue."""
    config = request.app[CONFIG]
    official = signed_in(request).official
    question_id = path_id(request, "question_id")
    text = str((await request.post()).get("text", ""))
    try:
        async with config.db.transaction() as session:
            scope = await scope_of(session, official)
            question = await question_in_scope(session, scope, question_id)
            if question is None:
                raise web.HTTPNotFound()
            producer = await session.get_one(Producer, question.producer_id)
            author = await session.get_one(Official, official.id)
            await answer_producer(session, producer, author, text, config.clock, question=question)
    except AnswerError as exc:
        message = translator(official.locale).gettext(exc.msgid)
        return await _queue_response(request, status=400, error=message, failed=question_id)
    return see_other("/console/questions")


async def close(request: web.Request) -> web.StreamResponse:
    """Take a question off the queue without answering it (a duplicate, settled by phone)."""
    config = request.app[CONFIG]
    official = signed_in(request).official
    question_id = path_id(request, "question_id")
    async with config.db.transaction() as session:
        scope = await scope_of(session, official)
        if await question_in_scope(session, scope, question_id) is None:
            raise web.HTTPNotFound()
        await close_question(session, question_id, official.id, config.clock)
    return see_other("/console/questions")
