"""The catalogs: complete in Vietnamese and English, never stale, placeholders intact; Babel
formatting in vi_VN."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from bot.i18n import LOCALES, LOCALES_DIR, set_default_locale, translator

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"{\w*}")


def _catalog(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh)


def _ids(catalog: Catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def _strings(message: Message) -> tuple[str, ...]:
    value = message.string
    return value if isinstance(value, tuple) else (value,)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The msgids in the code now, extracted as scripts/i18n does."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [
            sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
            "-k", "N_", "-k", "_", "-k", "gettext", "-k", "ngettext:1,2", "--no-location",
            "--omit-header", "-o", str(pot), ".",
        ],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    return _ids(_catalog(pot))


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_is_not_stale(locale: str, extracted: set[str]) -> None:
    catalog = _catalog(LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po")
    missing = extracted - _ids(catalog)
    obsolete = _ids(catalog) - extracted
    assert not missing, f"run scripts/i18n: not in the {locale} catalog: {sorted(missing)[:5]}"
    assert not obsolete, f"run scripts/i18n: no longer in the code: {sorted(obsolete)[:5]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(locale: str) -> None:
    catalog = _catalog(LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po")
    untranslated = [m.id for m in catalog if m.id and (m.fuzzy or not all(_strings(m)))]
    assert not untranslated, f"{locale}: translate {untranslated[:5]}"
    for message in catalog:
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        for text in _strings(message):
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(source)), source


def test_vietnamese_is_really_vietnamese() -> None:
    t = translator("vi")
    assert t.gettext("⬅️ Back") != "⬅️ Back"
    assert t.gettext("Which language would you like?") == "Bạn muốn dùng ngôn ngữ nào?"
    assert translator("en").gettext("⬅️ Back") == "⬅️ Back"
    assert translator("fr").locale == "vi"


def test_babel_formats_in_vi_vn() -> None:
    vi = translator("vi")
    assert vi.date(date(2023, 6, 30)) == "30 thg 6, 2023"
    assert vi.money(6_810_000_000) == "6,81 tỷ đồng"
    assert vi.number(20000) == "20.000"
    assert vi.datetime(datetime(2023, 6, 30, 3, 0, tzinfo=UTC)).startswith("10:00")
    assert translator("en").number(20000) == "20,000"


def test_default_locale_setting() -> None:
    set_default_locale("en")
    try:
        assert translator(None).locale == "en"
        assert translator("vi").locale == "vi"
    finally:
        set_default_locale("vi")
    assert translator(None).locale == "vi"
    with pytest.raises(ValueError, match="unknown locale"):
        set_default_locale("fr")
