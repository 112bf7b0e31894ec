"""Text as platforms carry it: long replies cut into the messages a platform accepts, counted
the way it counts, and a typed "/command arguments" read the same way on every channel.

Telegram counts a text in UTF-16 code units; a platform that counts characters is served by
:attr:`~bot.channels.base.TextUnits.CHARACTERS`. A text is cut at a paragraph, else a line, else
a word, as long as the cut keeps at least a third of the message; only a single word longer than
that is cut inside.
"""

from __future__ import annotations

from bot.channels.base import TextUnits

__all__ = ["command_in", "split_text", "text_length", "utf16_units"]


def command_in(text: str) -> tuple[str, str] | None:
    """``("start", "abc")`` for ``"/start abc"`` (or ``"/Start@ocop_bot abc"``: lower case,
    without the bot's name), None when the text is not a command."""
    if not (text.startswith("/") and len(text) > 1 and not text[1].isspace()):
        return None
    head, *rest = text.split(maxsplit=1)
    return head[1:].split("@", 1)[0].lower(), rest[0] if rest else ""


def utf16_units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def text_length(text: str, units: TextUnits = TextUnits.UTF16) -> int:
    """The length of ``text`` in ``units``."""
    return utf16_units(text) if units is TextUnits.UTF16 else len(text)


def _fit(text: str, limit: int, units: TextUnits) -> int:
    """How many characters of ``text`` fit in ``limit`` units."""
    if units is TextUnits.CHARACTERS:
        return min(len(text), limit)
    count = 0
    for i, ch in enumerate(text):
        count += 2 if ord(ch) > 0xFFFF else 1
        if count > limit:
            return i
    return len(text)


def split_text(
    text: str,
    limit: int,
    first_limit: int | None = None,
    units: TextUnits = TextUnits.UTF16,
) -> list[str]:
    """Cut plain text into pieces of at most ``limit`` units (the first ``first_limit``), at
    paragraphs, lines or words."""
    parts: list[str] = []
    rest, budget = text, limit if first_limit is None else first_limit
    while text_length(rest, units) > budget:
        window = rest[: _fit(rest, budget, units)]
        cut, skip = len(window), 0
        for sep in ("\n\n", "\n", " "):
            if (at := window.rfind(sep)) >= max(1, budget // 3):
                cut, skip = at, len(sep)
                break
        parts.append(rest[:cut].rstrip())
        rest, budget = rest[cut + skip :].lstrip("\n"), limit
    parts.append(rest)
    return [p for p in parts if p.strip()] or [text]
