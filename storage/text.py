"""Text normalisation and fuzzy matching for what producers type on cheap phones.

Producers often type Vietnamese without diacritics ("bac ninh" for "Bắc Ninh"), with or without
the unit word ("tp hcm", "xã Tân Lập"), in any case and spacing. :func:`fold` turns any of these
into one comparable form, :func:`strip_area_prefix` drops a leading unit word, and
:func:`best_matches` ranks candidate names against what was typed:

1. exact: the folded query equals a candidate's folded name, with or without its unit word
   (score 1.0); equal after dropping the unit word on both sides or ignoring spaces (0.99);
2. prefix of the candidate's name (0.90–0.98), then the query starting a later word (0.80–0.88);
   the closer the lengths, the higher;
3. :mod:`difflib` similarity of at least ``cutoff`` (score = 0.8 × ratio, so below 0.8).

Ties keep the order of the matching names, so results are deterministic. :func:`ranked` also
says which of a key's names matched best (a province's own name, or a province merged into it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Generic, NamedTuple, TypeVar

__all__ = ["EXACT", "Match", "best_matches", "fold", "ranked", "strip_area_prefix"]

K = TypeVar("K", bound=Hashable)

EXACT = 0.99
"""Scores at or above this are exact matches (with or without the unit word)."""

_APOSTROPHES = re.compile(r"['’‘`ʼ]")
_NOT_WORD = re.compile(r"[\W_]+")
_UNIT_PREFIX = re.compile(
    r"^(?:thanh pho|thi tran|thi xa|dac khu|tinh|tp|xa|phuong|huyen|quan)(?:\s*\.\s*|\s+)(?=\S)"
)


def fold(text: str) -> str:
    """Lowercase, without diacritics (đ → d), punctuation as spaces, whitespace collapsed.

    Apostrophes are dropped ("Cư M'gar" → "cu mgar"); any other punctuation separates words
    ("TP.HCM" → "tp hcm"). Folding a folded string changes nothing.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    bare = bare.replace("đ", "d").replace("Đ", "D").casefold()
    bare = _APOSTROPHES.sub("", bare)
    return _NOT_WORD.sub(" ", bare).strip()


def strip_area_prefix(folded: str) -> str:
    """Drop one leading unit word ("tinh", "thanh pho", "tp", "xa", "phuong"…) from a folded name.

    Only one is dropped, and never the whole name: "xa quan hoa" → "quan hoa", "tinh" → "tinh".
    """
    return _UNIT_PREFIX.sub("", folded, count=1)


@dataclass(frozen=True, slots=True)
class _Forms:
    full: str  # folded
    short: str  # folded, without the unit word

    @classmethod
    def of(cls, text: str) -> _Forms:
        full = fold(text)
        return cls(full, strip_area_prefix(full))


def _exact_score(query: _Forms, name: _Forms) -> float:
    if query.full in (name.full, name.short):
        return 1.0
    if query.short == name.short or query.short.replace(" ", "") == name.short.replace(" ", ""):
        return EXACT
    return 0.0


def _partial_score(query: _Forms, name: _Forms) -> float:
    coverage = len(query.short) / max(len(name.short), 1)
    if name.short.startswith(query.short):
        return 0.9 + 0.08 * coverage
    if f" {query.short}" in f" {name.short}":
        return 0.8 + 0.08 * coverage
    return 0.0


def _fuzzy_score(matcher: SequenceMatcher[str], name: _Forms, cutoff: float) -> float:
    matcher.set_seq1(name.short)
    if (
        matcher.real_quick_ratio() >= cutoff
        and matcher.quick_ratio() >= cutoff
        and (ratio := matcher.ratio()) >= cutoff
    ):
        return 0.8 * ratio
    return 0.0


def _score(query: _Forms, name: _Forms, matcher: SequenceMatcher[str], cutoff: float) -> float:
    return (
        _exact_score(query, name)
        or _partial_score(query, name)
        or _fuzzy_score(matcher, name, cutoff)
    )


class Match(NamedTuple, Generic[K]):
    """A candidate key, its best score, and the position (in the candidates) of the name that
    gave it."""

    key: K
    score: float
    position: int


def ranked(
    query: str,
    candidates: Sequence[tuple[K, str]],
    limit: int = 6,
    *,
    cutoff: float = 0.6,
) -> list[Match[K]]:
    """The keys of the candidates whose names best match ``query``, best first.

    A key may come with several names (a province and its aliases); it is listed once, with its
    best score and the first of its names that gave it. Ties go by the position of that name
    (list own names before aliases, and an alias never wins a tie). Names need not be folded.
    Candidates scoring below every tier are left out.
    """
    wanted = _Forms.of(query)
    if not wanted.full or limit <= 0:
        return []
    matcher: SequenceMatcher[str] = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(wanted.short)
    best: dict[K, tuple[float, int]] = {}
    for position, (key, name) in enumerate(candidates):
        score = _score(wanted, _Forms.of(name), matcher, cutoff)
        if score > best.get(key, (0.0, position))[0]:
            best[key] = (score, position)
    order = sorted(best, key=lambda key: (-best[key][0], best[key][1]))
    return [Match(key, round(best[key][0], 4), best[key][1]) for key in order[:limit]]


def best_matches(
    query: str,
    candidates: Sequence[tuple[K, str]],
    limit: int = 6,
    *,
    cutoff: float = 0.6,
) -> list[tuple[K, float]]:
    """The keys and scores of :func:`ranked`."""
    return [(m.key, m.score) for m in ranked(query, candidates, limit, cutoff=cutoff)]
