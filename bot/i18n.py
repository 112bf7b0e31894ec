"""Translations and locale-aware formatting (Babel): every user-facing string passes here.

Catalogs are the ``.po`` files of the ``locales`` package (``locales/<lang>/LC_MESSAGES/``,
package data, so a wheel carries them); they are compiled in memory when first used, so there is
no build step and no binary file in the repository. Message ids are English.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from storage.clock import LOCAL_TIMEZONE

__all__ = ["LOCALES", "LOCALES_DIR", "N_", "Translator", "set_default_locale", "translator"]

CATALOGS = resources.files("locales")
LOCALES_DIR = Path(str(CATALOGS))  # where the catalogs are on disk (scripts and tests)
DOMAIN = "messages"
LOCALES = ("vi", "en")
BABEL_LOCALES = {"vi": "vi_VN", "en": "en_US"}
TIMEZONE = LOCAL_TIMEZONE  # dates and times are shown as in Vietnam
# Vietnamese papers write 29/11/2026 (Babel's vi patterns say "29 thg 11, 2026" and "29/11/26");
# other locales keep Babel's medium date and short date-time ("Nov 29, 2026").
DATE_PATTERNS = {"vi": "dd/MM/yyyy"}
DATETIME_PATTERNS = {"vi": "HH:mm dd/MM/yyyy"}


def N_(message: str) -> str:
    """Mark a string for translation without translating it now (declarative definitions)."""
    return message


@cache
def _translations(locale: str) -> Translations:
    path = CATALOGS / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


@dataclass(frozen=True)
class Translator:
    """Strings, dates and numbers for one locale."""

    locale: str

    @property
    def babel_locale(self) -> Locale:
        return Locale.parse(BABEL_LOCALES.get(self.locale, self.locale))

    def gettext(self, message: str) -> str:
        return _translations(self.locale).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _translations(self.locale).ngettext(singular, plural, n)

    def number(self, value: int | float) -> str:
        return format_decimal(value, locale=self.babel_locale)

    def date(self, value: date) -> str:
        pattern = DATE_PATTERNS.get(self.locale, "medium")
        return _format_date(value, format=pattern, locale=self.babel_locale)

    def datetime(self, value: datetime) -> str:
        pattern = DATETIME_PATTERNS.get(self.locale, "short")
        return _format_datetime(
            value.astimezone(TIMEZONE), format=pattern, locale=self.babel_locale
        )

    def money(self, dong: int) -> str:
        """Money in đồng: "6,81 tỷ đồng" for large sums in Vietnamese, grouped digits otherwise."""
        if self.locale == "vi" and abs(dong) >= 1_000_000_000:
            return self.gettext("{amount} billion đồng").format(
                amount=format_decimal(round(dong / 1e9, 2), locale=self.babel_locale)
            )
        return self.gettext("{amount} đồng").format(amount=self.number(dong))


_default = {"locale": "vi"}


def set_default_locale(locale: str) -> None:
    """The language for people who have not chosen one (``OCOP_DEFAULT_LOCALE``)."""
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r}; known: {', '.join(LOCALES)}")
    _default["locale"] = locale


def translator(locale: str | None) -> Translator:
    """The translator for ``locale``, falling back to the default for unknown ones."""
    return _translator(locale if locale in LOCALES else _default["locale"])


@cache
def _translator(locale: str) -> Translator:
    return Translator(locale)
