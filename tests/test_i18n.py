"""The catalogs: complete in Vietnamese and English, never stale, placeholders intact; Babel
formatting in vi_VN."""

from __future__ import annotations

import ast
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


GETTEXT_NAMES = {"_": 1, "N_": 1, "gettext": 1, "ngettext": 2}
SOURCE_DIRS = ("bot", "console", "handlers", "storage")


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _is_literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _is_reference(node: ast.expr) -> bool:
    """A msgid held elsewhere (marked with ``N_`` where it is written): a name, an attribute,
    an item or a ``.get()`` lookup — never a string built on the spot."""
    if isinstance(node, ast.Name | ast.Attribute | ast.Subscript):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
    )


def gettext_problems(source: str, filename: str, known: set[str]) -> list[str]:
    """Translation calls that Babel cannot extract or that build their msgid at run time.

    ``N_()`` takes only string literals; ``_()``, ``gettext()`` and ``ngettext()`` take a string
    literal or a reference to a marked msgid (never an f-string, ``+``, ``%`` or ``.format()``).
    Every literal must be in the extracted catalog: a call inside an f-string is invisible to
    Babel on Python 3.11, so its text was never translated.
    """
    problems = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name not in GETTEXT_NAMES:
            continue
        where = f"{filename}:{node.lineno} {ast.unparse(node)[:80]}"
        for arg in node.args[: GETTEXT_NAMES[name]]:
            if _is_literal(arg):
                continue
            if name == "N_" or not _is_reference(arg):
                problems.append(f"{where}: the msgid is not a string literal")
        first = node.args[0] if node.args else None
        if first is not None and _is_literal(first):
            assert isinstance(first, ast.Constant)
            if first.value not in known:
                problems.append(f"{where}: not extracted (is the call inside an f-string?)")
    return problems


def test_translation_calls_take_literal_msgids(extracted: set[str]) -> None:
    problems = []
    for directory in SOURCE_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            problems += gettext_problems(source, str(path.relative_to(ROOT)), extracted)
    assert not problems, "\n".join(problems)


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
    assert t.gettext("Which language would you like?") == "Anh/chị muốn dùng ngôn ngữ nào?"
    assert translator("en").gettext("⬅️ Back") == "⬅️ Back"
    assert translator("fr").locale == "vi"


def test_babel_formats_in_vi_vn() -> None:
    vi = translator("vi")
    assert vi.date(date(2023, 6, 30)) == "30/06/2023"
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
