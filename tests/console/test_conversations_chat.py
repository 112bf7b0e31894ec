"""The hand-off end to end: a producer leaves a question in chat (the fake Telegram server),
an official answers it from the console's queue, and the producer receives the answer in the
office's frame, in the order of the chat's transcript, which shows who wrote it."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import http_app
from storage.clock import ManualClock
from storage.models import TranscriptEntry
from storage.states import OfficialRole, TranscriptDirection
from tests.console.conftest import Console, csrf_of
from tests.harness import copy_database, register, running_bot

CHAT = 7_300_000_802


async def test_a_question_left_in_chat_is_answered_from_the_queue(
    prepared_console_database: Path, tmp_path: Path
) -> None:
    url = copy_database(prepared_console_database, tmp_path / "ocop.sqlite3")
    async with running_bot(url, tmp_path / "blobs") as bot:
        phone = bot.producer(CHAT)
        await register(phone, confirm=True)
        await phone.say("gặp cán bộ")
        await phone.tap("De lai cau hoi")
        await phone.say("Bao giờ xã đánh giá <b>sản phẩm</b>?")
        await phone.tap("Gui")
        async with TestClient(TestServer(http_app(bot.app))) as client:
            console = Console(client, bot.db, ManualClock())
            tan_son = await console.area("bac ninh", "Tân Sơn")
            await console.official(
                "xa.tanson", OfficialRole.COMMUNE, [tan_son], name="Lê Văn Minh"
            )
            await console.sign_in("xa.tanson")
            queue = await (await console.get("/console/questions")).text()
            assert "Bao giờ xã đánh giá &lt;b&gt;sản phẩm&lt;/b&gt;?" in queue
            question_id = queue.split('action="/console/questions/')[1].split("/")[0]

            # The producer writes again while the official answers: the chat's messages
            # still go out in the transcript's order.
            bot.api.push(bot.api.make.command(CHAT, "help", ""))
            bot.pushed += 1
            response = await console.post(
                f"/console/questions/{question_id}/answer",
                {
                    "csrf_token": csrf_of(queue),
                    "text": "Tháng 12 ạ. <i>Chúc</i> anh/chị thành công",
                },
            )
            assert response.status == 303
            await bot.settle()
            sent = [m.plain for m in phone.messages()]
            assert (
                "Trả lời của UBND xã Tân Sơn:\nTháng 12 ạ. <i>Chúc</i> anh/chị thành công" in sent
            )

            async with bot.db.sessions() as session:
                lines = list(
                    await session.scalars(
                        select(TranscriptEntry.text)
                        .where(
                            TranscriptEntry.chat_id == str(CHAT),
                            TranscriptEntry.direction == TranscriptDirection.OUT,
                        )
                        .order_by(TranscriptEntry.id)
                    )
                )

            def since_the_question(texts: list[str]) -> list[str]:
                start = max(i for i, text in enumerate(texts) if "đã được gửi đến" in text)
                return texts[start:]

            assert len(since_the_question(sent)) >= 3  # the /help reply and the answer too
            assert since_the_question(sent) == since_the_question(lines)

            found = re.search(r'href="/console/producers/(\d+)/transcript', queue)
            assert found
            producer_id = found.group(1)
            page = await (await console.get(f"/console/producers/{producer_id}/transcript")).text()
            assert "Lê Văn Minh (UBND xã Tân Sơn)" in page
            assert "Đã gửi đến" in page and "Đang chờ gửi" not in page
            assert "&lt;i&gt;Chúc&lt;/i&gt;" in page
            after = await (await console.get("/console/questions")).text()
            assert "Bao giờ xã" not in after and "Không có câu hỏi đang chờ." in after
