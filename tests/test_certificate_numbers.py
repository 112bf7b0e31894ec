"""Certificate numbers: well formed, random, and any single mistyped character or swap of two
neighbours is caught by the check character (without the database)."""

from __future__ import annotations

import random

from storage.certificates import ALPHABET, make_number, normalise_number


def _numbers(count: int) -> list[str]:
    rng = random.Random(9)
    return [
        make_number(code, year, draw=rng.choice)
        for code, year in [("24", 2026), ("01", 2027), ("96", 2031), ("0", 2026)] * (count // 4)
    ]


def _changes(number: str) -> list[str]:
    """Every number with one character changed to another character that fits its place."""
    changed = []
    for i, c in enumerate(number):
        if c == "-":
            continue
        choices = "0123456789" if i < 7 else ALPHABET
        changed.extend(number[:i] + other + number[i + 1 :] for other in choices if other != c)
    return changed


def _swaps(number: str) -> list[str]:
    """Every number with two neighbouring characters swapped (hyphens are only separators:
    a hyphen moved by one place still reads as the same number, tested apart)."""
    swapped = []
    for i in range(len(number) - 1):
        a, b = number[i], number[i + 1]
        if a != b and "-" not in (a, b):
            swapped.append(number[:i] + b + a + number[i + 2 :])
    return swapped


def test_a_number_names_the_province_and_year_and_passes_its_check() -> None:
    number = make_number("24", 2026)
    assert number.startswith("24-2026-") and len(number) == 17
    assert all(c in ALPHABET for c in number[8:])
    assert normalise_number(number) == number
    assert normalise_number(number.lower().replace("-", " ")) == number  # as typed
    assert make_number("xx", 2026).startswith("00-2026-")  # the ministry's, or an odd code


def test_every_single_change_and_every_neighbour_swap_is_caught() -> None:
    for number in _numbers(40):
        assert normalise_number(number) == number
        changed = _changes(number)
        assert len(changed) > 200
        assert [c for c in changed if normalise_number(c) is not None] == []
        swapped = _swaps(number)
        assert len(swapped) >= 10
        assert [s for s in swapped if normalise_number(s) is not None] == []
        moved = number.replace("-", "", 1)[:3] + "-" + number.replace("-", "", 1)[3:]
        assert normalise_number(moved) == number  # the same characters in the same order


def test_numbers_do_not_repeat_and_do_not_follow_each_other() -> None:
    drawn = [make_number("24", 2026) for _ in range(2000)]
    assert len(set(drawn)) == len(drawn)
    bodies = sorted(n[8:16] for n in drawn)
    assert bodies[0] != bodies[1]


def test_look_alike_and_malformed_numbers_are_refused() -> None:
    number = make_number("24", 2026)
    for bad in (
        number.replace(number[8], "O", 1),  # O is not in the alphabet (nor I, L, 0, 1)
        number[:-1],
        number + "2",
        "",
        "24-2026-<script>",
        "２４-2026-" + number[8:],  # full-width digits
        number + "x" * 100,
    ):
        assert normalise_number(bad) is None, bad
    for letter in "ILO01":
        assert letter not in ALPHABET
