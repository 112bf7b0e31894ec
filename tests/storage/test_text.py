"""Tests for storage/text.py: folding Vietnamese text and ranking typed names."""

from __future__ import annotations

import unicodedata

import pytest

from storage.text import EXACT, Match, best_matches, fold, ranked, strip_area_prefix


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Bắc Ninh", "bac ninh"),
        ("ĐỒNG THÁP", "dong thap"),
        ("  Thành   phố\tHồ Chí Minh. ", "thanh pho ho chi minh"),
        ("TP.HCM", "tp hcm"),
        ("Cư M'gar", "cu mgar"),
        ("Bà Rịa - Vũng Tàu", "ba ria vung tau"),
        ("Phường 1", "phuong 1"),
        ("parent_code", "parent code"),
        ("", ""),
        ("?!", ""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded
    assert fold(folded) == folded


def test_fold_ignores_unicode_normalisation_and_tone_placement() -> None:
    nfc = unicodedata.normalize("NFC", "Thanh Hoá")
    assert fold(unicodedata.normalize("NFD", nfc)) == fold(nfc) == "thanh hoa"
    assert fold("Khánh Hòa") == fold("Khánh Hoà") == "khanh hoa"
    assert fold("Thủy") == fold("Thuỷ") == "thuy"


@pytest.mark.parametrize(
    ("folded", "stripped"),
    [
        ("tinh bac ninh", "bac ninh"),
        ("thanh pho ho chi minh", "ho chi minh"),
        ("tp hcm", "hcm"),
        ("tp.hcm", "hcm"),
        ("tp. hcm", "hcm"),
        ("xa tan lap", "tan lap"),
        ("phuong 1", "1"),
        ("dac khu phu quoc", "phu quoc"),
        ("thi tran an chau", "an chau"),
        ("thi xa viet yen", "viet yen"),
        ("huyen luc ngan", "luc ngan"),
        ("quan ba dinh", "ba dinh"),
        ("xa quan hoa", "quan hoa"),  # only one unit word goes
        ("quang ninh", "quang ninh"),  # "quan" is not a word here
        ("tinh", "tinh"),  # never the whole name
        ("xuan truong", "xuan truong"),
    ],
)
def test_strip_area_prefix(folded: str, stripped: str) -> None:
    assert strip_area_prefix(folded) == stripped


PROVINCES = [
    ("24", "Tỉnh Bắc Ninh"),
    ("19", "Tỉnh Thái Nguyên"),
    ("01", "Thành phố Hà Nội"),
    ("42", "Tỉnh Hà Tĩnh"),
    ("37", "Tỉnh Ninh Bình"),
    ("79", "Thành phố Hồ Chí Minh"),
    ("79", "Sài Gòn"),
]


@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("bac ninh", "24"),
        ("Bắc Ninh", "24"),
        ("tinh bac ninh", "24"),
        ("BACNINH", "24"),
        ("thanh pho ha noi", "01"),
        ("tp ha noi", "01"),
        ("sai gon", "79"),
        ("ho chi minh", "79"),
        ("bac nin", "24"),  # prefix
        ("bac ninhh", "24"),  # typo
        ("thai nguen", "19"),  # typo
    ],
)
def test_best_matches_ranks_the_intended_name_first(query: str, best: str) -> None:
    matches = best_matches(query, PROVINCES)
    assert matches[0][0] == best


def test_exact_match_scores_one_and_keys_are_listed_once() -> None:
    matches = best_matches("sai gon", PROVINCES)
    assert matches[0] == ("79", 1.0)
    assert [key for key, _ in matches].count("79") == 1


def test_tiers_exact_then_prefix_then_word_then_similar() -> None:
    candidates = [
        (1, "Xã Ninh Hiệp"),  # prefix
        (2, "Tỉnh Bắc Ninh"),  # starts a later word
        (3, "Xã Ninh"),  # exact
        (4, "Xã Minh"),  # similar
    ]
    matches = best_matches("ninh", candidates)
    assert [key for key, _ in matches] == [3, 1, 2, 4]
    scores = [score for _, score in matches]
    assert scores[0] == 1.0
    assert 0.9 < scores[1] < EXACT
    assert 0.8 < scores[2] < 0.9
    assert scores[3] < 0.8


def test_ties_keep_candidate_order_and_results_are_deterministic() -> None:
    candidates = [("b", "Xã Tân An"), ("a", "Xã Tân An"), ("c", "Xã Tân Ân")]
    first = best_matches("tan an", candidates)
    assert [key for key, _ in first] == ["b", "a", "c"]
    assert best_matches("tan an", candidates) == first


def test_dissimilar_empty_and_limit() -> None:
    assert best_matches("xyz", PROVINCES) == []
    assert best_matches("  ", PROVINCES) == []
    assert best_matches("ninh", PROVINCES, limit=0) == []
    assert len(best_matches("h", PROVINCES, limit=2)) == 2


def test_cutoff_controls_similarity() -> None:
    candidates = [(1, "Xã Lục Ngạn")]
    assert best_matches("luc nga", candidates)  # prefix, whatever the cutoff
    assert best_matches("lucngan x", candidates, cutoff=0.6)
    assert best_matches("lucngan x", candidates, cutoff=0.99) == []


def test_ranked_says_which_name_matched_and_ties_go_to_the_earlier_name() -> None:
    candidates = [
        ("TN", "Tỉnh Thái Nguyên"),
        ("BN", "Tỉnh Bắc Ninh"),
        ("TN", "Tỉnh Bắc Kạn"),  # other names after every own name
        ("BN", "Tỉnh Bắc Giang"),
        ("QT", "Tỉnh Quảng Trị"),
        ("DN", "Thành phố Đà Nẵng"),
        ("DN", "Tỉnh Quảng Nam"),
    ]
    first, second = ranked("bac can", candidates)[:2]
    assert (first.key, first.position) == ("TN", 2)  # the close old name beats a weak name
    assert (second.key, candidates[second.position][1]) == ("BN", "Tỉnh Bắc Giang")
    tied = ranked("quang", candidates)
    assert [m.key for m in tied] == ["QT", "DN"]  # same score: the own name wins the tie
    assert tied[0].score == tied[1].score
    assert ranked("bac kan", candidates)[0] == Match("TN", 1.0, 2)
