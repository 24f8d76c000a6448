"""Bar charts as inline SVG, drawn on the server: no script, no CDN, readable without JavaScript.

Pure geometry: series in, rectangles and labels out; the template only writes the elements.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 220
LEFT, BOTTOM, TOP = 40, 36, 10
MAX_LABELS = 8  # more x labels than this overlap; every n-th is shown
_DATED = re.compile(r"^\d{4}-")  # "2025-03-04" is shown as "03-04", "2025-W10" as "W10"


@dataclass(frozen=True)
class Bar:
    """One stacked bar: the lower part (a) and the upper part (b), in SVG units."""

    x: float
    width: float
    a_y: float
    a_height: float
    b_y: float
    b_height: float
    label: str
    short: str  # the x-axis text: a date without its year, anything else as it is
    show_label: bool
    title: str


@dataclass(frozen=True)
class Chart:
    """A chart ready for the template: bars, y-axis ticks and the view box."""

    bars: list[Bar]
    ticks: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    base: float = HEIGHT - BOTTOM


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value``: 1, 2, 5 × 10^n."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return max(m * step, 1)
        step *= 10


def stacked_bars(
    labels: Sequence[str], lower: Sequence[int], upper: Sequence[int] | None = None
) -> Chart:
    """Bars of ``lower`` (+ ``upper`` stacked on top) per label, scaled to the chart."""
    upper = upper if upper is not None else [0] * len(lower)
    top = _nice_max(max((a + b for a, b in zip(lower, upper, strict=True)), default=0))
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(labels), 1)
    every = max(1, -(-len(labels) // MAX_LABELS))
    bars = []
    for i, (label, a, b) in enumerate(zip(labels, lower, upper, strict=True)):
        a_h, b_h = a / top * plot_h, b / top * plot_h
        base = HEIGHT - BOTTOM
        bars.append(
            Bar(
                x=LEFT + i * slot + slot * 0.1,
                width=slot * 0.8,
                a_y=base - a_h,
                a_height=a_h,
                b_y=base - a_h - b_h,
                b_height=b_h,
                label=label,
                short=label[5:] if _DATED.match(label) else label[:12],
                show_label=i % every == 0,
                title=f"{label}: {a + b}" + (f" ({a} + {b})" if upper and b else ""),
            )
        )
    shares = (0, 0.5, 1) if top % 2 == 0 else (0, 1)  # counts: no tick at half a person
    ticks = [(HEIGHT - BOTTOM - plot_h * f, str(round(top * f))) for f in shares]
    return Chart(bars, ticks)
