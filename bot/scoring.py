"""From council members' score sheets to a product's score and stars, as the rules say.

A pure function of the rule set and the sheets: :func:`evaluate` averages the members' totals
(the score, cut to two decimals so a score never rounds up into a higher band), reads the star
band of that score, caps the stars below any star minimum the council did not find met, flags
"potential 5★" at the rules' threshold, and rejects the dossier when the council ticked a
knock-out condition. A criterion counts as the council's finding when more than half of the
sheets say so. :func:`sheet_errors` says what is wrong with one member's sheet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from bot.rules import RuleSet

__all__ = ["Outcome", "Sheet", "evaluate", "sheet_errors"]

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Sheet:
    """One council member's sheet: points per section code, the star minimums they find
    met, and the knock-out conditions they ticked."""

    points: Mapping[str, Decimal]
    minimums_met: frozenset[str] = field(default_factory=frozenset)
    knockouts: frozenset[str] = field(default_factory=frozenset)

    @property
    def total(self) -> Decimal:
        return sum(self.points.values(), Decimal(0))


@dataclass(frozen=True)
class Outcome:
    """What the council's sheets add up to under one rule set."""

    rules_version: str
    score: Decimal  # the average of the members' totals, cut to two decimals
    stars_by_points: int  # the band the score alone reaches
    stars: int  # after the caps; 0 when knocked out
    capped_by: tuple[str, ...]  # star minimums not met that lowered the stars
    knocked_out: tuple[str, ...]  # knock-out conditions the council found
    potential_five_star: bool

    @property
    def certified(self) -> bool:
        """Whether the outcome earns a certificate (3★ or more, not knocked out)."""
        return not self.knocked_out and self.stars >= 3


def sheet_errors(rule_set: RuleSet, set_number: int, sheet: Sheet) -> list[str]:
    """What keeps a sheet from counting (empty when it is complete and within the maxima)."""
    errors: list[str] = []
    sections = {s.code: s for s in rule_set.score_sheet(set_number)}
    for code in sheet.points.keys() - sections.keys():
        errors.append(f"unknown section {code}")
    for code, section in sections.items():
        points = sheet.points.get(code)
        if points is None:
            errors.append(f"section {code} has no points")
        elif not 0 <= points <= section.max_points:
            errors.append(f"section {code}: {points} is outside 0–{section.max_points}")
    known_minimums = {m.code for m in rule_set.minimums_for(set_number)}
    errors.extend(f"unknown star minimum {c}" for c in sorted(sheet.minimums_met - known_minimums))
    known_knockouts = {k.code for k in rule_set.knockouts_for(set_number)}
    errors.extend(f"unknown knock-out {c}" for c in sorted(sheet.knockouts - known_knockouts))
    return errors


def evaluate(rule_set: RuleSet, set_number: int, sheets: Sequence[Sheet]) -> Outcome:
    """The council's outcome for a product of ``set_number`` from complete sheets."""
    if not sheets:
        raise ValueError("no score sheets to evaluate")
    for sheet in sheets:
        if errors := sheet_errors(rule_set, set_number, sheet):
            raise ValueError("; ".join(errors))
    average = sum((s.total for s in sheets), Decimal(0)) / len(sheets)
    score = average.quantize(_CENT, rounding=ROUND_DOWN)
    by_points = rule_set.stars_for(float(score))

    majority = len(sheets) // 2 + 1
    knocked_out = tuple(
        k.code
        for k in rule_set.knockouts_for(set_number)
        if sum(k.code in s.knockouts for s in sheets) >= majority
    )
    unmet = [
        m
        for m in rule_set.minimums_for(set_number)
        if sum(m.code in s.minimums_met for s in sheets) < majority
    ]
    ceiling = min((m.stars - 1 for m in unmet), default=by_points)
    stars = 0 if knocked_out else min(by_points, ceiling)
    capped_by = tuple(m.code for m in unmet if m.stars <= by_points) if not knocked_out else ()
    return Outcome(
        rules_version=rule_set.version,
        score=score,
        stars_by_points=by_points,
        stars=stars,
        capped_by=capped_by,
        knocked_out=knocked_out,
        potential_five_star=(
            not knocked_out and stars >= 5 and rule_set.is_potential_five_star(float(score))
        ),
    )
