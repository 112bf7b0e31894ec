"""Finding a product set from the product name a producer types, and the keywords behind it."""

from __future__ import annotations

import copy
import json
import time
import unicodedata
from typing import Any

import pytest

from bot.rules import DATA_DIR, RulesDataError, RuleSet, parse_rule_set, rules
from bot.rules.search import Word


@pytest.fixture(scope="module")
def current() -> RuleSet:
    return rules()


def found(rule_set: RuleSet, typed: str) -> list[int]:
    return [s.number for s in rule_set.find_product_sets(typed)]


# Real OCOP products as a farmer types them: no diacritics, often with the place.
NAMES_FIRST = [
    ("nuoc mam cua lo", 9),
    ("nuoc mam phu quoc", 9),
    ("mam tom", 9),
    ("tuong ban", 9),
    ("buoi da xanh", 1),
    ("cam cao phong", 1),
    ("nhan long hung yen", 1),
    ("che thai nguyen", 11),
    ("che tan cuong", 11),
    ("tra xanh", 11),
    ("che shan tuyet", 11),
    ("tra atiso", 12),
    ("tra hoa vang", 12),
    ("ca phe buon ma thuot", 13),
    ("cafe", 13),
    ("ca cao", 13),
    ("ruou vang sim", 15),
    ("ruou can", 15),
    ("ruou ngo bac ha", 14),
    ("ruou lang van", 14),
    ("mien dong", 6),
    ("banh trang", 6),
    ("banh da nem", 6),
    ("pho kho", 6),
    ("bun kho", 6),
    ("gao st25", 3),
    ("mat ong bac ha", 4),
    ("tinh dau que", 20),
    ("tinh dau sa", 20),
    ("tho cam", 22),
    ("lua to tam", 22),
    ("may tre dan", 21),
    ("gom bat trang", 21),
    ("son mai", 21),
    ("non la", 21),
    ("homestay", 26),
    ("du lich cong dong", 26),
    ("sua chua", 8),
    ("nem chua thanh hoa", 8),
    ("gio cha", 8),
    ("lap xuong", 8),
    ("thit trau gac bep", 8),
    ("trung muoi", 8),
    ("muoi tom tay ninh", 10),
    ("tieu phu quoc", 10),
    ("toi ly son", 10),
    ("sam ngoc linh", 20),
    ("cao duoc lieu", 18),
    ("xa phong thao duoc", 19),
    ("dau goi bo ket", 19),
    ("hoa lan", 23),
    ("cay mai vang", 24),
    ("bonsai", 24),
    ("ca canh", 25),
    ("ca koi", 25),
    ("nuoc khoang", 16),
    ("nuoc ep", 17),
    ("mut gung", 7),
    ("long nhan", 7),
    ("o mai", 7),
    ("hat dieu rang muoi", 7),
    ("keo dua", 7),
    ("bot san day", 7),
]


@pytest.mark.parametrize(("typed", "number"), NAMES_FIRST)
def test_a_typed_product_name_finds_its_set_first(
    current: RuleSet, typed: str, number: int
) -> None:
    assert found(current, typed)[:1] == [number]


# Really ambiguous: the producer is offered every set the name may belong to.
NAMES_OFFERED = [
    ("vai", 1, {1, 7, 22}),  # fresh lychee, dried lychee, fabric
    ("vai thieu luc ngan", 1, {1, 7}),  # fresh or dried lychee
    ("yen sao", 4, {4, 8}),  # raw bird's nest, or cooked (yến chưng)
    ("dong trung ha thao", 18, {18, 20}),  # health food or herbal material
    ("hat dieu", 3, {3, 7}),  # raw or roasted cashews
    ("tra", 11, {11, 12}),  # tea or another plant's "trà" (and, after them, "cá tra"…)
]


@pytest.mark.parametrize(("typed", "first", "offered"), NAMES_OFFERED)
def test_an_ambiguous_name_offers_each_set_it_may_mean(
    current: RuleSet, typed: str, first: int, offered: set[int]
) -> None:
    result = found(current, typed)
    assert result[0] == first
    assert offered <= set(result[:8])  # the suggestions show eight at most


def test_at_least_forty_real_names_are_checked() -> None:
    assert len(NAMES_FIRST) + len(NAMES_OFFERED) >= 40


# -- diacritics ----------------------------------------------------------------------------


def test_typed_diacritics_are_respected(current: RuleSet) -> None:
    processed = {3, 5, 6, 7, 8}
    assert found(current, "chè")[0] == 11
    assert not processed & set(found(current, "chè"))
    assert found(current, "che")[0] == 11  # without marks: tea first, processed sets after
    assert {6, 7, 8} <= set(found(current, "chế biến"))
    assert 11 not in found(current, "cá")[:1] and found(current, "cá cảnh") == [25]


def test_marks_left_out_are_free_and_tone_placement_does_not_matter(current: RuleSet) -> None:
    assert found(current, "mât ong")[0] == 4
    assert found(current, "nuoc mắm")[0] == 9
    assert Word.of("hoà") == Word.of("hòa") and Word.of("thuỷ") == Word.of("thủy")
    assert found(current, "thuỷ sản") == found(current, "thủy sản")
    assert found(current, unicodedata.normalize("NFD", "nước mắm")) == [9]


def test_phrases_and_longer_keywords_win(current: RuleSet) -> None:
    assert found(current, "ruou vang") == [15]  # the phrase, not "rượu" alone
    assert found(current, "nuoc mam cua lo") == [9]  # not fresh crab ("cua")
    assert found(current, "che bien")[:3] == [6, 7, 8]  # processing, not tea
    assert found(current, "mam ca linh")[0] == 8  # fish paste, a processed seafood


def test_prefixes_and_groups_come_after_whole_words(current: RuleSet) -> None:
    assert found(current, "coff") == [13]
    assert found(current, "nuoc ma") == [9]
    assert set(found(current, "do uong")) == {14, 15, 16, 17}
    assert found(current, "thu cong") == [21, 22]


def test_search_within_a_group(current: RuleSet) -> None:
    assert [s.number for s in current.find_product_sets("que", "III")] == [20]
    assert [s.number for s in current.find_product_sets("que", "I")][:1] == [10]
    assert current.find_product_sets("che", "V") == []


def test_search_is_fast(current: RuleSet) -> None:
    names = [typed for typed, _ in NAMES_FIRST]
    start = time.perf_counter()
    for typed in names:
        current.find_product_sets(typed)
    assert (time.perf_counter() - start) / len(names) < 0.02  # 20 ms a search, on a slow CI


# -- the data ------------------------------------------------------------------------------


def test_every_set_has_keywords(current: RuleSet) -> None:
    for pset in current.product_sets:
        assert len(pset.keywords) >= 5, pset.number


def test_every_keyword_finds_its_own_set(current: RuleSet) -> None:
    for pset in current.product_sets:
        for keyword in pset.keywords:
            assert pset.number in found(current, keyword), (pset.number, keyword)


def test_set_8_has_its_full_name(current: RuleSet) -> None:
    processed, raw = current.product_set(8), current.product_set(4)
    assert processed.name("vi") == (
        "Chế biến từ thịt, trứng, sữa, thủy sản, mật ong, các sản phẩm từ mật ong, "
        "mật khác và nông sản thực phẩm khác"
    )
    assert processed.name("vi").endswith(raw.name("vi").removeprefix("Mật ong, "))
    assert "honey products" in processed.name("en")
    assert "Appendix I" in processed.basis and "26/2026" in processed.basis


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA_DIR / "2026.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ("chè", r"product_sets\[10\]\.keywords: expected a list"),
        (["chè", ""], r"product_sets\[10\]\.keywords\[1\]: expected a word or phrase"),
        (["chè", "…"], r"keywords\[1\]: expected a word or phrase"),
        (["chè", 11], r"keywords\[1\]: expected a word or phrase"),
        (["chè", "trà", "Chè"], r"keywords\[2\]: 'Chè' is listed twice"),
        (["hòa tan", "hoà  tan"], r"keywords\[1\]: 'hoà  tan' is listed twice"),
    ],
)
def test_broken_keywords_are_refused(raw: dict[str, Any], keywords: Any, message: str) -> None:
    data = copy.deepcopy(raw)
    data["product_sets"][10]["keywords"] = keywords
    with pytest.raises(RulesDataError, match=message):
        parse_rule_set(data, source="2026.json")


def test_the_same_keyword_may_name_several_sets(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    assert "vải" in data["product_sets"][0]["keywords"]
    assert "vải" in data["product_sets"][21]["keywords"]
    parse_rule_set(data)
    data["product_sets"][0]["keywords"] = ["che"]  # a bare keyword is distinct from "chè"
    assert parse_rule_set(data).product_set(1).keywords == ("che",)


def test_a_basis_must_be_text(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["product_sets"][7]["basis"] = 26
    with pytest.raises(RulesDataError, match=r"product_sets\[7\]\.basis: expected text"):
        parse_rule_set(data)
