"""Finding the product sets a producer means from a typed product name.

Words are compared mark by mark. A typed word's diacritics must all be in the word it matches,
so "chè" (tea) never matches "chế" (processed); the marks a producer left out are free, so a
word typed without any matches by its bare letters ("che" matches both) and "mât ong" still
finds "mật ong". The tone mark may sit on either vowel ("hoà" is "hòa").

A set is matched through its keywords (common product names, phrases, written with their
diacritics: typing without them matches by the rule above), its name and, last, its group and
sub-group. Tiers, best first:

0. whole words: the typed text contains a keyword as a phrase ("vai thieu luc ngan" contains
   "vải thiều"), or is a phrase in a keyword ("vai thieu" in "vải thiều sấy"), or every typed
   word is a word of the set's name, or of its name, group and sub-group together ("đồ uống"
   lists the drink sets);
1. prefixes: the typed words are a phrase in a keyword, or words of the name, group and
   sub-group, each typed word only starting its word ("coff", "nuoc ma").

Only the sets of the best tier that explain the most typed words are returned ("rượu vang sim"
finds the set with "rượu vang" and "rượu sim", not the one with only "rượu"; "nuoc mam cua lo"
the fish sauce set, not the one with "cua", crab). Among them: a keyword contained as a phrase,
then a keyword holding the typed phrase, then the name, then the group; then the set whose match
starts earliest in the typed text (a product name comes before its place: "chè Mai Sơn"), then
the set number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.rules.model import ProductSet

__all__ = ["ProductSearch", "Word", "phrase"]

_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền, sắc, ngã, hỏi, nặng
_APOSTROPHES = re.compile(r"['’‘`ʼ]")
_SEPARATORS = re.compile(r"[^\w\u0300-\u036f]+|_")
_MAX_TYPED_WORDS = 24

# match kinds, best first
_CONTAINED, _INSIDE_KEYWORD, _IN_NAME, _IN_GROUP = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class Word:
    """A word as bare lower-case letters, the marks on each letter, and its tone."""

    letters: str
    marks: tuple[str, ...]  # per letter: "" or its vowel marks (â ă ơ ư…) or "đ"
    tone: str  # "" or the combining tone mark

    @classmethod
    def of(cls, token: str) -> Word:
        letters: list[str] = []
        marks: list[str] = []
        tone = ""
        for char in unicodedata.normalize("NFD", token.casefold()):
            if char in _TONES:
                tone = char
            elif unicodedata.combining(char):
                if marks:
                    marks[-1] = "".join(sorted(marks[-1] + char))
            elif char == "đ":
                letters.append("d")
                marks.append("đ")
            else:
                letters.append(char)
                marks.append("")
        return cls("".join(letters), tuple(marks), tone)

    def fits(self, other: Word, *, prefix: bool = False) -> bool:
        """Whether this typed word is ``other`` (or starts it), its marks all in ``other``."""
        if prefix:
            letters = other.letters.startswith(self.letters)
        else:
            letters = other.letters == self.letters
        if not letters or (self.tone and self.tone != other.tone):
            return False
        marks = zip(self.marks, other.marks, strict=False)  # ``other`` may be longer
        return all(not mark or mark == theirs for mark, theirs in marks)


def phrase(text: str) -> tuple[Word, ...]:
    """The words of ``text`` (punctuation separates words, apostrophes are dropped)."""
    cleaned = _APOSTROPHES.sub("", unicodedata.normalize("NFC", text))
    return tuple(Word.of(token) for token in _SEPARATORS.split(cleaned) if token)


@dataclass(frozen=True, slots=True)
class _Phrase:
    words: tuple[Word, ...]
    letters: frozenset[str]  # the words' bare letters, to rule most phrases out at once

    @classmethod
    def of(cls, text: str, limit: int | None = None) -> _Phrase:
        words = phrase(text)[:limit]
        return cls(words, frozenset(w.letters for w in words))


@dataclass(frozen=True, slots=True)
class _Entry:
    pset: ProductSet
    keywords: tuple[_Phrase, ...]
    name: _Phrase  # Vietnamese and English name words
    context: _Phrase  # the name's, the group's and the sub-group's words


@dataclass(frozen=True, slots=True)
class _Match:
    tier: int
    covered: int  # typed words the match explains
    kind: int
    position: int  # the first typed word it explains
    number: int

    @property
    def key(self) -> tuple[int, int, int, int, int]:
        return (self.tier, -self.covered, self.kind, self.position, self.number)


class ProductSearch:
    """The product sets of one rule set, prepared for :meth:`find`."""

    def __init__(self, sets: Iterable[tuple[ProductSet, Sequence[str]]]) -> None:
        """``sets``: each product set with the texts of its group and sub-group names."""
        self._entries = tuple(
            _Entry(
                pset,
                tuple(_Phrase.of(k) for k in pset.keywords),
                _Phrase.of(f"{pset.names.vi} {pset.names.en}"),
                _Phrase.of(" ".join((pset.names.vi, pset.names.en, *context))),
            )
            for pset, context in sets
        )

    def find(self, typed: str, group: str | None = None) -> list[ProductSet]:
        """The sets ``typed`` names, best first, in ``group`` if given (see the module)."""
        words = _Phrase.of(typed, _MAX_TYPED_WORDS)
        if not words.words:
            return []
        entries = [e for e in self._entries if group in (None, e.pset.group)]
        for tier in (0, 1):
            matches = [m for e in entries if (m := _match(words, e, tier)) is not None]
            if matches:
                matches.sort(key=lambda m: m[0].key)
                best = matches[0][0].covered
                return [pset for m, pset in matches if m.covered == best]
        return []


def _match(typed: _Phrase, entry: _Entry, tier: int) -> tuple[_Match, ProductSet] | None:
    """The best way ``entry`` explains ``typed`` with whole words (tier 0) or prefixes (1)."""
    number, everything, prefix = entry.pset.number, len(typed.words), tier == 1
    found: list[_Match] = []
    if not prefix:
        covered: set[int] = set()
        for keyword in entry.keywords:
            if keyword.letters <= typed.letters:
                covered.update(_occurrences(typed.words, keyword.words))
        if covered:
            found.append(_Match(0, len(covered), _CONTAINED, min(covered), number))
    if any(_inside(typed, keyword, prefix=prefix) for keyword in entry.keywords):
        found.append(_Match(tier, everything, _INSIDE_KEYWORD, 0, number))
    elif _all_in(typed, entry.name, prefix=prefix):
        found.append(_Match(tier, everything, _IN_NAME, 0, number))
    elif _all_in(typed, entry.context, prefix=prefix):
        found.append(_Match(tier, everything, _IN_GROUP, 0, number))
    return (min(found, key=lambda m: m.key), entry.pset) if found else None


def _occurrences(typed: tuple[Word, ...], keyword: tuple[Word, ...]) -> set[int]:
    """The positions of typed words that are part of ``keyword`` found as a phrase in them."""
    size = len(keyword)
    found: set[int] = set()
    for start in range(len(typed) - size + 1):
        if all(t.fits(k) for t, k in zip(typed[start : start + size], keyword, strict=True)):
            found.update(range(start, start + size))
    return found


def _inside(typed: _Phrase, keyword: _Phrase, *, prefix: bool) -> bool:
    """Whether the typed words are a phrase in ``keyword`` ("vai thieu" in "vải thiều sấy")."""
    if not prefix and not typed.letters <= keyword.letters:
        return False
    words, size = keyword.words, len(typed.words)
    return any(
        all(
            t.fits(k, prefix=prefix)
            for t, k in zip(typed.words, words[start : start + size], strict=True)
        )
        for start in range(len(words) - size + 1)
    )


def _all_in(typed: _Phrase, words: _Phrase, *, prefix: bool) -> bool:
    """Whether every typed word is (or, with ``prefix``, starts) one of ``words``."""
    if not prefix and not typed.letters <= words.letters:
        return False
    return all(any(t.fits(w, prefix=prefix) for w in words.words) for t in typed.words)
