"""The server-drawn bar chart: bars in proportion to the longest of the target and the values,
the target line where the target falls, and every number in the description and the drawing."""

from __future__ import annotations

from bot.i18n import translator
from console.charts import WIDTH, bar_chart
from console.render import render


def test_bars_are_in_proportion_to_the_target() -> None:
    chart = bar_chart(
        "c", "25 at 3★", "Target 25", 25, [("Sent", "submitted", 5), ("OK", "accepted", 0)]
    )
    assert [bar.width for bar in chart.bars] == [52.0, 0.0]
    assert chart.target_x == 260.0
    assert [bar.y for bar in chart.bars] == [6, 26]
    assert chart.height == 46 and chart.width == WIDTH


def test_values_past_the_target_move_the_target_line_back() -> None:
    chart = bar_chart("c", "2 tourism", "Target 2", 2, [("Sent", "submitted", 4)])
    assert chart.bars[0].width == 260.0
    assert chart.target_x == 130.0


def test_an_empty_target_draws_no_nan() -> None:
    chart = bar_chart("c", "t", "d", 0, [("Sent", "submitted", 0)])
    assert chart.bars[0].width == 0.0 and chart.target_x == 0.0


def test_the_drawing_carries_its_title_description_and_numbers() -> None:
    chart = bar_chart(
        "t1", "At least <25>", "Target 25; submitted 1 234", 25, [("S", "submitted", 1234)]
    )
    svg = render("charts_bar.html", "vi", chart=chart)
    assert 'role="img" aria-labelledby="t1-title t1-desc"' in svg
    assert '<title id="t1-title">At least &lt;25&gt;</title>' in svg
    assert '<desc id="t1-desc">Target 25; submitted 1 234</desc>' in svg
    assert f">{translator('vi').number(1234)}</text>" in svg
    assert 'viewBox="0 0 320 26"' in svg
