"""Conversations in the console, on both backends: a producer's transcript (scope, keyset
paging, delivery status, files, authors), answering from it (CSRF, limits, outbox, audit) and
the queue of open questions (scope, order, waiting time, answered once)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.answers import MAX_ANSWER
from storage.models import (
    AuditEntry,
    ChannelIdentity,
    DocumentFile,
    Dossier,
    DossierDocument,
    OutboxMessage,
    Producer,
    ProducerMember,
    Product,
    Question,
    TranscriptEntry,
    User,
)
from storage.outbox import Outgoing, queue_messages
from storage.states import ActorKind, OfficialRole, OutboxStatus, QuestionStatus
from tests.console.conftest import Console, csrf_of

XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


async def member(
    console: Console, producer_id: int, chat_id: str, name: str = "Lan", locale: str = "vi"
) -> int:
    """A person of the producer with a Telegram chat; returns their user id."""
    async with console.db.transaction() as session:
        user = User(display_name=name, locale=locale)
        session.add(user)
        await session.flush()
        session.add(ChannelIdentity(user_id=user.id, channel="telegram", chat_id=chat_id))
        session.add(ProducerMember(producer_id=producer_id, user_id=user.id))
        return user.id


async def exchange(
    console: Console, user_id: int, chat_id: str, said: str, answered: str, **file: object
) -> None:
    """The producer says something (or sends a file) and the bot answers with a button."""
    inbound = {
        "channel": "telegram",
        "chat_id": chat_id,
        "user_id": user_id,
        "kind": "file" if file else "text",
        "text": said,
        "payload": {"text": said, "file": file or None},
    }
    reply = Outgoing(
        channel="telegram",
        chat_id=chat_id,
        user_id=user_id,
        payload={"text": answered, "buttons": [[["⬅️ Quay lại", "g|back"]]]},
        text=answered,
    )
    async with console.db.transaction() as session:
        await queue_messages(session, [reply], inbound=inbound)


async def commune_setup(console: Console) -> tuple[int, int, int]:
    """Đa Mai's producer (with a member) and official, and a producer of another commune."""
    bac_ninh = await console.area("bac ninh")
    da_mai = await console.area("bac ninh", "Đa Mai")
    other = await console.area("bac ninh", "Tân Sơn")
    mine = await console.producer(f"HTX {XSS}", bac_ninh, da_mai)
    theirs = await console.producer("HTX Tân Sơn", bac_ninh, other)
    await console.official("xa.damai", OfficialRole.COMMUNE, [da_mai], name="Lê Văn Minh")
    user_id = await member(console, mine, "501")
    await member(console, theirs, "502")
    return mine, theirs, user_id


async def signed_in_page(console: Console, path: str) -> str:
    response = await console.get(path)
    assert response.status == 200, path
    return await response.text()


async def test_transcript_shows_the_conversation_escaped_with_delivery_and_files(
    console: Console,
) -> None:
    mine, _theirs, user_id = await commune_setup(console)
    await exchange(console, user_id, "501", XSS, "Anh/chị chọn loại hình")
    await exchange(
        console, user_id, "501", "don.pdf", "Đã nhận tệp",
        unique_id="U1", name="don <b>.pdf", mime_type="application/pdf",
    )  # fmt: skip
    await exchange(
        console, user_id, "501", "anh.jpg", "Đã nhận ảnh", unique_id="U2", is_photo=True
    )
    async with console.db.transaction() as session:
        product = Product(producer_id=mine, product_set=1, name="P", created_by=user_id)
        session.add(product)
        await session.flush()
        dossier = Dossier(product_id=product.id, kind="new", rules_version="1")
        session.add(dossier)
        await session.flush()
        document = DossierDocument(dossier_id=dossier.id, doc_type="form")
        session.add(document)
        await session.flush()
        file = DocumentFile(
            document_id=document.id, sha256="0" * 64, size=1, kind="pdf",
            mime_type="application/pdf", platform_unique_id="U1", uploaded_by=user_id,
        )  # fmt: skip
        session.add(file)
        await session.flush()
        file_id = file.id
        rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        rows[0].status = OutboxStatus.SENT
        rows[1].status = OutboxStatus.FAILED
        rows[1].failure_reason = "Bad Request: chat not found"
    await console.sign_in("xa.damai")

    page = await signed_in_page(console, f"/console/producers/{mine}/transcript")
    assert XSS not in page and page.count(ESCAPED) >= 2  # the name and what was typed
    assert "Anh/chị chọn loại hình" in page and "Nút bấm: ⬅️ Quay lại" in page
    assert f'<a href="/console/files/{file_id}">don &lt;b&gt;.pdf</a>' in page
    assert "anh.jpg" not in page and "(photo)" in page  # a photo unknown to the dossier: its kind
    assert "Đã gửi đến" in page
    assert "Không gửi được: Bad Request: chat not found" in page
    assert "Đang chờ gửi" in page
    assert "12:00 29/11/2026" not in page  # times are Vietnam's (the clock says 03:00 UTC)
    assert re.search(r"<time datetime=\"[^\"]+\">\d\d:\d\d \d\d/\d\d/\d{4}</time>", page)
    assert page.index(ESCAPED + "</p>") < page.index("Đã nhận tệp")  # newest last


async def test_transcript_times_are_in_vietnam(console: Console) -> None:
    mine, _theirs, user_id = await commune_setup(console)
    async with console.db.transaction() as session:
        session.add(
            TranscriptEntry(
                channel="telegram", chat_id="501", user_id=user_id, direction="in",
                kind="text", text="Chào", created_at=console.clock.now(),
            )
        )  # fmt: skip
    await console.sign_in("xa.damai")
    page = await signed_in_page(console, f"/console/producers/{mine}/transcript")
    assert "10:00 29/11/2026" in page  # 03:00 UTC


async def test_another_communes_transcript_and_answer_are_not_found(console: Console) -> None:
    mine, theirs, _user = await commune_setup(console)
    await console.sign_in("xa.damai")
    token = csrf_of(await signed_in_page(console, f"/console/producers/{mine}/transcript"))
    for producer in (str(theirs), "999999", "abc", "١"):
        path = f"/console/producers/{producer}/transcript"
        assert (await console.get(path)).status == 404, path
    response = await console.post(
        f"/console/producers/{theirs}/answer", {"csrf_token": token, "text": "Xin chào"}
    )
    assert response.status == 404
    async with console.db.sessions() as session:
        assert list(await session.scalars(select(OutboxMessage))) == []


async def test_no_transcript_without_sign_in_and_no_answer_without_csrf(console: Console) -> None:
    mine, _theirs, _user = await commune_setup(console)
    response = await console.get(f"/console/producers/{mine}/transcript")
    assert response.status == 302 and response.headers["Location"] == "/console/login"
    for path in (f"/console/producers/{mine}/answer", "/console/questions/1/answer"):
        assert (await console.post(path, {"text": "x"})).status == 403
    await console.sign_in("xa.damai")
    page = await signed_in_page(console, f"/console/producers/{mine}/transcript")
    for data in ({"text": "x"}, {"text": "x", "csrf_token": csrf_of(page) + "x"}):
        response = await console.post(f"/console/producers/{mine}/answer", data)
        assert response.status == 403
    async with console.db.sessions() as session:
        assert list(await session.scalars(select(OutboxMessage))) == []


async def test_transcript_pages_by_id_newest_last(console: Console) -> None:
    mine, _theirs, user_id = await commune_setup(console)
    other_user = await member(console, mine, "503", "Hùng")
    for n in range(60):  # 240 lines in two chats of the producer
        await exchange(console, user_id, "501", f"hỏi {n}?", f"đáp {n}.")
        await exchange(console, other_user, "503", f"hai hỏi {n}?", f"hai đáp {n}.")
    await console.sign_in("xa.damai")

    def said(page: str) -> list[str]:
        return re.findall(r"<p class=\"talk-text\">((?:hai )?(?:hỏi|đáp) \d+[?.])</p>", page)

    newest = await signed_in_page(console, f"/console/producers/{mine}/transcript")
    assert len(said(newest)) == 50 and said(newest)[-1] == "hai đáp 59."
    assert said(newest)[0] == "hai hỏi 47?"  # lines 190 to 239 of 240
    assert "Tin nhắn sau" not in newest
    earlier = re.search(r'href="\?before=(\d+)"', newest)
    assert earlier
    seen = said(newest)
    before = earlier.group(1)
    while True:
        page = await signed_in_page(
            console, f"/console/producers/{mine}/transcript?before={before}"
        )
        seen = said(page) + seen
        assert "Tin nhắn sau" in page
        found = re.search(r'href="\?before=(\d+)"', page)
        if found is None:
            break
        before = found.group(1)
    assert len(seen) == 240 and seen[:2] == ["hỏi 0?", "đáp 0."]
    later = re.search(r'href="\?after=(\d+)"', page)
    assert later
    following = await signed_in_page(
        console, f"/console/producers/{mine}/transcript?after={later.group(1)}"
    )
    assert said(following) == seen[len(said(page)) : len(said(page)) + 50]


async def test_an_answer_goes_out_with_its_author_and_an_audit_entry(console: Console) -> None:
    mine, _theirs, user_id = await commune_setup(console)
    await member(console, mine, "504", "Anna", locale="en")  # reads the frame in English
    await exchange(console, user_id, "501", "Khi nào đánh giá?", "Anh/chị chờ nhé")
    await console.sign_in("xa.damai")
    page = await signed_in_page(console, f"/console/producers/{mine}/transcript")
    token = csrf_of(page)

    for text, error in (("   ", "Hãy viết câu trả lời"), ("x" * (MAX_ANSWER + 1), "quá dài")):
        response = await console.post(
            f"/console/producers/{mine}/answer", {"csrf_token": token, "text": text}
        )
        assert response.status == 400 and error in await response.text()
    response = await console.post(
        f"/console/producers/{mine}/answer", {"csrf_token": token, "text": f"Tháng sau. {XSS}"}
    )
    assert response.status == 303
    assert response.headers["Location"] == f"/console/producers/{mine}/transcript#latest"

    async with console.db.sessions() as session:
        rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "producer.answer")
        )
        official_id = (await session.scalars(select(TranscriptEntry.official_id))).all()
    answers = {row.chat_id: row.payload["text"] for row in rows[1:]}
    assert len(rows) == 3 and answers == {
        "501": f"Trả lời của UBND phường Đa Mai:\nTháng sau. {XSS}",
        "504": f"Answer from UBND phường Đa Mai:\nTháng sau. {XSS}",
    }
    assert entry is not None and entry.actor_kind == ActorKind.OFFICIAL
    assert entry.entity_id == mine and entry.actor_id == max(i or 0 for i in official_id)
    page = await signed_in_page(console, f"/console/producers/{mine}/transcript")
    assert "Lê Văn Minh (UBND phường Đa Mai)" in page
    assert f"Tháng sau. {ESCAPED}" in page and XSS not in page


async def question(
    console: Console, producer_id: int, user_id: int, text: str, ago: timedelta
) -> int:
    async with console.db.transaction() as session:
        row = Question(
            producer_id=producer_id, user_id=user_id, text=text,
            status=QuestionStatus.OPEN, created_at=console.clock.now() - ago,
        )  # fmt: skip
        session.add(row)
        await session.flush()
        return row.id


async def test_the_queue_shows_open_questions_in_scope_oldest_first(console: Console) -> None:
    mine, theirs, user_id = await commune_setup(console)
    async with console.db.sessions() as session:
        their_user = await session.scalar(
            select(ProducerMember.user_id).where(ProducerMember.producer_id == theirs)
        )
    assert their_user is not None
    newer = await question(console, mine, user_id, "Câu mới", timedelta(hours=2))
    older = await question(console, mine, user_id, f"Câu cũ {XSS}", timedelta(days=3))
    hidden = await question(console, theirs, their_user, "Câu xã khác", timedelta(days=9))
    await console.sign_in("xa.damai")

    page = await signed_in_page(console, "/console/questions")
    assert "Câu xã khác" not in page and XSS not in page
    assert page.index(f"Câu cũ {ESCAPED}") < page.index("Câu mới")
    assert "đã chờ 3 ngày" in page and "đã chờ 2 giờ" in page
    token = csrf_of(page)

    response = await console.post(
        f"/console/questions/{hidden}/answer", {"csrf_token": token, "text": "Trả lời"}
    )
    assert response.status == 404
    response = await console.post(
        f"/console/questions/{older}/answer", {"csrf_token": token, "text": ""}
    )
    assert response.status == 400
    card = (await response.text()).split(f'id="question-{older}"')[1].split("</li>")[0]
    assert "Hãy viết câu trả lời trước." in card  # said on the question's own card
    response = await console.post(
        f"/console/questions/{older}/answer", {"csrf_token": token, "text": "Tuần sau ạ."}
    )
    assert response.status == 303 and response.headers["Location"] == "/console/questions"
    page = await signed_in_page(console, "/console/questions")
    assert "Câu cũ" not in page and "Câu mới" in page
    again = await console.post(
        f"/console/questions/{older}/answer", {"csrf_token": token, "text": "Lần nữa"}
    )
    assert again.status == 400 and "đã trả lời câu hỏi này" in await again.text()

    async with console.db.sessions() as session:
        answered = await session.get_one(Question, older)
        still = await session.get_one(Question, newer)
        sent = list(await session.scalars(select(OutboxMessage)))
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "producer.answer")
        )
        producer = await session.get_one(Producer, mine)
    assert (
        answered.status == QuestionStatus.ANSWERED and answered.answered_at == console.clock.now()
    )
    assert answered.answered_by is not None and still.status == QuestionStatus.OPEN
    assert [row.payload["text"] for row in sent] == [
        "Trả lời của UBND phường Đa Mai:\nTuần sau ạ."
    ]
    assert entry is not None and entry.details["question_id"] == older
    assert producer.id == mine

    # Closing without an answer: in scope only, audited, nothing sent.
    closing = await console.post(f"/console/questions/{hidden}/close", {"csrf_token": token})
    assert closing.status == 404
    assert (await console.post(f"/console/questions/{newer}/close", {})).status == 403
    closing = await console.post(f"/console/questions/{newer}/close", {"csrf_token": token})
    assert closing.status == 303
    assert "Không có câu hỏi đang chờ." in await signed_in_page(console, "/console/questions")
    async with console.db.sessions() as session:
        closed = await session.get_one(Question, newer)
        other = await session.get_one(Question, hidden)
        closing_entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "question.close")
        )
        count = len(list(await session.scalars(select(OutboxMessage))))
    assert closed.status == QuestionStatus.CLOSED and other.status == QuestionStatus.OPEN
    assert closing_entry is not None and closing_entry.entity_id == newer and count == 1


async def test_an_answer_nobody_can_receive_is_refused(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    da_mai = await console.area("bac ninh", "Đa Mai")
    lonely = await console.producer("HTX chưa có ai", bac_ninh, da_mai)
    await console.official("xa.damai", OfficialRole.COMMUNE, [da_mai], name="Lê Văn Minh")
    await console.sign_in("xa.damai")
    page = await signed_in_page(console, f"/console/producers/{lonely}/transcript")
    assert "Chưa có tin nhắn." in page
    response = await console.post(
        f"/console/producers/{lonely}/answer", {"csrf_token": csrf_of(page), "text": "Chào"}
    )
    assert response.status == 400
    assert "Không liên lạc được với chủ thể" in await response.text()
    async with console.db.sessions() as session:
        assert (
            await session.scalar(select(AuditEntry).where(AuditEntry.action == "producer.answer"))
            is None
        )
