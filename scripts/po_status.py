"""Prints how many messages each catalog is missing (empty or fuzzy translations)."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent / "locales"


def main() -> int:
    missing_total = 0
    for po in sorted(ROOT.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as fh:
            catalog = read_po(fh)
        missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
        missing_total += len(missing)
        print(f"{po.parent.parent.name}: {len(catalog)} messages, {len(missing)} to translate")
    return 1 if missing_total else 0


if __name__ == "__main__":
    sys.exit(main())
