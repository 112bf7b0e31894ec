"""Bar charts drawn on the server as SVG (no script, no library): the geometry is computed here
and ``charts_bar.html`` draws it, with a title and a description that carry the numbers, so a
screen reader reads them and the page repeats them as text.

A chart is 320 units wide (it scales to its box: 360 px phones show it whole): one bar per
value, a vertical line at the target, each bar's number at its end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["WIDTH", "Bar", "BarChart", "bar_chart"]

WIDTH = 320  # the drawing's width
_BARS_WIDTH = 260  # room left at the right for the numbers
_BAR_HEIGHT = 14
_GAP = 6


@dataclass(frozen=True)
class Bar:
    """One bar: its value, label (for the description) and place in the drawing."""

    label: str
    value: int
    y: int
    width: float
    kind: str  # the CSS class: "submitted", "accepted"…


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart against one target."""

    id: str
    title: str
    description: str
    target: int
    target_x: float
    height: int
    bars: tuple[Bar, ...]

    @property
    def width(self) -> int:
        return WIDTH

    @property
    def bar_height(self) -> int:
        return _BAR_HEIGHT


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    target: int,
    values: Sequence[tuple[str, str, int]],
) -> BarChart:
    """A chart of ``values`` (label, CSS class, number) against ``target``: the longest of the
    target and the values spans the bars' width."""
    longest = max([target, *(value for _, _, value in values), 1])
    scale = _BARS_WIDTH / longest
    bars = tuple(
        Bar(label, value, _GAP + i * (_BAR_HEIGHT + _GAP), value * scale, kind)
        for i, (label, kind, value) in enumerate(values)
    )
    return BarChart(
        id=chart_id,
        title=title,
        description=description,
        target=target,
        target_x=round(target * scale, 2),
        height=_GAP + len(bars) * (_BAR_HEIGHT + _GAP),
        bars=bars,
    )
