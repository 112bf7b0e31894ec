"""Regression: "Registered on" was English in the Vietnamese profile card.

``handlers/profile.py`` translated its labels with ``ctx._('…')`` inside f-strings; Babel on
Python 3.11 does not look inside f-strings, so the label never reached the catalogs, and the
catalog test (which compares the catalogs with what Babel extracts) could not notice. The i18n
test now scans the code itself: a translation call whose msgid is not a string literal Babel
extracted fails it.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness import copy_database, prepare_database, register, running_bot
from tests.test_i18n import gettext_problems

BEFORE = """
lines = [
    f"{ctx._('Tax code')}: {producer.tax_code}",
    f"{ctx._('Registered on')}: {ctx.t.date(producer.created_at.date())}",
]
"""


def test_the_scan_refuses_calls_babel_cannot_extract() -> None:
    known = {"Tax code"}
    problems = gettext_problems(BEFORE, "profile.py", known)
    assert len(problems) == 1 and "Registered on" in problems[0]
    assert gettext_problems('ctx._(f"Hello {name}")', "a.py", set())
    assert gettext_problems('ctx._("Hello " + name)', "a.py", set())
    assert gettext_problems('ctx._("Hello {name}".format(name=name))', "a.py", set())
    assert gettext_problems("N_(label)", "a.py", set())
    assert gettext_problems('t.ngettext("one", f"{n} many", n)', "a.py", {"one"})
    assert not gettext_problems('ctx._("Hello")', "a.py", {"Hello"})
    assert not gettext_problems("ctx._(field.label)", "a.py", set())
    assert not gettext_problems("ctx._(NAMES.get(kind, 'x'))", "a.py", set())


async def test_the_vietnamese_profile_card_is_all_vietnamese(tmp_path: Path) -> None:
    await prepare_database(f"sqlite+aiosqlite:///{tmp_path / 'template.sqlite3'}")
    url = copy_database(tmp_path / "template.sqlite3", tmp_path / "ocop.sqlite3")
    async with running_bot(url, tmp_path / "blobs") as bot:
        phone = bot.producer(7_190_000_001)
        await register(phone, confirm=True)
        card = (await phone.tap("Thong tin chu the"))[-1].plain
    assert "Ngày đăng ký:" in card
    assert "Registered on" not in card
    assert "Mã số thuế: 0100109106" in card
