"""Charts and the one-page report, rendered headless (matplotlib's Agg canvas) into PNG bytes in memory.

No pyplot: every figure is its own `matplotlib.figure.Figure`, so rendering keeps no global state and is
safe from any thread. Texts come in already translated. matplotlib does not shape Arabic script, so the
caller passes labels in a left-to-right language for right-to-left readers (see `chart_language`).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from services.i18n import RTL_LANGUAGES

if TYPE_CHECKING:
    # matplotlib is imported where a chart is drawn: it costs the bot a second at every start otherwise.
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.gridspec import SubplotSpec

# The answer kinds' colours: calm to alarming, readable for the common colour blindnesses.
COLOURS: Mapping[str, str] = {
    "good": "#2e8b57",
    "so_so": "#e0a100",
    "not_good": "#c8372d",
    "talk": "#7b4fa0",
    "none": "#9a9a9a",
}
ASKED_COLOUR = "#4a7fb5"
ACCEPTED_COLOUR = "#8cc0e8"
BAND_COLOUR = "#eeeeee"


def chart_language(language: str) -> str:
    """The language a chart is labelled in: the reader's, or English for scripts matplotlib cannot shape."""
    return "en" if language in RTL_LANGUAGES else language


@dataclass(frozen=True)
class ChartTexts:
    title: str
    answers_title: str
    requests_title: str
    kinds: Mapping[str, str]
    asked: str
    accepted: str
    weeks: Sequence[str]
    band: str | None = None  # the legend of the "fewer than N" band; None when nothing is suppressed


@dataclass(frozen=True)
class ChartData:
    answers: Mapping[str, Sequence[float]]  # per answer kind, one value a week; NaN = suppressed
    asked: Sequence[float]
    accepted: Sequence[float]
    threshold: int | None = None  # with suppression: the band 0..threshold holds the hidden values
    kinds: Sequence[str] = field(default_factory=lambda: ("good", "so_so", "not_good", "talk", "none"))


@dataclass(frozen=True)
class WeeklyChart:
    """What `weekly_chart` draws, as plain data that fits in an outbox row's JSON (`to_json`).

    The weekly digest stores this in its transaction and the sender draws the PNG when it sends
    (`services.outbox.chart_upload`), so no database transaction is held while matplotlib draws.
    """

    texts: ChartTexts
    data: ChartData

    def png(self) -> bytes:
        """The chart as PNG bytes."""
        return weekly_chart(self.texts, self.data)

    def to_json(self) -> dict[str, object]:
        """The chart's data, as stored in an outbox row."""
        texts, data = self.texts, self.data
        return {
            "texts": {
                "title": texts.title,
                "answers_title": texts.answers_title,
                "requests_title": texts.requests_title,
                "kinds": dict(texts.kinds),
                "asked": texts.asked,
                "accepted": texts.accepted,
                "weeks": list(texts.weeks),
                "band": texts.band,
            },
            "data": {
                "answers": {kind: _numbers(values) for kind, values in data.answers.items()},
                "asked": _numbers(data.asked),
                "accepted": _numbers(data.accepted),
                "threshold": data.threshold,
                "kinds": list(data.kinds),
            },
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> WeeklyChart:
        """The chart back from an outbox row's data."""
        texts, data = value["texts"], value["data"]
        return cls(
            texts=ChartTexts(
                title=str(texts["title"]),
                answers_title=str(texts["answers_title"]),
                requests_title=str(texts["requests_title"]),
                kinds={str(kind): str(label) for kind, label in texts["kinds"].items()},
                asked=str(texts["asked"]),
                accepted=str(texts["accepted"]),
                weeks=[str(week) for week in texts["weeks"]],
                band=None if texts.get("band") is None else str(texts["band"]),
            ),
            data=ChartData(
                answers={str(kind): _floats(values) for kind, values in data["answers"].items()},
                asked=_floats(data["asked"]),
                accepted=_floats(data["accepted"]),
                threshold=None if data.get("threshold") is None else int(data["threshold"]),
                kinds=tuple(str(kind) for kind in data["kinds"]),
            ),
        )


def _numbers(values: Sequence[float]) -> list[float | None]:
    """JSON has no NaN (PostgreSQL refuses it): a suppressed value is stored as null."""
    return [None if math.isnan(value) else float(value) for value in values]


def _floats(values: Sequence[float | None]) -> list[float]:
    """Numbers from JSON (None stays None)."""
    return [math.nan if value is None else float(value) for value in values]


def _png(figure: Figure, dpi: int) -> bytes:
    """The figure as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def _style(axes: Axes) -> None:
    """The house style of the charts: plain, readable, colour-blind safe."""
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="y", color="#dddddd", linewidth=0.8)
    axes.set_axisbelow(True)
    from matplotlib.ticker import MaxNLocator

    axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    axes.set_ylim(bottom=0)


def _answer_bars(top: Axes, positions: list[int], texts: ChartTexts, data: ChartData) -> float:
    """Exact figures: stacked bars, so every kind stays visible even where counts are equal; the tallest."""
    base = [0.0] * len(positions)
    for kind in data.kinds:
        values = [0.0 if math.isnan(value) else value for value in data.answers.get(kind, base)]
        top.bar(
            positions,
            values,
            bottom=base,
            width=0.7,
            color=COLOURS.get(kind, "#555555"),
            label=texts.kinds.get(kind, kind),
        )
        base = [low + value for low, value in zip(base, values, strict=True)]
    return max([1.0, *base])


def _answer_lines(top: Axes, positions: list[int], texts: ChartTexts, data: ChartData) -> float:
    """Suppressed figures: a line per kind, a hollow marker in the band where a value is hidden; the highest."""
    threshold = data.threshold
    highest = 1.0
    for order, kind in enumerate(data.kinds):
        values = list(data.answers.get(kind, [0.0] * len(positions)))
        finite = [value for value in values if not math.isnan(value)]
        highest = max([highest, *finite])
        top.plot(
            positions,
            values,
            marker="o",
            markersize=5,
            linewidth=2.2,
            color=COLOURS.get(kind, "#555555"),
            label=texts.kinds.get(kind, kind),
        )
        hidden = [position for position, value in zip(positions, values, strict=True) if math.isnan(value)]
        if hidden and threshold:
            # Side by side within the week, so each kind's hidden value keeps its own colour.
            offset = (order - (len(data.kinds) - 1) / 2) * 0.09
            top.plot(
                [position + offset for position in hidden],
                [threshold / 2] * len(hidden),
                linestyle="none",
                marker="o",
                markersize=6,
                markerfacecolor="white",
                markeredgecolor=COLOURS.get(kind, "#555555"),
            )
    return highest


def _draw_answers(top: Axes, bottom: Axes, positions: list[int], texts: ChartTexts, data: ChartData) -> None:
    """The upper panel, check-in answers by kind, and the band of hidden values across both panels."""
    threshold = data.threshold
    if threshold is None:
        highest = _answer_bars(top, positions, texts, data)
    else:
        highest = _answer_lines(top, positions, texts, data)
    if threshold and texts.band:
        for axes in (top, bottom):
            axes.axhspan(0, threshold - 0.5, color=BAND_COLOUR, zorder=0, label=None)
        top.plot([], [], linestyle="none", marker="s", markersize=10, color=BAND_COLOUR, label=texts.band)
    top.set_title(texts.answers_title, loc="left", fontsize=11, fontweight="bold")
    handles, labels = top.get_legend_handles_labels()
    if threshold is None:  # stacked from the bottom up: list the legend the same way
        handles, labels = handles[::-1], labels[::-1]
    top.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9)
    _style(top)
    top.set_ylim(0, highest * 1.15 + 0.5)


def _draw_requests(bottom: Axes, positions: list[int], texts: ChartTexts, data: ChartData) -> None:
    """The lower panel: requests asked and accepted side by side, "<n>" where a figure is hidden."""
    threshold = data.threshold
    width = 0.38
    asked_left = [position - width / 2 for position in positions]
    accepted_left = [position + width / 2 for position in positions]
    asked = [0.0 if math.isnan(value) else value for value in data.asked]
    accepted = [0.0 if math.isnan(value) else value for value in data.accepted]
    bottom.bar(asked_left, asked, width=width, color=ASKED_COLOUR, label=texts.asked)
    bottom.bar(accepted_left, accepted, width=width, color=ACCEPTED_COLOUR, label=texts.accepted)
    if threshold:
        mark = f"<{threshold}"
        for left, value in zip(asked_left, data.asked, strict=True):
            if math.isnan(value):
                bottom.text(left, 0.15, mark, ha="center", va="bottom", fontsize=7, color="#555555")
        for left, value in zip(accepted_left, data.accepted, strict=True):
            if math.isnan(value):
                bottom.text(left, 0.15, mark, ha="center", va="bottom", fontsize=7, color="#555555")
    bottom.set_title(texts.requests_title, loc="left", fontsize=11, fontweight="bold")
    bottom.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9)
    _style(bottom)
    bottom.set_ylim(0, max([1.0, *asked, *accepted, float(threshold or 0)]) * 1.15 + 0.5)


def _draw(figure: Figure, grid: Sequence[SubplotSpec], texts: ChartTexts, data: ChartData) -> None:
    """Draw the weekly chart with matplotlib (called off the event loop, never in a transaction)."""
    top = figure.add_subplot(grid[0])
    bottom = figure.add_subplot(grid[1], sharex=top)
    positions = list(range(len(texts.weeks)))
    _draw_answers(top, bottom, positions, texts, data)
    _draw_requests(bottom, positions, texts, data)
    bottom.set_xticks(positions)
    bottom.set_xticklabels(list(texts.weeks), fontsize=8, rotation=45 if len(positions) > 8 else 0, ha="center")
    top.tick_params(labelbottom=False)
    if len(positions) == 1:
        bottom.set_xlim(-1, 1)


def weekly_chart(texts: ChartTexts, data: ChartData) -> bytes:
    """Two panels over the same weeks: check-in answers by kind, and requests asked and accepted."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8.0, 5.6), layout="constrained")
    figure.suptitle(texts.title, fontsize=13, fontweight="bold", x=0.02, ha="left")
    grid = figure.add_gridspec(2, 1, height_ratios=[3, 2])
    _draw(figure, [grid[0, 0], grid[1, 0]], texts, data)
    return _png(figure, dpi=120)


def report_page(
    *,
    title: str,
    subtitle: str,
    rows: Sequence[tuple[str, str]],
    texts: ChartTexts,
    data: ChartData,
    footer: str,
) -> bytes:
    """One A4 page: title, the figures as a table, the weekly chart and a note on what was left out."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8.27, 11.69), layout="constrained")
    grid = figure.add_gridspec(5, 1, height_ratios=[0.55, 4.2, 2.6, 1.8, 0.3])
    head = figure.add_subplot(grid[0, 0])
    head.axis("off")
    head.text(0.0, 0.95, title, fontsize=17, fontweight="bold", va="top", transform=head.transAxes)
    head.text(0.0, 0.15, subtitle, fontsize=10, color="#444444", va="bottom", transform=head.transAxes)
    table_axes = figure.add_subplot(grid[1, 0])
    table_axes.axis("off")
    table_axes.set_xlim(0, 1)
    table_axes.set_ylim(0, 1)
    step = 1.0 / max(len(rows), 18)
    for index, (label, value) in enumerate(rows):
        top = 1.0 - index * step
        middle = top - step / 2
        if index % 2 == 0:
            table_axes.axhspan(top - step, top, color="#f3f5f7", zorder=0)
        indented = label.startswith(" ")
        table_axes.text(
            0.03 if indented else 0.01,
            middle,
            label.strip(),
            fontsize=9.5,
            va="center",
            color="#444444" if indented else "#111111",
        )
        table_axes.text(0.99, middle, value, fontsize=9.5, va="center", ha="right", fontweight="bold")
    _draw(figure, [grid[2, 0], grid[3, 0]], texts, data)
    foot = figure.add_subplot(grid[4, 0])
    foot.axis("off")
    foot.text(
        0.0, 0.0, footer, fontsize=8, color="#555555", ha="left", va="bottom", wrap=True, transform=foot.transAxes
    )
    return _png(figure, dpi=110)
