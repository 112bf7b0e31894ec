"""Regression: product names typed without diacritics found the wrong set, or none.

Folding accents made "che" (chè, tea) match "chế" (processed): sets 3, 6, 7, 8 came before 11.
"vai" offered only fabric, so Lục Ngạn lychee (vải thiều) went to textiles. "tra xanh", "cafe",
"ruou vang", "may tre dan", "tho cam", "gom", "homestay" and "sua chua" found nothing, because
only the sets' names were searched. Set 8's name was cut short. And a typed name that picked a
set did so silently: the producer never saw which set the product was filed under.
"""

from __future__ import annotations

import pytest

from bot.rules import rules
from tests.harness import Producer, RunningBot, register

CHAT = 7_300_000_701


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("che", 11),
        ("tra xanh", 11),
        ("cafe", 13),
        ("ruou vang", 15),
        ("may tre dan", 21),
        ("tho cam", 22),
        ("gom", 21),
        ("homestay", 26),
        ("sua chua", 8),
        ("vai thieu luc ngan", 1),
    ],
)
def test_quoted_names_find_their_set_first(typed: str, number: int) -> None:
    assert [s.number for s in rules().find_product_sets(typed)][:1] == [number]


def test_che_with_its_accent_never_means_processed() -> None:
    found = {s.number for s in rules().find_product_sets("chè")}
    assert 11 in found and not found & {3, 5, 6, 7, 8}


def test_lychee_is_offered_with_fabric() -> None:
    assert {1, 7, 22} <= {s.number for s in rules().find_product_sets("vai")}


def test_set_8_has_its_whole_name() -> None:
    assert (
        rules()
        .product_set(8)
        .name("vi")
        .endswith("mật ong, các sản phẩm từ mật ong, mật khác và nông sản thực phẩm khác")
    )


async def new_product(phone: Producer) -> None:
    await register(phone, confirm=True)
    await phone.tap("San pham moi")


async def test_che_offers_tea_first_and_vai_offers_fresh_lychee(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await new_product(phone)
    await phone.say("che")
    assert phone.buttons()[0].startswith("11. Chè tươi")
    await phone.say("vai")
    numbers = [label.split(".")[0] for label in phone.buttons() if label[0].isdigit()]
    assert numbers == ["1", "7", "22"]


async def test_a_typed_name_that_picks_a_set_says_which(bot: RunningBot) -> None:
    phone = bot.producer(CHAT)
    await new_product(phone)
    replies = await phone.say("tra xanh")
    texts = [r.plain for r in replies]
    assert any("Đã chọn bộ sản phẩm: 11. Chè tươi, chè chế biến." in t for t in texts), texts
    assert "Sản phẩm tên là gì" in texts[-1]
    replies = await phone.tap("Quay lai")  # the announced way to undo the guess
    assert "11. Chè tươi, chè chế biến" in replies[-1].plain  # "Now: …" at the set question
    await phone.tap("12.")
    assert "Sản phẩm tên là gì" in phone.last.plain
