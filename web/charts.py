"""The workspace's charts: their geometry, computed here and drawn as inline SVG by the templates
(`_charts.html`), read by hovering, tapping or with the keyboard (web/static/app.js moves the focus with the
arrow keys and shows the focused item's values in the chart's readout line).

Nothing is drawn by a script from elsewhere (the Content-Security-Policy forbids it). Values arrive as the
texts the figures publish ("12", "<5", "0", "" for withheld): a suppressed count is drawn as an outlined bar
up to the threshold ("somewhere below 5"), never as its real height. Right to left, time runs from right to
left: the x positions are mirrored here, so the SVG itself needs no direction of its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.i18n import _

WIDTH = 320.0
HEIGHT = 150.0
TOP = 8.0
BOTTOM = 20.0  # room for the x labels
SIDE = 26.0  # room for the y labels
MAX_LABELS = 7
WITHHELD = ("", "—")


@dataclass(frozen=True)
class Rect:
    """One drawn bar (or part of a stacked bar) in SVG units; `css` names its series (or 'hidden')."""

    x: float
    y: float
    w: float
    h: float
    css: str


@dataclass(frozen=True)
class Column:
    """One place along the x axis (a week): its hit area, its label, what its readout says, its bars."""

    x: float
    w: float
    label: str
    label_x: float
    show_label: bool
    text: str
    rects: list[Rect] = field(default_factory=list)


@dataclass(frozen=True)
class Chart:
    """A bar chart ready for the template."""

    key: str
    title: str
    columns: list[Column]
    legend: list[tuple[str, str]]  # (css, label)
    ticks: list[tuple[float, str]]  # (y, label)
    tick_x: float
    tick_anchor: str
    base_y: float
    grid: tuple[float, float]  # the x where the plot starts and ends
    line_y: float | None = None
    line_label: str = ""
    width: float = WIDTH
    height: float = HEIGHT

    @property
    def label_y(self) -> float:
        """The baseline of the x labels."""
        return self.height - 6


def number(text: str) -> float | None:
    """A published value as a number; None when it is suppressed ('<5') or withheld ('' or '—')."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _ceiling(value: float) -> float:
    """A round top for the y axis at or above `value` (at least 1)."""
    if value <= 1:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)  # pragma: no cover - the loop always returns


def _count(value: float) -> str:
    """A tick's number without a needless '.0'."""
    return f"{value:g}"


@dataclass(frozen=True)
class _Layout:
    """Where a bar chart's boxes go: the axis, the column slots and bar widths, right to left or not."""

    top: float  # the value at the top of the axis
    plot_h: float
    base: float  # the y of the axis' zero
    slot: float  # the width of one column
    bar_w: float
    hidden: int  # the height drawn for a suppressed value (the threshold; 0: nothing is suppressed)
    stacked: bool
    rtl: bool

    def y_of(self, value: float) -> float:
        """The y of a value on the axis."""
        return self.base - self.plot_h * value / self.top

    def x_of(self, x: float, w: float) -> float:
        """The drawn x of a box, mirrored right to left."""
        return round(WIDTH - x - w if self.rtl else x, 2)


def _bars(
    layout: _Layout,
    left: float,
    series: Sequence[tuple[str, str]],
    texts: Sequence[str],
    numbers: Sequence[float | None],
) -> tuple[list[Rect], list[str]]:
    """One column's bars (grouped or stacked) and its readout's parts, one per series."""
    rects: list[Rect] = []
    parts: list[str] = []
    stack = 0.0
    slot, bar_w = layout.slot, layout.bar_w
    for position, (css, name) in enumerate(series):
        text, value = texts[position], numbers[position]
        parts.append(_("{name}: {value}").format(name=name, value=text or "—"))
        if value is None and text in WITHHELD:
            continue
        height = float(layout.hidden) if value is None else value
        kind = "hidden" if value is None else css
        if layout.stacked:
            x, low, high = left + slot * 0.1, stack, stack + height
            stack = high
        else:
            x, low, high = left + slot * 0.1 + position * bar_w, 0.0, height
        if high > low:
            y_top = layout.y_of(high)
            rects.append(
                Rect(layout.x_of(x, bar_w), round(y_top, 2), round(bar_w, 2), round(layout.y_of(low) - y_top, 2), kind)
            )
    return rects, parts


def _layout(
    values: Sequence[Sequence[str]],
    numbers: Sequence[Sequence[float | None]],
    *,
    columns: int,
    bars: int,
    threshold: int | None,
    stacked: bool,
    cap: int | None,
    rtl: bool,
) -> _Layout:
    """A bar chart's layout: the axis tall enough for the tallest column, a suppressed value's height and the cap."""
    suppressed = any(
        n is None and t not in WITHHELD
        for row, nums in zip(values, numbers, strict=True)
        for t, n in zip(row, nums, strict=True)
    )
    hidden = threshold if threshold and suppressed else 0
    tallest = max(
        [sum(n or 0 for n in row) if stacked else max([n or 0 for n in row], default=0) for row in numbers] or [0]
    )
    top = _ceiling(max(tallest, float(hidden or 0), float(cap or 0)))
    plot_w, plot_h = WIDTH - SIDE - 4, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(columns, 1)
    inner = slot * 0.8
    bar_w = inner if stacked else inner / max(bars, 1)
    return _Layout(
        top=top, plot_h=plot_h, base=TOP + plot_h, slot=slot, bar_w=bar_w, hidden=hidden or 0, stacked=stacked, rtl=rtl
    )


def bar_chart(
    *,
    key: str,
    title: str,
    headings: Sequence[str],
    labels: Sequence[str],
    series: Sequence[tuple[str, str]],
    values: Sequence[Sequence[str]],
    threshold: int | None = None,
    stacked: bool = False,
    cap: int | None = None,
    cap_label: str = "",
    rtl: bool = False,
) -> Chart:
    """Bars per column (grouped, or stacked), one column per heading; `values[column][series]` as published.

    `headings` are what a column's readout starts with ('week of 7 December'), `labels` the short x labels.
    With `cap` a dashed line marks it (a volunteer's weekly cap)."""
    numbers = [[number(text) for text in row] for row in values]
    layout = _layout(
        values, numbers, columns=len(headings), bars=len(series), threshold=threshold, stacked=stacked, cap=cap, rtl=rtl
    )
    top, hidden, slot = layout.top, layout.hidden, layout.slot
    every = max(1, math.ceil(max(len(headings), 1) / MAX_LABELS))
    columns = []
    for index, heading in enumerate(headings):
        left = SIDE + index * slot
        rects, parts = _bars(layout, left, series, values[index], numbers[index])
        columns.append(
            Column(
                x=layout.x_of(left, slot),
                w=round(slot, 2),
                label=labels[index],
                label_x=layout.x_of(left + slot / 2, 0),
                show_label=index % every == 0,
                text=" · ".join([heading, *parts]),
                rects=rects,
            )
        )
    marks = (0.0, top / 2, top) if (top / 2).is_integer() else (0.0, top)
    ticks = [(round(layout.y_of(value), 2), _count(value)) for value in marks]
    legend = list(series) + ([("hidden", _("Fewer than {threshold}").format(threshold=threshold))] if hidden else [])
    return Chart(
        key=key,
        title=title,
        columns=columns,
        legend=legend,
        ticks=ticks,
        tick_x=WIDTH - SIDE + 4 if rtl else SIDE - 4,
        tick_anchor="start" if rtl else "end",
        base_y=layout.base,
        grid=(4.0, WIDTH - SIDE) if rtl else (SIDE, WIDTH - 4),
        line_y=round(layout.y_of(cap), 2) if cap else None,
        line_label=cap_label,
    )


@dataclass(frozen=True)
class Level:
    """One line of a list of figures drawn as bars: its label, its value as published, the bar's share."""

    label: str
    value: str
    share: float | None  # 0..1 of the longest bar; None: no bar (a duration, a median)
    hidden: bool = False
    indent: bool = False  # a line under the one before (answers under check-ins)

    @property
    def width(self) -> float:
        """The bar's length in a 0..100 wide drawing."""
        return round(100 * (self.share or 0.0), 1)


def levels(rows: Sequence[tuple[str, str]], threshold: int) -> list[Level]:
    """(label, value) figures as bars: counts against the largest count of the list, shares against 100%,
    a suppressed count up to the threshold (outlined), other values (times, medians) without a bar."""
    counts = [n for _label, value in rows if (n := number(value)) is not None and value.isdigit()]
    largest = max([*counts, float(threshold)]) if counts else float(threshold)
    result = []
    for label, value in rows:
        text, indent = value.strip(), label.startswith(" ")
        share: float | None = None
        if text.isdigit():
            share = float(text) / largest
        elif text.endswith("%") and (percent := number(text[:-1])) is not None:
            share = min(max(percent / 100, 0.0), 1.0)
        elif text.startswith("<") and text[1:].isdigit():
            result.append(Level(label.strip(), value, threshold / largest, hidden=True, indent=indent))
            continue
        result.append(Level(label.strip(), value, share, indent=indent))
    return result
