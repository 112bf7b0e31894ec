"""The council's outcome from score sheets: band edges, caps, knock-outs, potential 5★, and
the rules data that feeds it (score sheets, star minimums, knock-outs, round calendar)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.rules import rules
from bot.scoring import Sheet, evaluate, sheet_errors

RULES = rules("2026.1")
ALL_MINIMUMS_SET_5 = frozenset(m.code for m in RULES.minimums_for(5))


def sheet(
    total: str, *, met: frozenset[str] = ALL_MINIMUMS_SET_5, out: frozenset[str] = frozenset()
) -> Sheet:
    """A set-5 sheet (parts A/B/C) whose points add up to ``total``, spread over the parts."""
    points = Decimal(total)
    a = min(points, Decimal(40))
    b = min(points - a, Decimal(25))
    c = points - a - b
    return Sheet({"A": a, "B": b, "C": c}, met, out)


@pytest.mark.parametrize(
    ("total", "stars"),
    [
        ("0", 1),
        ("29.99", 1),
        ("30", 2),
        ("49.99", 2),
        ("50", 3),
        ("69.99", 3),
        ("70", 4),
        ("89.99", 4),
        ("90", 5),
        ("100", 5),
    ],
)
def test_each_band_edge_gives_its_stars(total: str, stars: int) -> None:
    outcome = evaluate(RULES, 5, [sheet(total)])
    assert outcome.score == Decimal(total)
    assert outcome.stars == outcome.stars_by_points == stars
    assert outcome.potential_five_star is (stars == 5)
    assert outcome.rules_version == "2026.1"


def test_the_average_is_cut_never_rounded_up_into_a_band() -> None:
    # (90 + 90 + 89.99) / 3 = 89.9966…: shown as 89.99 and 4★, not 90.00 and 5★.
    outcome = evaluate(RULES, 5, [sheet("90"), sheet("90"), sheet("89.99")])
    assert outcome.score == Decimal("89.99")
    assert outcome.stars == 4
    assert not outcome.potential_five_star


def test_three_members_average() -> None:
    outcome = evaluate(RULES, 5, [sheet("72"), sheet("68"), sheet("70.5")])
    assert outcome.score == Decimal("70.16")
    assert outcome.stars == 4


@pytest.mark.parametrize(
    ("missing", "total", "stars"),
    [
        ("trademark", "95", 2),  # a 3★ minimum caps at 2★
        ("product_story", "75", 2),
        ("lab_test", "60", 2),
        ("e_traceability", "95", 3),  # a 4★ minimum caps at 3★
        ("quality_management", "95", 4),  # a 5★ minimum caps at 4★
        ("quality_management", "80", 4),  # not reached anyway: no cap
        ("trademark", "40", 2),  # below 3★ already: no cap
    ],
)
def test_each_star_minimum_caps_the_stars(missing: str, total: str, stars: int) -> None:
    met = ALL_MINIMUMS_SET_5 - {missing}
    outcome = evaluate(RULES, 5, [sheet(total, met=met)] * 3)
    assert outcome.stars == stars
    assert (missing in outcome.capped_by) is (outcome.stars < outcome.stars_by_points)
    assert not outcome.potential_five_star or stars == 5


def test_a_capped_90_is_not_potential_five_star() -> None:
    outcome = evaluate(RULES, 5, [sheet("92", met=ALL_MINIMUMS_SET_5 - {"quality_management"})])
    assert outcome.stars_by_points == 5 and outcome.stars == 4
    assert not outcome.potential_five_star


def test_a_minimum_counts_when_more_than_half_of_the_council_finds_it_met() -> None:
    without = ALL_MINIMUMS_SET_5 - {"trademark"}
    two_of_three = evaluate(RULES, 5, [sheet("80"), sheet("80"), sheet("80", met=without)])
    assert two_of_three.stars == 4
    one_of_three = evaluate(
        RULES, 5, [sheet("80"), sheet("80", met=without), sheet("80", met=without)]
    )
    assert one_of_three.stars == 2 and one_of_three.capped_by == ("trademark",)
    one_of_two = evaluate(RULES, 5, [sheet("80"), sheet("80", met=without)])
    assert one_of_two.stars == 2


def test_a_knockout_found_by_the_council_rejects_whatever_the_points() -> None:
    forged = frozenset({"forged_dossier"})
    outcome = evaluate(RULES, 5, [sheet("98", out=forged), sheet("98", out=forged), sheet("98")])
    assert outcome.knocked_out == ("forged_dossier",)
    assert outcome.stars == 0 and not outcome.certified and not outcome.potential_five_star
    alone = evaluate(RULES, 5, [sheet("98", out=forged), sheet("98"), sheet("98")])
    assert alone.knocked_out == () and alone.stars == 5 and alone.certified


def test_set_one_is_scored_by_its_own_sections() -> None:
    sections = RULES.score_sheet(1)
    assert [s.code for s in sections][:3] == ["A1", "A2", "A3"]
    full = Sheet(
        {s.code: Decimal(s.max_points) for s in sections},
        frozenset(m.code for m in RULES.minimums_for(1)),
    )
    assert evaluate(RULES, 1, [full]).score == 100
    assert sheet_errors(RULES, 1, Sheet({"A": Decimal(40)})) != []


@pytest.mark.parametrize(
    ("points", "error"),
    [
        ({"A": "41", "B": "0", "C": "0"}, "section A: 41 is outside 0–40"),
        ({"A": "-1", "B": "0", "C": "0"}, "section A: -1 is outside 0–40"),
        ({"A": "10", "B": "0"}, "section C has no points"),
        ({"A": "1", "B": "0", "C": "0", "Z": "1"}, "unknown section Z"),
    ],
)
def test_a_sheet_out_of_bounds_is_refused(points: dict[str, str], error: str) -> None:
    bad = Sheet({k: Decimal(v) for k, v in points.items()})
    assert error in sheet_errors(RULES, 5, bad)
    with pytest.raises(ValueError, match=error.split(":")[0]):
        evaluate(RULES, 5, [bad])


def test_no_sheets_is_not_an_outcome() -> None:
    with pytest.raises(ValueError):
        evaluate(RULES, 5, [])


def test_every_sheet_adds_up_to_the_maximum_and_minimums_name_known_papers() -> None:
    for product_set in RULES.product_sets:
        sections = RULES.score_sheet(product_set.number)
        assert sum(s.max_points for s in sections) == RULES.max_score
        for minimum in RULES.minimums_for(product_set.number):
            assert minimum.question.vi and minimum.question.en and minimum.advice.vi
            if minimum.document:
                RULES.document_type(minimum.document)
    # the 3★ papers of the checklist are the 3★ minimums' papers
    for number in (1, 5, 17, 20, 26):
        papers = {
            r.document.code for r in RULES.checklist(number) if r.tier.value == "for_3_stars"
        }
        three = {m.document for m in RULES.minimums_for(number) if m.stars == 3}
        assert papers == three


def test_the_default_calendar_is_the_rules_rounds() -> None:
    province = RULES.default_rounds("province")
    assert [t.dates(2027)[1:] for t in province] == [
        (date(2027, 4, 30), date(2027, 6, 30)),
        (date(2027, 10, 30), date(2027, 12, 30)),
    ]
    central = RULES.default_rounds("central")
    assert [t.dates(2027)[1:] for t in central] == [
        (date(2027, 1, 30), date(2027, 3, 30)),
        (date(2027, 7, 30), date(2027, 9, 30)),
    ]
