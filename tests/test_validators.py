"""Tax codes, phone numbers, e-mail, names and dates as producers type them."""

from __future__ import annotations

from datetime import date

import pytest

from bot.validators import (
    Invalid,
    clean_email,
    clean_mobile,
    clean_name,
    clean_tax_code,
    parse_past_date,
    tax_check_digit,
)


@pytest.mark.parametrize(
    ("typed", "value", "kind"),
    [
        ("0100109106", "0100109106", "tax"),
        (" 0100 109 106 ", "0100109106", "tax"),
        ("0100109106-001", "0100109106-001", "branch"),
        ("0100109106001", "0100109106-001", "branch"),
        ("001203004567", "001203004567", "citizen_id"),
    ],
)
def test_tax_codes_accepted(typed: str, value: str, kind: str) -> None:
    code = clean_tax_code(typed)
    assert (code.value, code.kind) == (value, kind)


@pytest.mark.parametrize(
    ("typed", "fragment"),
    [
        ("0100109107", "last digit"),
        ("0100000000", "seven zeros"),
        ("0100109106-000", "001 to 999"),
        ("12345", "You typed {count} digits"),
        ("abc", "You typed {count} digits"),
    ],
)
def test_tax_codes_refused(typed: str, fragment: str) -> None:
    with pytest.raises(Invalid) as info:
        clean_tax_code(typed)
    assert fragment in info.value.message


def test_check_digit_of_ten_is_invalid() -> None:
    # Find nine digits whose weighted sum is 0 mod 11: no tenth digit can make them valid.
    weights = (31, 29, 23, 19, 17, 13, 7, 5, 3)
    for n in range(10_000_000, 10_100_000):
        digits = f"{n:09d}"
        if sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 == 0:
            assert tax_check_digit(digits) is None
            break
    else:
        pytest.fail("no example found")


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("0912345678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("038.123.4567", "+84381234567"),
    ],
)
def test_mobiles_accepted(typed: str, e164: str) -> None:
    assert clean_mobile(typed) == e164


@pytest.mark.parametrize(
    ("typed", "fragment"),
    [
        ("02438251234", "landline"),
        ("+1 202 555 0143", "Vietnamese mobile"),
        ("091234", "not a valid"),
        ("call me", "digits only"),
    ],
)
def test_mobiles_refused(typed: str, fragment: str) -> None:
    with pytest.raises(Invalid) as info:
        clean_mobile(typed)
    assert fragment in info.value.message


def test_email() -> None:
    assert clean_email(" Lan@HTX.VN ") == "Lan@htx.vn"
    with pytest.raises(Invalid):
        clean_email("lan at htx")


def test_names() -> None:
    assert clean_name("  Nguyễn   Thị  Lan ") == "Nguyễn Thị Lan"
    with pytest.raises(Invalid):
        clean_name("A")
    with pytest.raises(Invalid):
        clean_name("x" * 201)


TODAY = date(2026, 11, 29)


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("15/3/2024", date(2024, 3, 15)),
        ("15-03-2024", date(2024, 3, 15)),
        ("15.3.2024", date(2024, 3, 15)),
        (" 15 / 03 / 2024 ", date(2024, 3, 15)),
        ("ngày 15 tháng 3 năm 2024", date(2024, 3, 15)),
        ("ngay 15 thang 3 nam 2024", date(2024, 3, 15)),
        ("15/3/24", date(2024, 3, 15)),
        ("2024-03-15", date(2024, 3, 15)),
        ("29/11/2026", TODAY),
        ("29/2/2024", date(2024, 2, 29)),
    ],
)
def test_past_dates_accepted(typed: str, value: date) -> None:
    assert parse_past_date(typed, TODAY) == value


@pytest.mark.parametrize(
    ("typed", "fragment"),
    [
        ("30/11/2026", "has not come yet"),
        ("1/1/2030", "has not come yet"),
        ("31/2/2024", "no such date"),
        ("15/13/2024", "no such date"),
        ("0/3/2024", "no such date"),
        ("march 2024", "day/month/year"),
        ("15032024", "day/month/year"),
        ("15/3", "day/month/year"),
        ("15/3/202", "day/month/year"),
        ("15/٣/2024", "day/month/year"),
        ("1/1/1999", "day/month/year"),
        ("", "day/month/year"),
    ],
)
def test_dates_refused(typed: str, fragment: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_past_date(typed, TODAY)
    assert fragment in str(caught.value)
