"""The OCOP rules data and the one module that reads it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.rules import (
    DATA_DIR,
    RulesDataError,
    RuleSet,
    Tier,
    available_versions,
    load_rule_set,
    parse_rule_set,
    rules,
)

FISH_SAUCE, COFFEE, HANDICRAFT, TOURISM = 9, 13, 21, 26


@pytest.fixture(scope="module")
def current() -> RuleSet:
    return rules()


def codes(rule_set: RuleSet, set_number: int, *, tier: Tier | None = None) -> list[str]:
    return [r.document.code for r in rule_set.checklist(set_number) if tier in (None, r.tier)]


# -- versions ------------------------------------------------------------------------------


def test_current_rules_are_decision_26_2026(current: RuleSet) -> None:
    assert current.version == "2026.1"
    assert current.effective_from == date(2026, 5, 22)
    assert current.legal_basis.vi == "Quyết định 26/2026/QĐ-TTg"
    assert "2026.1" in available_versions()


def test_rules_are_cached_and_looked_up_by_version(current: RuleSet) -> None:
    assert rules() is current
    assert rules("2026.1") is current
    with pytest.raises(KeyError, match="2019"):
        rules("2019.1")


# -- groups and product sets ---------------------------------------------------------------


def test_six_groups_and_twenty_six_sets(current: RuleSet) -> None:
    assert [g.code for g in current.groups] == ["I", "II", "III", "IV", "V", "VI"]
    assert [s.number for s in current.product_sets] == list(range(1, 27))


@pytest.mark.parametrize(
    ("code", "numbers"),
    [
        ("I", list(range(1, 14))),
        ("II", [14, 15, 16, 17]),
        ("III", [18, 19, 20]),
        ("IV", [21, 22]),
        ("V", [23, 24, 25]),
        ("VI", [26]),
    ],
)
def test_sets_in_group(current: RuleSet, code: str, numbers: list[int]) -> None:
    assert [s.number for s in current.sets_in_group(code)] == numbers


def test_names_in_both_languages(current: RuleSet) -> None:
    fish_sauce = current.product_set(FISH_SAUCE)
    assert fish_sauce.name("vi") == "Tương, nước mắm, gia vị dạng lỏng khác"
    assert fish_sauce.name("en") == "Sauces and fish sauce"
    assert fish_sauce.subgroup is not None and fish_sauce.subgroup.get("vi") == "Gia vị"
    assert current.group("VI").name("en") == "Community tourism, eco-tourism and tourist sites"
    assert current.product_set(COFFEE).name("vi") == "Cà phê, ca cao"
    assert current.product_set(COFFEE).subgroup is None


def test_unknown_locale_falls_back_to_vietnamese(current: RuleSet) -> None:
    assert current.group("I").name("fr") == "Thực phẩm"
    assert current.group("I").name(None) == "Thực phẩm"
    assert current.group("I").name("en_US") == "Food"


def test_unknown_keys_raise_key_error(current: RuleSet) -> None:
    for lookup in (
        lambda: current.product_set(27),
        lambda: current.group("VII"),
        lambda: current.document_type("passport"),
        lambda: current.checklist(0),
        lambda: current.sets_in_group("X"),
    ):
        with pytest.raises(KeyError):
            lookup()


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("nuoc mam", FISH_SAUCE),
        ("Nước mắm", FISH_SAUCE),
        ("fish sauce", FISH_SAUCE),
        ("ca phe", COFFEE),
        ("cà phê", COFFEE),
        ("coffee", COFFEE),
        ("COFF", COFFEE),
        ("thu cong", HANDICRAFT),
        ("thủ công", HANDICRAFT),
        ("du lịch", TOURISM),
        ("rượu", 14),
    ],
)
def test_find_product_sets(current: RuleSet, typed: str, first: int) -> None:
    found = current.find_product_sets(typed)
    assert found and found[0].number == first


def test_find_product_sets_ranks_own_name_before_group(current: RuleSet) -> None:
    assert [s.number for s in current.find_product_sets("nuoc mam")] == [FISH_SAUCE]
    assert [s.number for s in current.find_product_sets("thu cong")] == [21, 22]
    assert {s.number for s in current.find_product_sets("đồ uống")} == {14, 15, 16, 17}


@pytest.mark.parametrize("typed", ["", "   ", "?!", "xe máy"])
def test_find_product_sets_without_match(current: RuleSet, typed: str) -> None:
    assert current.find_product_sets(typed) == []


# -- checklists ----------------------------------------------------------------------------


def test_every_set_files_with_the_two_forms_and_its_knockout_papers(current: RuleSet) -> None:
    """Art. 6.1: the dossier is Mẫu 01 and Mẫu 02; only knock-out papers join them."""
    for pset in current.product_sets:
        checklist = current.checklist(pset.number)
        to_file = [r.document.code for r in checklist if r.tier is Tier.TO_FILE]
        assert to_file[:2] == ["registration_form", "self_assessment"], pset.number
        assert all(
            r.knockout
            for r in checklist
            if r.tier is Tier.TO_FILE
            and r.document.code not in ("registration_form", "self_assessment")
        ), pset.number
        assert all(not r.knockout for r in checklist if r.tier is not Tier.TO_FILE)
        for code in ("trademark", "product_story"):
            assert code in codes(current, pset.number, tier=Tier.FOR_3_STARS), (pset.number, code)
        assert "awards" in codes(current, pset.number, tier=Tier.HELPS_SCORE)
        assert "business_registration" in codes(current, pset.number, tier=Tier.HELPS_SCORE)
        assert all(r.basis for r in checklist)


def test_food_quality_papers_are_needed_for_3_stars_not_to_file(current: RuleSet) -> None:
    for number in range(1, 18):
        for code in ("quality_declaration", "lab_test_report"):
            assert code in codes(current, number, tier=Tier.FOR_3_STARS), (number, code)
        assert "food_safety_cert" in codes(current, number, tier=Tier.TO_FILE)
    craft = codes(current, HANDICRAFT)
    assert "food_safety_cert" not in craft
    assert "label_packaging_photos" in codes(current, HANDICRAFT, tier=Tier.HELPS_SCORE)
    assert "raw_material_cert" in codes(current, FISH_SAUCE) and "raw_material_cert" not in craft
    tourism = codes(current, TOURISM)
    assert "label_packaging_photos" not in tourism and "traceability" not in tourism
    assert {"tourism_service_description", "tourism_site_photos"} <= set(tourism)
    assert not any(code.startswith("tourism_") for code in codes(current, FISH_SAUCE) + craft)
    label = current.document_type("label_packaging_photos").description("vi")
    assert "Mẫu 02" in label  # says where the photos come from


def test_company_standard_and_quality_declaration_are_separate(current: RuleSet) -> None:
    standard = current.document_type("company_standard")
    declaration = current.document_type("quality_declaration")
    assert "tiêu chuẩn cơ sở" not in declaration.description("vi").casefold()
    assert "company standard" not in declaration.description("en").casefold()
    assert "company_standard" in codes(current, FISH_SAUCE)
    assert standard.name("vi") == "Tiêu chuẩn cơ sở"


def test_mau_02_evidence_as_the_form_has_it(current: RuleSet) -> None:
    assert "chủ thể xác nhận" in current.document_type("insured_workers").description("vi")
    assert "insurance office" not in current.document_type("insured_workers").description("en")
    reports = current.document_type("financial_reports").description("vi")
    assert "2 năm" in reports and "phân loại hợp tác xã" in reports


@pytest.mark.parametrize(
    ("code", "sets"),
    [
        ("food_safety_cert", set(range(1, 18))),
        ("production_licence", {15, 17}),
        ("gmp_cert", {18}),
        ("quality_declaration", {18}),
        ("sector_production_cert", {19, 20}),
        ("product_declaration", {19, 20}),
    ],
)
def test_knockouts(current: RuleSet, code: str, sets: set[int]) -> None:
    knocked = {
        s.number
        for s in current.product_sets
        for r in current.checklist(s.number)
        if r.document.code == code and r.knockout
    }
    assert knocked == sets
    assert all(code in codes(current, n, tier=Tier.TO_FILE) for n in sets)


def test_checklist_lists_documents_by_tier(current: RuleSet) -> None:
    order = list(Tier)
    for pset in current.product_sets:
        tiers = [order.index(r.tier) for r in current.checklist(pset.number)]
        assert tiers == sorted(tiers)
        assert current.checklist(pset.number)[0].document.code == "registration_form"


def test_who_may_file(current: RuleSet) -> None:
    """Art. 2.3."""
    assert {o.code for o in current.org_types} == {
        "cooperative",
        "coop_group",
        "enterprise",
        "farm",
        "production_household",
        "household",
        "association",
        "tourism_centre",
    }
    assert {o.code for o in current.org_types if o.household} == {
        "production_household",
        "household",
    }
    assert current.org_type("enterprise").name("vi") == "Doanh nghiệp nhỏ và vừa"
    for code in ("association", "tourism_centre"):
        assert current.may_file(code, TOURISM) and not current.may_file(code, FISH_SAUCE)
    assert all(current.may_file("farm", s.number) for s in current.product_sets)
    assert all(o.basis.startswith("Art. 2.3") for o in current.org_types)


def test_where_and_how_to_file(current: RuleSet) -> None:
    """Art. 7.1."""
    assert current.filing.basis == "Art. 7.1"
    assert "UBND xã/phường" in current.filing.where.get("vi")
    assert "đóng dấu" in current.filing.how.get("vi") and "điện tử" in current.filing.how.get("vi")


def test_every_document_type_is_used_and_described(current: RuleSet) -> None:
    used = {code for s in current.product_sets for code in codes(current, s.number)}
    assert used == {d.code for d in current.document_types}
    for doc in current.document_types:
        assert doc.description("vi") and doc.description("en")
        assert current.document_type(doc.code) is doc
    assert current.checklist(FISH_SAUCE)[0].name("en") == "Registration form (Form 01)"


def test_samples_go_with_every_dossier_except_tourism(current: RuleSet) -> None:
    assert current.sample_count == 5
    assert all(current.needs_samples(n) for n in range(1, 26))
    assert not current.needs_samples(TOURISM)


# -- dossier kinds, stars, certificates ----------------------------------------------------


def test_dossier_kinds(current: RuleSet) -> None:
    kinds = {k.code: k.needs_certificate for k in current.dossier_kinds}
    assert kinds == {"first": False, "upgrade": True, "rerating": True}
    assert current.dossier_kind("rerating").name("vi") == "Đánh giá, phân hạng lại"


def test_scoring_parts(current: RuleSet) -> None:
    assert [(p.code, p.max_points) for p in current.scoring_parts] == [
        ("A", 40),
        ("B", 25),
        ("C", 35),
    ]
    assert current.max_score == 100


@pytest.mark.parametrize(
    ("score", "stars"),
    [
        (0, 1),
        (29.99, 1),
        (30, 2),
        (49.99, 2),
        (50, 3),
        (69.99, 3),
        (70, 4),
        (89.99, 4),
        (90, 5),
        (100, 5),
    ],
)
def test_star_bands(current: RuleSet, score: float, stars: int) -> None:
    assert current.stars_for(score) == stars


@pytest.mark.parametrize("score", [-0.01, 100.01])
def test_scores_outside_the_sheet_are_errors(current: RuleSet, score: float) -> None:
    with pytest.raises(ValueError):
        current.stars_for(score)


def test_certified_and_potential_five_star(current: RuleSet) -> None:
    assert [current.is_certified(s) for s in range(1, 6)] == [False, False, True, True, True]
    assert not current.is_potential_five_star(89.99)
    assert current.is_potential_five_star(90)


def test_certificate_validity_and_rerating_window(current: RuleSet) -> None:
    assert current.certificate_validity_months == 36
    assert current.certificate_expiry(date(2026, 6, 30)) == date(2029, 6, 30)
    assert current.certificate_expiry(date(2024, 2, 29)) == date(2027, 2, 28)
    assert current.rerating_window(date(2029, 6, 30)) == (date(2029, 1, 1), date(2029, 3, 2))


# -- broken data ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA_DIR / "2026.json").read_text(encoding="utf-8"))
    return data


def test_the_shipped_data_parses(raw: dict[str, Any]) -> None:
    assert parse_rule_set(raw).version == "2026.1"


def _set_group(data: dict[str, Any]) -> None:
    data["product_sets"][3]["group"] = "VII"


def _unknown_document(data: dict[str, Any]) -> None:
    data["requirements"].append({"document": "horoscope", "to_file": ["all"], "basis": "x"})


def _duplicate_group(data: dict[str, Any]) -> None:
    data["groups"].append(copy.deepcopy(data["groups"][0]))


def _duplicate_set(data: dict[str, Any]) -> None:
    data["product_sets"][1]["number"] = 1


def _duplicate_document(data: dict[str, Any]) -> None:
    data["document_types"].append(copy.deepcopy(data["document_types"][0]))


def _unknown_set(data: dict[str, Any]) -> None:
    data["requirements"][0]["to_file"] = ["1-27"]


def _bad_range(data: dict[str, Any]) -> None:
    data["requirements"][0]["to_file"] = ["one to five"]


def _two_tiers(data: dict[str, Any]) -> None:
    data["requirements"][2]["helps_score"] = [1]


def _knockout_not_to_file(data: dict[str, Any]) -> None:
    data["requirements"][2]["knockout"] = [21]


def _no_basis(data: dict[str, Any]) -> None:
    data["requirements"][3]["basis"] = " "


def _org_type_unknown_set(data: dict[str, Any]) -> None:
    data["org_types"][-1]["only_sets"] = [30]


def _listed_twice(data: dict[str, Any]) -> None:
    data["requirements"].append({"document": "awards", "helps_score": [3], "basis": "x"})


def _missing_english(data: dict[str, Any]) -> None:
    del data["product_sets"][0]["name"]["en"]


def _bands_not_from_zero(data: dict[str, Any]) -> None:
    data["stars"]["bands"][-1]["min_score"] = 10


def _parts_not_100(data: dict[str, Any]) -> None:
    data["scoring"]["parts"][0]["max_points"] = 45


def _number_as_text(data: dict[str, Any]) -> None:
    data["product_sets"][0]["number"] = "1"


def _window_reversed(data: dict[str, Any]) -> None:
    data["certificate"]["rerating_window_days_before_expiry"] = {"opens": 120, "closes": 180}


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (_set_group, r"product_sets\[3\]\.group: unknown group 'VII'"),
        (_unknown_document, "unknown document type 'horoscope'"),
        (_duplicate_group, r"groups: 'I' appears twice"),
        (_duplicate_set, r"product_sets: 1 appears twice"),
        (_duplicate_document, "'registration_form' appears twice"),
        (_unknown_set, r"unknown product sets \[27\]"),
        (_bad_range, "not a set number or range"),
        (_two_tiers, "in two tiers"),
        (_knockout_not_to_file, r"knockout: sets \[21\] must also list"),
        (_no_basis, "say which article"),
        (_org_type_unknown_set, r"unknown product sets \[30\]"),
        (_listed_twice, "listed twice for set 3"),
        (_missing_english, r"product_sets\[0\]\.name: missing 'en'"),
        (_bands_not_from_zero, "must start at score 0"),
        (_parts_not_100, "do not add up"),
        (_number_as_text, "number: expected int"),
        (_window_reversed, "opens after it closes"),
    ],
)
def test_broken_data_raises(
    raw: dict[str, Any], breakage: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = copy.deepcopy(raw)
    breakage(data)

    with pytest.raises(RulesDataError, match=message):
        parse_rule_set(data, source="2026.json")


def test_broken_file_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "2030.json"
    path.write_text("{ not json", encoding="utf-8")

    with pytest.raises(RulesDataError, match=r"^2030\.json: not valid JSON"):
        load_rule_set(path)
