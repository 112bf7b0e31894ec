"""Regression: typed answers to a choice question did not find their button.

"chu tich hop tac xa" typed at the position question was saved as free text instead of the
"Chủ tịch HĐQT HTX" shortcut (its label says HTX); the organisation types, now the rules' own
names, must be found by "hop tac xa", "htx" or "tht" too. A typed answer names a button when
it equals the label (folded, abbreviations spelt out) or has only words of that one label.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.i18n import translator
from bot.profile_choices import POSITIONS
from storage.models import Producer
from tests.harness import Producer as Phone
from tests.harness import RunningBot

CHAT = 7_300_000_401


async def register_typing(phone: Phone, org_type: str, position: str) -> Producer:
    """A whole registration in Vietnamese, every choice typed without diacritics."""
    await phone.say("/start")
    await phone.tap("Tiếng Việt")
    for answer in (org_type, "Hop tac xa Nong nghiep Luc Ngan", "0100109106"):
        await phone.say(answer)
    await phone.tap("Bo qua")
    for answer in ("Nguyen Thi Lan", position, "nu", "kinh"):
        await phone.say(answer)
    await phone.share_contact()
    for answer in ("bac ninh", "tan son", "lan@htx-lucngan.vn", "xac nhan"):
        await phone.say(answer)
    async with phone.bot.db.sessions() as session:
        producer = await session.scalar(select(Producer))
    assert producer is not None, [m.plain for m in phone.messages()[-3:]]
    return producer


@pytest.mark.parametrize(
    ("org_type", "code"),
    [("hop tac xa", "cooperative"), ("HTX", "cooperative"), ("tht", "coop_group")],
)
async def test_organisation_types_are_found_by_name_or_abbreviation(
    bot: RunningBot, org_type: str, code: str
) -> None:
    producer = await register_typing(bot.producer(CHAT), org_type, "giam doc")
    assert producer.org_type == code
    assert producer.rep_position == translator("vi").gettext(POSITIONS["director"])
    assert (producer.rep_gender, producer.rep_ethnicity) == ("female", "Kinh")


@pytest.mark.parametrize(
    "position", ["chu tich hop tac xa", "chu tich htx", "chu tich", "CHỦ TỊCH Hợp tác xã"]
)
async def test_the_chair_is_found_however_it_is_typed(bot: RunningBot, position: str) -> None:
    producer = await register_typing(bot.producer(CHAT), "hop tac xa", position)
    assert producer.rep_position == translator("vi").gettext(POSITIONS["chair"])


async def test_a_position_no_button_names_is_kept_as_typed(bot: RunningBot) -> None:
    producer = await register_typing(bot.producer(CHAT), "hop tac xa", "Pho giam doc")
    assert producer.rep_position == "Pho giam doc"
