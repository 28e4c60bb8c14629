"""Bar charts of a study's projection as server-drawn SVG geometry (no script; CSP-safe).

The template draws each bar from the numbers computed here with SVG presentation attributes (x, y, width,
height) and a class from ``static/css/feasibility.css`` for its colour — no ``style`` attribute, which the
Content-Security-Policy (``style-src 'self'``) would block.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

WIDTH = 640
HEIGHT = 240
LEFT = 70  # room for the value labels of the axis
RIGHT = 10
TOP = 10
BOTTOM = 30  # room for the year labels
TICKS = 4


@dataclass
class Bar:
    """One bar: its rectangle, its series (CSS class) and the tooltip text."""

    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass
class Tick:
    """A horizontal grid line and its value."""

    y: float
    value: Decimal


@dataclass
class Chart:
    """Everything a template needs to draw one chart."""

    width: int
    height: int
    left: int
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[tuple[float, str]]
    zero_y: float
    legend: list[tuple[str, str]]


def bar_chart(categories: list[str], series: list[tuple[str, str, list[Decimal]]]) -> Chart:
    """Grouped bars: one group per category (a year), one bar per series ``(name, css class, values)``.

    Negative values go below the zero line (a year's result can be a loss).
    """
    values = [Decimal(x) for _name, _css, xs in series for x in xs] or [Decimal(0)]
    high = max(max(values), Decimal(0))
    low = min(min(values), Decimal(0))
    span = (high - low) or Decimal(1)
    plot_height = HEIGHT - TOP - BOTTOM
    plot_width = WIDTH - LEFT - RIGHT

    def y_of(value: Decimal) -> float:
        return round(float(TOP + (high - value) / span * plot_height), 1)

    group = plot_width / max(len(categories), 1)
    bar_width = group * 0.7 / max(len(series), 1)
    bars, labels = [], []
    for index, category in enumerate(categories):
        x0 = LEFT + index * group + group * 0.15
        labels.append((round(LEFT + index * group + group / 2, 1), category))
        for number, (name, css, xs) in enumerate(series):
            value = Decimal(xs[index])
            top, bottom = (y_of(value), y_of(Decimal(0))) if value >= 0 else (y_of(Decimal(0)), y_of(value))
            bars.append(
                Bar(
                    x=round(x0 + number * bar_width, 1),
                    y=top,
                    width=round(bar_width, 1),
                    height=round(max(bottom - top, 0.5), 1),
                    css=css,
                    title=f"{category} · {name}",
                )
            )
    ticks = [Tick(y_of(low + span * i / TICKS), low + span * i / TICKS) for i in range(TICKS + 1)]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        bars=bars,
        ticks=ticks,
        labels=labels,
        zero_y=y_of(Decimal(0)),
        legend=[(name, css) for name, css, _xs in series],
    )
