"""Writes translations into a catalog: ``po_set.py LOCALE FILE.json`` where the JSON maps each
msgid (the singular one for plurals) to its translation (a list for plural forms)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "locales"


def main() -> int:
    locale, source = sys.argv[1], Path(sys.argv[2])
    translations: dict[str, str | list[str]] = json.loads(source.read_text(encoding="utf-8"))
    po = ROOT / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    done = 0
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in translations:
            value = translations[key]
            message.string = tuple(value) if isinstance(value, list) else value
            message.flags.discard("fuzzy")
            done += 1
    with po.open("wb") as fh:
        write_po(fh, catalog, sort_output=True)
    print(f"{locale}: {done} of {len(translations)} translations written")
    return 0 if done == len(translations) else 1


if __name__ == "__main__":
    sys.exit(main())
