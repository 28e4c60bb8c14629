"""Geometry of the server-drawn SVG charts (trend lines, the stress test's distributions).

Templates draw the shapes computed here with SVG presentation attributes and CSS classes only: no script and no
style attribute, so the Content-Security-Policy holds. Values are floats here on purpose: these are pixel
positions of a picture, never money.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

WIDTH = 480
HEIGHT = 200
LEFT = 56
RIGHT = 12
TOP = 12
BOTTOM = 28


@dataclass(frozen=True)
class Tick:
    """A horizontal grid line at ``y`` for ``value``."""

    y: float
    value: float


@dataclass(frozen=True)
class Series:
    """One line: its SVG path (broken where a value is missing), its points, its CSS class and name."""

    path: str
    points: tuple[tuple[float, float, str], ...]  # x, y, tooltip
    css: str
    name: str


@dataclass
class Chart:
    """A chart's frame and shapes, in SVG user units."""

    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom_y: float = HEIGHT - BOTTOM
    ticks: list[Tick] = field(default_factory=list)
    labels: list[tuple[float, str]] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    bars: list[tuple[float, float, float, float, str, str]] = field(default_factory=list)  # x, y, w, h, css, title
    reference_y: float | None = None  # a dashed line (e.g. the green threshold), when given


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering [low, high] (1, 2 or 5 times a power of ten apart)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 0.001:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def line_chart(
    labels: list[str],
    series: list[tuple[str, str, list[float | None]]],
    reference: float | None = None,
    label_every: int = 3,
) -> Chart:
    """A line chart of one or more series over the same x labels; ``series`` = [(name, css, values)]."""
    values = [v for _, _, vs in series for v in vs if v is not None]
    if reference is not None:
        values.append(reference)
    low = min([0.0, *values]) if values else 0.0
    high = max(values) if values else 1.0
    ticks = nice_ticks(low, high)
    low, high = ticks[0], ticks[-1]
    chart = Chart()
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    n = max(len(labels), 1)

    def x_of(i: int) -> float:
        return round(LEFT + (plot_w * (i + 0.5) / n), 1)

    def y_of(v: float) -> float:
        return round(TOP + plot_h * (1 - (v - low) / (high - low)), 1)

    chart.ticks = [Tick(y_of(t), t) for t in ticks]
    chart.labels = [(x_of(i), label) for i, label in enumerate(labels) if i % label_every == (n - 1) % label_every]
    chart.reference_y = None if reference is None else y_of(reference)
    for name, css, vs in series:
        parts = []
        points = []
        pen_down = False
        for i, v in enumerate(vs):
            if v is None:
                pen_down = False
                continue
            x, y = x_of(i), y_of(v)
            parts.append(f"{'L' if pen_down else 'M'}{x},{y}")
            points.append((x, y, f"{labels[i]}: {v:g}"))
            pen_down = True
        chart.series.append(Series(" ".join(parts), tuple(points), css, name))
    return chart


def distribution_chart(edges: list[float], alone: list[int], pooled: list[int]) -> Chart:
    """Two histograms on common bins side by side (the year's result alone and inside the pool)."""
    chart = Chart()
    peak = max([1, *alone, *pooled])
    ticks = nice_ticks(0, peak)
    chart.ticks = []
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    top = ticks[-1]
    for t in ticks:
        chart.ticks.append(Tick(round(TOP + plot_h * (1 - t / top), 1), t))
    bins = max(len(alone), 1)
    width = plot_w / bins
    for i in range(len(alone)):
        x = LEFT + i * width
        for offset, counts, css, name in ((0.0, alone, "bar-alone", "alone"), (0.5, pooled, "bar-pooled", "pooled")):
            h = plot_h * counts[i] / top
            title = f"{name}: {counts[i]} [{edges[i]:,.0f} ; {edges[i + 1]:,.0f})"
            chart.bars.append(
                (round(x + offset * width, 1), round(TOP + plot_h - h, 1), round(width / 2, 1), round(h, 1), css, title)
            )
    step = max(1, bins // 5)
    chart.labels = [(round(LEFT + i * width, 1), f"{edges[i]:,.0f}") for i in range(0, bins + 1, step)]
    return chart
