"""Checks for what producers type: tax codes, phone numbers, e-mail, names, other text
and dates.

Each check returns the clean value or raises :class:`Invalid` whose message is a gettext msgid
(translated where it is shown) with optional ``{placeholders}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import phonenumbers

from bot.i18n import N_

__all__ = [
    "OLD_MOBILE_PREFIXES",
    "Invalid",
    "RenumberedMobile",
    "TaxCode",
    "TaxCodeKind",
    "clean_email",
    "clean_mobile",
    "clean_name",
    "clean_tax_code",
    "clean_text",
    "parse_id",
    "parse_past_date",
    "tax_check_digit",
]

TAX_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)
MAX_ID = 2**63 - 1  # the largest key a BIGINT column holds


@dataclass
class Invalid(Exception):
    """Bad input: ``message`` is a msgid; ``params`` fill its placeholders."""

    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message.format(**self.params)


@dataclass
class RenumberedMobile(Invalid):
    """An 11-digit mobile from before the 2018 renumbering; ``number`` is what it is now
    (E.164)."""

    number: str = ""


class TaxCodeKind(StrEnum):
    """What a typed tax code is."""

    TAX = "tax"  # 10 digits
    BRANCH = "branch"  # 13, written NNNNNNNNNN-NNN
    CITIZEN_ID = "citizen_id"  # a person's 12-digit id, which households may give


@dataclass(frozen=True)
class TaxCode:
    """A cleaned identifier and what kind it is."""

    value: str
    kind: TaxCodeKind


def tax_check_digit(first_nine: str) -> int | None:
    """The tenth digit of a Vietnamese tax code, or None when no digit can be valid."""
    total = sum(int(d) * w for d, w in zip(first_nine, TAX_WEIGHTS, strict=True))
    digit = 10 - total % 11
    return None if digit == 10 else digit


def _check_ten(code: str) -> None:
    if code[2:9] == "0000000":
        raise Invalid(N_("A tax code cannot have seven zeros after its first two digits."))
    expected = tax_check_digit(code[:9])
    if expected is None or int(code[9]) != expected:
        raise Invalid(
            N_(
                "The tax code {code} is not valid: its last digit does not match the others. "
                "Please check it against your business registration certificate."
            ),
            {"code": code},
        )


def clean_tax_code(typed: str) -> TaxCode:
    """A 10-digit tax code (check digit verified), a 13-digit branch code, or a 12-digit ID."""
    compact = re.sub(r"[\s.]", "", typed)
    if re.fullmatch(r"\d{10}-?\d{3}", compact):
        base, branch = compact.replace("-", "")[:10], compact.replace("-", "")[10:]
        _check_ten(base)
        if branch == "000":
            raise Invalid(N_("A branch tax code ends in a number from 001 to 999."))
        return TaxCode(f"{base}-{branch}", TaxCodeKind.BRANCH)
    if re.fullmatch(r"\d{10}", compact):
        _check_ten(compact)
        return TaxCode(compact, TaxCodeKind.TAX)
    if re.fullmatch(r"\d{12}", compact):
        return TaxCode(compact, TaxCodeKind.CITIZEN_ID)
    raise Invalid(
        N_(
            "A tax code has 10 digits (or 13 for a branch, written 0123456789-001); "
            "a household may give its 12-digit citizen ID instead. You typed {count} digits."
        ),
        {"count": sum(c.isdigit() for c in compact)},
    )


# Old 11-digit mobile prefixes and their 10-digit successors (the 2018 renumbering).
OLD_MOBILE_PREFIXES: dict[str, str] = {
    "0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036", "0167": "037",
    "0168": "038", "0169": "039", "0120": "070", "0121": "079", "0122": "077", "0126": "076",
    "0128": "078", "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    "0186": "056", "0188": "058", "0199": "059",
}  # fmt: skip


def _renumbered(raw: str) -> str | None:
    """The 10-digit national number an old 11-digit mobile became, or None."""
    digits = re.sub(r"\D", "", raw)
    if digits.startswith("84") and len(digits) == 12:
        digits = "0" + digits[2:]
    if len(digits) != 11 or digits[:4] not in OLD_MOBILE_PREFIXES:
        return None
    return OLD_MOBILE_PREFIXES[digits[:4]] + digits[4:]


def clean_mobile(typed: str) -> str:
    """A Vietnamese mobile number in E.164 (+849…); landlines and foreign numbers are refused,
    and an old 11-digit mobile raises :class:`RenumberedMobile` with its new number."""
    raw = typed.strip()
    if not re.fullmatch(r"[+\d\s().-]{6,20}", raw):
        raise Invalid(N_("Please type a phone number using digits only, e.g. 0912 345 678."))
    if (new := _renumbered(raw)) is not None:
        number = phonenumbers.parse(new, "VN")
        raise RenumberedMobile(
            N_("{old} is an old number; since 2018 it is {new}. If that is it, tap it below."),
            {
                "old": raw,
                "new": phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
            },
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        )
    try:
        number = phonenumbers.parse(raw, "VN")
    except phonenumbers.NumberParseException as exc:
        raise Invalid(N_("That does not look like a phone number, e.g. 0912 345 678.")) from exc
    if number.country_code != 84:
        raise Invalid(N_("Please give a Vietnamese mobile number (0 followed by 9 digits)."))
    if not phonenumbers.is_valid_number(number):
        raise Invalid(
            N_("{number} is not a valid Vietnamese phone number: a mobile is 0 and 9 digits."),
            {"number": raw},
        )
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise Invalid(
            N_(
                "{number} is a landline. We need a mobile number so officials can call or "
                "text you, e.g. 0912 345 678."
            ),
            {"number": raw},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def clean_email(typed: str) -> str:
    """An e-mail address (lower-cased domain)."""
    value = typed.strip()
    if not EMAIL.fullmatch(value) or len(value) > 200:
        raise Invalid(N_("That is not an e-mail address; it looks like name@example.com."))
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def clean_text(
    typed: str,
    *,
    too_short: str,
    minimum: int = 2,
    maximum: int = 200,
    counts: Callable[[str], bool] = str.isalpha,
) -> str:
    """Typed text with collapsed spaces: at least ``minimum`` characters that ``counts``
    (letters by default), else ``too_short`` (a msgid, which may use ``{minimum}``); at most
    ``maximum`` characters."""
    value = " ".join(typed.split())
    if sum(counts(c) for c in value) < minimum:
        raise Invalid(too_short, {"minimum": minimum})
    if len(value) > maximum:
        raise Invalid(
            N_("That is too long ({length} characters); at most {maximum}, please."),
            {"length": len(value), "maximum": maximum},
        )
    return value


def clean_name(typed: str, *, minimum: int = 2, maximum: int = 200) -> str:
    """A name: collapsed spaces, at least ``minimum`` letters, at most ``maximum`` characters."""
    return clean_text(
        typed,
        too_short=N_("That is too short; please type the full name."),
        minimum=minimum,
        maximum=maximum,
    )


def parse_id(typed: str) -> int | None:
    """A record id from user input (a command argument, a button value): ASCII digits only
    (not "²" or "٣"), 1 to ``MAX_ID``; anything else is None."""
    if not typed.isascii() or not typed.isdigit() or len(typed) > len(str(MAX_ID)):
        return None
    value = int(typed)
    return value if 0 < value <= MAX_ID else None


DATE_PARTS = re.compile(r"[0-9]+")  # ASCII digits only
EARLIEST_YEAR = 2000


def parse_past_date(typed: str, today: date) -> date:
    """A day that has passed, typed day first as people write it: 15/3/2024, 15-03-2024,
    15.3.2024, "ngày 15 tháng 3 năm 2024", 15/3/24; or ISO 2024-03-15. After ``today`` is
    refused."""
    parts = DATE_PARTS.findall(typed)
    widths = [len(p) for p in parts]
    if len(parts) == 3 and widths[0] == 4 and max(widths[1:]) <= 2:
        parts.reverse()  # ISO: year first
    elif len(parts) != 3 or max(widths[:2]) > 2 or widths[2] not in (2, 4):
        raise Invalid(N_("Please type the date as day/month/year, e.g. 15/3/2024."))
    day, month, year = (int(p) for p in parts)
    if len(parts[2]) == 2:
        year += 2000
    try:
        value = date(year, month, day)
    except ValueError:
        raise Invalid(
            N_("There is no such date as {typed}; please type it as day/month/year."),
            {"typed": " ".join(typed.split())},
        ) from None
    if value > today:
        raise Invalid(N_("That date has not come yet; please type a date that has passed."))
    if value.year < EARLIEST_YEAR:
        raise Invalid(N_("Please type the date as day/month/year, e.g. 15/3/2024."))
    return value
