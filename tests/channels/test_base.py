"""The channel base: what a channel cannot show becomes text, and a typed number answers it."""

from __future__ import annotations

from pathlib import Path

from bot.app import build_app
from bot.channels.base import BaseChannel, Capabilities, fit_reply, numbered_choices
from bot.settings import Settings
from bot.vocabulary import Attachment, Button, Event, EventKind, Reply
from storage.db import Database


class PlainChannel(BaseChannel):
    """A channel with text only: no buttons, no reply keyboard."""

    name = "plain"
    capabilities = Capabilities(buttons_per_message=0)

    def __init__(self) -> None:
        self.delivered: list[Reply] = []

    async def deliver(self, chat_id: str, reply: Reply) -> str:
        self.delivered.append(reply)
        return str(len(self.delivered))


def test_buttons_beyond_the_limit_become_a_numbered_list() -> None:
    rows = [[Button("A", "s|a"), Button("B", "s|b")], [Button("C", "s|c")]]
    reply = Reply("Nhóm?", buttons=rows, contact_button="📱", contact_request_over=True,
                  locale="en")  # fmt: skip
    fitted = fit_reply(reply, Capabilities(buttons_per_message=2))
    assert fitted.buttons == [] and fitted.contact_button == "" and not fitted.contact_request_over
    assert fitted.text == "Nhóm?\n\n1. A\n2. B\n3. C\nReply with the number of your choice."
    assert numbered_choices(reply, Capabilities(buttons_per_message=2)) == ["s|a", "s|b", "s|c"]
    vietnamese = fit_reply(Reply("?", buttons=reply.buttons, locale="vi"), Capabilities())
    assert "Reply with the number" not in vietnamese.text
    roomy = Capabilities(buttons_per_message=10, buttons_per_row=2, button_label_length=3)
    wide = Reply("?", buttons=[[Button("Alpha", "a"), Button("B", "b"), Button("C", "c")]])
    assert fit_reply(wide, roomy).buttons == [[Button("Al…", "a"), Button("B", "b")],
                                              [Button("C", "c")]]  # fmt: skip
    assert numbered_choices(wide, roomy) is None


async def test_a_typed_number_answers_a_numbered_list(db: Database, tmp_path: Path) -> None:
    channel = PlainChannel()
    settings = Settings(database_url="sqlite://", blob_dir=tmp_path / "blobs",
                        send_burst_per_chat=100)  # fmt: skip
    app = build_app(settings, {"plain": channel}, db=db, per_chat_rate=1000)

    async def say(n: int, kind: EventKind, **fields: str) -> Reply:
        await app.engine.store([Event("plain", "1", "1", f"e{n}", kind, **fields)])
        await app.engine.process_pending()
        await app.sender.send_due()
        return channel.delivered[-1]

    asked = await say(1, EventKind.COMMAND, command="start")
    assert "1. 🇻🇳 Tiếng Việt" in asked.text and "2. 🇬🇧 English" in asked.text
    before = len(channel.delivered)
    await say(2, EventKind.TEXT, text="2")
    answers = "\n".join(r.text for r in channel.delivered[before:])
    assert "Welcome to OCOP Bot!" in answers  # English was chosen
    assert "Reply with the number of your choice." in answers  # the menu, numbered


def test_link_buttons_are_text_where_the_channel_has_none() -> None:
    link = Button("Open", "", url="https://console.example.vn/console/producers/1")
    reply = Reply("New", buttons=[[link], [Button("Menu", "g|/menu")]], locale="en")
    assert fit_reply(reply, Capabilities(buttons_per_message=5, url_buttons=True)) == reply
    fitted = fit_reply(reply, Capabilities(buttons_per_message=5))
    assert fitted.text == "New\nOpen: https://console.example.vn/console/producers/1"
    assert fitted.buttons == [[Button("Menu", "g|/menu")]]
    more = Reply("New", buttons=[[link], [Button("Menu", "g|/menu"), Button("Back", "s|b")]])
    listed = fit_reply(more, Capabilities(buttons_per_message=1, url_buttons=True))
    assert listed.text.startswith("New\nOpen: https://console.example.vn/console/producers/1\n")
    assert "1. Menu\n2. Back" in listed.text and listed.buttons == []
    assert numbered_choices(more, Capabilities(buttons_per_message=1)) == ["g|/menu", "s|b"]
    assert Reply.from_json(reply.to_json()) == reply  # the link survives the outbox


def test_a_file_the_channel_cannot_send_becomes_a_note_in_the_reply_language() -> None:
    pdf = Attachment("d" * 64, "huong-dan.pdf", "application/pdf")
    poster = Attachment("e" * 64, "poster.png", "image/png")
    documents = Capabilities(sends_files=frozenset({"document"}))
    photos = Capabilities(sends_files=frozenset({"photo"}))
    assert fit_reply(Reply("Tin", attachment=poster), documents).attachment == poster
    assert fit_reply(Reply("Tin", attachment=poster), photos).attachment == poster
    noted = fit_reply(Reply("Tin", attachment=pdf, locale="en"), photos)
    assert noted.attachment is None and noted.text == (
        "Tin\n\n(This message came with a file, huong-dan.pdf, that this chat cannot show. "
        "Ask your commune office for it.)")  # fmt: skip
    alone = fit_reply(Reply("", attachment=pdf, locale="vi"), Capabilities())
    assert alone.attachment is None and alone.text.startswith("(Tin nhắn này có kèm tệp")
    assert "huong-dan.pdf" in alone.text
