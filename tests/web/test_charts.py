"""The workspace's chart geometry (web/charts.py): suppressed counts never drawn at their height, right to
left mirrored, a cap line, figures as bars."""

from __future__ import annotations

from services.i18n import use_language
from web import charts

SERIES = [("asked", "Asked"), ("accepted", "Accepted")]


def _chart(rtl: bool = False, values: list[list[str]] | None = None) -> charts.Chart:
    with use_language("en"):
        return charts.bar_chart(
            key="requests",
            title="Requests",
            headings=["week 49", "week 50"],
            labels=["w49", "w50"],
            series=SERIES,
            values=values or [["12", "<5"], ["0", ""]],
            threshold=5,
            rtl=rtl,
        )


def test_a_suppressed_count_is_an_outline_up_to_the_threshold_and_a_withheld_one_is_not_drawn() -> None:
    chart = _chart()
    first, second = chart.columns
    asked, hidden = first.rects
    assert asked.css == "asked" and hidden.css == "hidden"
    assert abs(hidden.h / asked.h - 5 / 12) < 0.01, "as high as the threshold, not as the count"
    assert second.rects == [], "0 is no bar; withheld is no bar"
    assert first.text == "week 49 · Asked: 12 · Accepted: <5" and second.text == "week 50 · Asked: 0 · Accepted: —"
    assert ("hidden", "Fewer than 5") in chart.legend


def test_nothing_suppressed_needs_no_legend_for_it() -> None:
    chart = _chart(values=[["12", "3"], ["0", "1"]])
    assert all(css != "hidden" for css, _label in chart.legend)
    assert [tick for _y, tick in chart.ticks] == ["0", "10", "20"], "a round top above the tallest bar"


def test_right_to_left_the_weeks_run_from_the_right() -> None:
    ltr, rtl = _chart(), _chart(rtl=True)
    assert ltr.columns[0].x < ltr.columns[1].x
    assert rtl.columns[0].x > rtl.columns[1].x
    assert rtl.columns[0].x + rtl.columns[0].w == charts.WIDTH - ltr.columns[0].x
    assert rtl.tick_anchor == "start" and ltr.tick_anchor == "end"


def test_stacked_bars_with_a_cap_line() -> None:
    chart = charts.bar_chart(
        key="load",
        title="Load",
        headings=["week 50"],
        labels=["w50"],
        series=[("tasks", "Tasks"), ("visits", "Visits")],
        values=[["2", "1"]],
        stacked=True,
        cap=2,
    )
    tasks, visits = chart.columns[0].rects
    assert tasks.x == visits.x and abs(visits.y + visits.h - tasks.y) < 0.01, "visits on top of tasks"
    assert chart.line_y is not None and visits.y < chart.line_y < tasks.y + tasks.h, "three is over the cap of two"


def test_figures_as_bars_counts_shares_and_the_rest() -> None:
    levels = charts.levels(
        [("Families", "20"), ("   Good", "10"), ("Share", "80%"), ("Concerns", "<5"), ("Median", "3 h 5 min")], 5
    )
    assert [level.width for level in levels] == [100.0, 50.0, 80.0, 25.0, 0.0]
    assert levels[1].indent and not levels[0].indent
    assert levels[3].hidden and levels[4].share is None
