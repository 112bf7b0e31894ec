"""A rules file dated in the future applies from its ``effective_from``, not at once."""

from __future__ import annotations

import dataclasses
from datetime import date

from bot.rules import in_force, rules


def test_future_rules_apply_from_their_date() -> None:
    current = rules()
    future = dataclasses.replace(current, version="2027.1", effective_from=date(2027, 7, 1))
    catalogue = [future, current]

    assert in_force(catalogue, date(2026, 11, 29)) is current
    assert in_force(catalogue, date(2027, 6, 30)) is current
    assert in_force(catalogue, date(2027, 7, 1)) is future
    assert in_force(catalogue, date(2020, 1, 1)) is current  # before all: the oldest


def test_rules_default_to_the_version_in_force_on_the_day() -> None:
    assert rules(on=date(2026, 11, 29)).version == "2026.1"
    assert rules(on=date(2026, 5, 22)).version == "2026.1"
