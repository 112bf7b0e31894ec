"""Prints how many messages each catalog is missing (empty or fuzzy translations).

With ``--fill-en`` the English catalog first takes each new msgid as its translation (message
ids are written in English).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Message
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "locales"


def _missing(message: Message) -> bool:
    """Whether a message (or any plural form of it) has no translation."""
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return not all(strings)


def fill_english() -> None:
    po = ROOT / "en" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    for message in catalog:
        if message.id and _missing(message):
            message.string = message.id
    with po.open("wb") as fh:
        write_po(fh, catalog, omit_header=False, sort_output=True)


def main() -> int:
    if "--fill-en" in sys.argv:
        fill_english()
    missing_total = 0
    for po in sorted(ROOT.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as fh:
            catalog = read_po(fh)
        missing = [m.id for m in catalog if m.id and (_missing(m) or m.fuzzy)]
        missing_total += len(missing)
        print(f"{po.parent.parent.name}: {len(catalog)} messages, {len(missing)} to translate")
    return 1 if missing_total else 0


if __name__ == "__main__":
    sys.exit(main())
